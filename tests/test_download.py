"""Resumable, checked downloads against a local HTTP server (127.0.0.1 only)."""

from __future__ import annotations

import gzip
import hashlib
import os
import random
from pathlib import Path

import pytest

from llmrec.data import download
from llmrec.data.download import DownloadError, fetch



def gzip_payload(n_lines: int = 4000, seed: int = 0) -> bytes:
    """A gzip file of JSON-ish lines, poorly compressible so that it spans many chunks."""
    rng = random.Random(seed)
    lines = (
        f'{{"asin": "{rng.getrandbits(64):016x}", "text": "{rng.getrandbits(256):064x}"}}\n'
        for _ in range(n_lines)
    )
    return gzip.compress("".join(lines).encode(), mtime=0)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fast(**kwargs):
    """fetch() settings for tests: small chunks, no waiting between attempts."""
    return {"chunk_size": 16 << 10, "backoff": 0, "timeout": 10, **kwargs}


def test_full_download_with_all_checks(server, tmp_path):
    body = gzip_payload()
    server.files["/data.json.gz"] = body
    dest = tmp_path / "out" / "data.json.gz"
    seen = []
    info = fetch(
        server.url("/data.json.gz"),
        dest,
        expected_size=len(body),
        sha256=sha(body).upper(),
        verify_gzip=True,
        progress=lambda done, total: seen.append((done, total)),
        **fast(),
    )
    assert dest.read_bytes() == body
    assert not Path(str(dest) + ".part").exists()
    assert (tmp_path / "out" / "data.json.gz.sha256").read_text() == f"{sha(body)}  data.json.gz\n"
    assert info["size"] == len(body) and info["sha256"] == sha(body)
    assert info["attempts"] == 1 and info["resumed_from"] == 0 and info["gzip_verified"]
    assert server.requests == [("/data.json.gz", None)]
    assert seen[-1] == (len(body), len(body)) and len(seen) > 1


def test_resumes_a_partial_file_with_a_range_request(server, tmp_path):
    body = gzip_payload()
    server.files["/f.gz"] = body
    dest = tmp_path / "f.gz"
    Path(str(dest) + ".part").write_bytes(body[:12345])
    info = fetch(server.url("/f.gz"), dest, sha256=sha(body), verify_gzip=True, **fast())
    assert dest.read_bytes() == body
    assert server.requests == [("/f.gz", "bytes=12345-")]
    assert info["resumed_from"] == 12345 and info["restarts"] == 0


def test_server_ignoring_range_restarts_from_zero(server, tmp_path):
    body = gzip_payload()
    server.files["/f.gz"] = body
    server.support_range = False
    dest = tmp_path / "f.gz"
    Path(str(dest) + ".part").write_bytes(b"stale bytes from some other file")
    info = fetch(server.url("/f.gz"), dest, verify_gzip=True, **fast())
    assert dest.read_bytes() == body
    assert server.requests[0][1] == "bytes=32-"  # asked to resume, got a 200
    assert info["restarts"] == 1


def test_complete_part_file_and_416_finishes_without_data(server, tmp_path):
    body = gzip_payload(500)
    server.files["/f.gz"] = body
    dest = tmp_path / "f.gz"
    Path(str(dest) + ".part").write_bytes(body)
    info = fetch(server.url("/f.gz"), dest, expected_size=len(body), verify_gzip=True, **fast())
    assert dest.read_bytes() == body and info["size"] == len(body)
    assert server.requests == [("/f.gz", f"bytes={len(body)}-")]


def test_dropped_connection_is_resumed_on_retry(server, tmp_path):
    body = gzip_payload()
    server.files["/f.gz"] = body
    server.drops = [50_000, 70_000]  # two broken responses, then a good one
    dest = tmp_path / "f.gz"
    info = fetch(server.url("/f.gz"), dest, sha256=sha(body), verify_gzip=True, retries=1, **fast())
    assert dest.read_bytes() == body
    # progress-making failures do not use up the single retry
    assert [r for _, r in server.requests] == [None, "bytes=50000-", "bytes=120000-"]
    assert info["attempts"] == 3


def test_gives_up_after_retries_without_progress(server, tmp_path):
    body = gzip_payload(500)
    server.files["/f.gz"] = body
    server.drops = [0] * 10
    dest = tmp_path / "f.gz"
    with pytest.raises(DownloadError) as err:
        fetch(server.url("/f.gz"), dest, retries=2, **fast())
    assert server.url("/f.gz") in str(err.value) and "3 attempts" in str(err.value)
    assert len(server.requests) == 3 and not dest.exists()


