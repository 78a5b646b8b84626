"""Resumable, checked download of one file over HTTP(S) (or ``file://``) with urllib.

:func:`fetch` streams into ``<dest>.part``; an interrupted run (or a dropped connection,
retried here) continues from the bytes already there with a ``Range: bytes=N-`` request.
Only when the file is complete and every check passes (size against the server's
Content-Length / Content-Range total and ``expected_size``, ``sha256``, gzip CRC32) is
``.part`` renamed to ``dest`` (``os.replace``, atomic), after the digest has been written
to the sidecar ``<dest>.sha256`` (``sha256sum`` format). A ``.part`` that fails a
check is deleted, so the next run starts from zero; ``dest`` is never left half-written.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import logging
import os
import re
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import Any, Callable, Union

from .. import io

log = logging.getLogger(__name__)

USER_AGENT = "llmrec-download/0.1 (+urllib)"
#: HTTP statuses worth another try; other 4xx statuses fail at once
RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}

Progress = Union[Callable[[int, "int | None"], None], logging.Logger, None]


class DownloadError(RuntimeError):
    """A download failed or its result did not pass a check (the message says which)."""


class _Transient(Exception):
    """An attempt failed in a way that another attempt may fix (resume or restart)."""


_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)
_UNSATISFIED_RANGE = re.compile(r"bytes\s+\*/(\d+)", re.IGNORECASE)


def fetch(
    url: str,
    dest: str | os.PathLike,
    *,
    expected_size: int | None = None,
    sha256: str | None = None,
    verify_gzip: bool = False,
    chunk_size: int = 1 << 20,
    retries: int = 3,
    timeout: float = 60,
    progress: Progress = None,
    backoff: float = 2.0,
) -> dict[str, Any]:
    """Download ``url`` to ``dest``, resuming a previous ``<dest>.part``; check; move in place.

    ``expected_size`` (bytes) and ``sha256`` (hex) pin the file when given; the server's
    announced size is always checked. ``verify_gzip`` decompresses the whole file so that
    gzip's CRC32 and length trailer reject a truncated or corrupt file. ``retries`` is the
    number of further attempts after an attempt that failed without adding bytes (network
    errors, 408/429/5xx, a short body), waiting ``backoff * 2**k`` seconds (at most 60);
    an attempt that made progress does not use one up. ``timeout`` is urllib's socket
    timeout. ``progress`` is a callable ``(bytes_done, bytes_total_or_None)`` called per
    chunk, or a logger (default: this module's) that gets a line every 10% / 30 s.

    Returns ``{"url", "path", "size", "sha256", "attempts", "resumed_from", "restarts",
    "gzip_verified", "seconds"}`` (``resumed_from``: bytes already in ``.part`` when the
    first resume request was made, 0 when none was; ``restarts``: times a partial file
    had to be discarded). Raises :class:`DownloadError`, naming the URL and the file.
    """
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    reporter = _reporter(progress if progress is not None else log, url)
    info: dict[str, Any] = {
        "url": url,
        "path": str(dest),
        "attempts": 0,
        "resumed_from": 0,
        "restarts": 0,
    }
    started = time.monotonic()
    if expected_size is not None and part.exists() and part.stat().st_size > expected_size:
        log.warning(
            "%s holds %d bytes, more than the expected %d: starting over",
            part,
            part.stat().st_size,
            expected_size,
        )
        part.unlink()
        info["restarts"] += 1

    failures = 0
    best = part.stat().st_size if part.exists() else 0
    while True:
        info["attempts"] += 1
        try:
            total = _attempt(url, part, info, expected_size, chunk_size, timeout, reporter)
            break
        except _Transient as exc:
            have = part.stat().st_size if part.exists() else 0
            if have > best:  # progress: this failure does not count against the retries
                best = have
            else:
                failures += 1
            if failures > retries:
                raise DownloadError(
                    f"downloading {url} to {part} failed after {info['attempts']} attempts "
                    f"({failures} without progress, retries={retries}): {exc}"
                ) from exc
            wait = min(backoff * 2 ** max(failures - 1, 0), 60.0) if failures else 0.0
            log.warning(
                "%s: attempt %d failed (%s); %d bytes kept in %s, retrying in %.0f s",
                url,
                info["attempts"],
                exc,
                have,
                part,
                wait,
            )
            if wait:
                time.sleep(wait)

    size = part.stat().st_size
    try:
        if total is not None and size != total:
            raise DownloadError(
                f"{url} -> {part}: expected {total} bytes (as the server announced), found {size}"
            )
        if expected_size is not None and size != expected_size:
            raise DownloadError(
                f"{url} -> {part}: expected {expected_size} bytes (expected_size), found {size}"
            )
        digest = _digest(part, url, verify_gzip)
        if sha256 is not None and digest.lower() != sha256.strip().lower():
            raise DownloadError(
                f"{url} -> {part}: expected sha256 {sha256.strip().lower()}, found {digest}"
            )
    except DownloadError:
        part.unlink(missing_ok=True)  # a complete but wrong file: the next run starts over
        raise

    io.write_text(dest.with_name(dest.name + ".sha256"), f"{digest}  {dest.name}\n")
    os.replace(part, dest)
    info.update(
        size=size,
        sha256=digest,
        gzip_verified=bool(verify_gzip),
        seconds=round(time.monotonic() - started, 3),
    )
    log.info("%s -> %s: %d bytes, sha256 %s", url, dest, size, digest)
    return info


def _attempt(
    url: str,
    part: Path,
    info: dict[str, Any],
    expected_size: int | None,
    chunk_size: int,
    timeout: float,
    reporter: Callable[[int, int | None], None],
) -> int | None:
    """One request: append to (or restart) ``part``; return the full size if announced.

    Raises :class:`_Transient` for what another attempt may fix, :class:`DownloadError`
    for the rest.
    """
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if not info["resumed_from"]:
            info["resumed_from"] = offset
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        try:
            if exc.code == 416 and offset:
                return _unsatisfiable(
                    url, part, info, offset, expected_size, exc.headers.get("Content-Range")
                )
            if exc.code in RETRY_STATUSES:
                raise _Transient(f"HTTP {exc.code} {exc.reason}") from exc
            raise DownloadError(
                f"{url} -> {part}: expected HTTP 200 or 206, found {exc.code} {exc.reason}"
            ) from exc
        finally:
            exc.close()
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise DownloadError(f"{url} -> {part}: cannot open the source: {exc.reason}") from exc
        raise _Transient(f"{type(exc).__name__}: {exc.reason}") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise _Transient(f"{type(exc).__name__}: {exc}") from exc

    with response:
        status = response.getcode()  # None for file:// URLs (whole file, no Range)
        length = response.headers.get("Content-Length")
        length = int(length) if length and length.strip().isdigit() else None
        if status == 206:
            match = _CONTENT_RANGE.fullmatch((response.headers.get("Content-Range") or "").strip())
            if not match or int(match.group(1)) != offset:
                _restart(
                    part,
                    info,
                    f"server answered Range bytes={offset}- with Content-Range "
                    f"{response.headers.get('Content-Range')!r}",
                )
                raise _Transient("unexpected Content-Range; starting over")
            total = int(match.group(3)) if match.group(3) != "*" else None
            mode = "ab"
        else:
            if offset:
                log.warning("%s ignored the Range request (HTTP %s): starting over", url, status)
                info["restarts"] += 1
                offset = 0
            total = length
            mode = "wb"
        if total is not None and expected_size is not None and total != expected_size:
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"{url} -> {part}: expected {expected_size} bytes (expected_size), "
                f"the server announces {total}"
            )
        done = offset
        with open(part, mode) as out:
            try:
                while True:
                    chunk = response.read(chunk_size)
                    if not chunk:
                        break
                    out.write(chunk)
                    done += len(chunk)
                    reporter(done, total)
            except (OSError, http.client.HTTPException) as exc:
                out.flush()
                raise _Transient(
                    f"connection lost after {done} bytes: " f"{type(exc).__name__}: {exc}"
                ) from exc
            finally:
                out.flush()
                os.fsync(out.fileno())
    if total is not None and done < total:
        raise _Transient(f"connection closed after {done} of {total} bytes")
    if total is not None and done > total:
        part.unlink(missing_ok=True)
        raise DownloadError(f"{url} -> {part}: expected {total} bytes, the server sent {done}")
    return total


def _unsatisfiable(
    url: str,
    part: Path,
    info: dict,
    offset: int,
    expected_size: int | None,
    content_range: str | None,
) -> int:
    """HTTP 416 on a resume: ``part`` is complete if its size is the file's size."""
    match = _UNSATISFIED_RANGE.fullmatch((content_range or "").strip())
    total = int(match.group(1)) if match else None
    if total == offset or (total is None and expected_size == offset):
        log.info("%s: %s already holds all %d bytes", url, part, offset)
        return offset
    _restart(part, info, f"HTTP 416 for Range bytes={offset}- (Content-Range {content_range!r})")
    raise _Transient(f"HTTP 416 with {offset} bytes in {part}; starting over")


def _restart(part: Path, info: dict, why: str) -> None:
    log.warning("%s: %s; discarding %s", info["url"], why, part)
    part.unlink(missing_ok=True)
    info["restarts"] += 1


class _HashingReader:
    """A read-only file wrapper that feeds every byte read into a hash."""

    def __init__(self, handle, digest) -> None:
        self.handle, self.digest = handle, digest

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data


def _digest(path: Path, url: str, verify_gzip: bool, block: int = 1 << 20) -> str:
    """The file's sha256; with ``verify_gzip`` also decompress it all (CRC32 + length)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        reader = _HashingReader(handle, digest)
        if verify_gzip:
            try:
                with gzip.GzipFile(fileobj=reader, mode="rb") as stream:
                    while stream.read(block):
                        pass
            except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
                raise DownloadError(
                    f"{url} -> {path}: expected a complete gzip file, found "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
        while reader.read(block):  # whatever gzip did not consume (or everything)
            pass
    return digest.hexdigest()


def _reporter(progress: Progress, url: str) -> Callable[[int, int | None], None]:
    """A per-chunk callback from a callable or a logger (every 10% or 30 s)."""
    if not isinstance(progress, logging.Logger):
        return progress  # type: ignore[return-value]
    logger = progress
    state = {"time": time.monotonic(), "tenth": 0}

    def report(done: int, total: int | None) -> None:
        now = time.monotonic()
        tenth = done * 10 // total if total else 0
        if tenth > state["tenth"] or now - state["time"] >= 30:
            state.update(time=now, tenth=tenth)
            share = f" of {total} ({done / total:.0%})" if total else ""
            logger.info("%s: %d bytes%s", url, done, share)

    return report