def test_http_error_is_not_retried(server, tmp_path):
    dest = tmp_path / "missing.gz"
    with pytest.raises(DownloadError, match=r"expected HTTP 200 or 206, found 404"):
        fetch(server.url("/missing.gz"), dest, **fast())
    assert len(server.requests) == 1 and not dest.exists()


def test_size_mismatch_is_rejected(server, tmp_path):
    body = gzip_payload(500)
    server.files["/f.gz"] = body
    dest = tmp_path / "f.gz"
    with pytest.raises(DownloadError) as err:
        fetch(server.url("/f.gz"), dest, expected_size=len(body) + 1, **fast())
    message = str(err.value)
    assert server.url("/f.gz") in message and str(dest) in message
    assert f"expected {len(body) + 1} bytes" in message and str(len(body)) in message
    assert not dest.exists() and not Path(str(dest) + ".part").exists()
    assert not Path(str(dest) + ".sha256").exists()


def test_oversized_part_file_is_discarded(server, tmp_path):
    body = gzip_payload(500)
    server.files["/f.gz"] = body
    dest = tmp_path / "f.gz"
    Path(str(dest) + ".part").write_bytes(body + b"extra")
    info = fetch(server.url("/f.gz"), dest, expected_size=len(body), **fast())
    assert dest.read_bytes() == body and info["restarts"] == 1
    assert server.requests == [("/f.gz", None)]


def test_sha256_mismatch_is_rejected(server, tmp_path):
    body = gzip_payload(500)
    server.files["/f.gz"] = body
    dest = tmp_path / "f.gz"
    with pytest.raises(DownloadError) as err:
        fetch(server.url("/f.gz"), dest, sha256="0" * 64, **fast())
    message = str(err.value)
    assert f"expected sha256 {'0' * 64}, found {sha(body)}" in message
    assert server.url("/f.gz") in message
    assert not dest.exists() and not Path(str(dest) + ".part").exists()


@pytest.mark.parametrize("damage", ["truncated", "flipped_byte", "not_gzip"])
def test_corrupt_gzip_is_rejected(server, tmp_path, damage):
    body = gzip_payload()
    if damage == "truncated":
        bad = body[: len(body) // 2]
    elif damage == "flipped_byte":
        middle = len(body) // 2
        bad = body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1 :]
    else:
        bad = b"user,item\nu1,i1\n"
    server.files["/f.gz"] = bad  # served as a complete file: the size check passes
    dest = tmp_path / "f.gz"
    with pytest.raises(DownloadError, match="expected a complete gzip file") as err:
        fetch(server.url("/f.gz"), dest, verify_gzip=True, **fast())
    assert server.url("/f.gz") in str(err.value)
    assert not dest.exists() and not Path(str(dest) + ".part").exists()


def test_file_url(tmp_path):
    body = gzip_payload(300)
    source = tmp_path / "source.gz"
    source.write_bytes(body)
    dest = tmp_path / "copy" / "f.gz"
    info = fetch(source.as_uri(), dest, sha256=sha(body), verify_gzip=True, **fast())
    assert dest.read_bytes() == body and info["sha256"] == sha(body)
    with pytest.raises(DownloadError, match="cannot open"):
        fetch((tmp_path / "nope.gz").as_uri(), tmp_path / "nope.gz", **fast())


def test_logger_progress_is_the_default(server, tmp_path, caplog):
    body = gzip_payload()
    server.files["/f.gz"] = body
    with caplog.at_level("INFO", logger=download.__name__):
        fetch(server.url("/f.gz"), tmp_path / "f.gz", **fast())
    assert any("(100%)" in r.getMessage() for r in caplog.records)
    assert set(os.listdir(tmp_path)) == {"f.gz", "f.gz.sha256"}


def test_416_for_a_part_file_longer_than_the_server_file_restarts(server, tmp_path):
    body = gzip_payload(500)
    server.files["/f.gz"] = body
    dest = tmp_path / "f.gz"
    Path(str(dest) + ".part").write_bytes(body + b"xx")
    info = fetch(server.url("/f.gz"), dest, verify_gzip=True, **fast())
    assert dest.read_bytes() == body and info["restarts"] == 1
    assert server.requests == [("/f.gz", f"bytes={len(body) + 2}-"), ("/f.gz", None)]
