"""Raw interactions + item metadata -> the processed format (see ``processed.py``).

Steps, in order, every value from the dataset's ``preprocess`` settings:

1. optional date window on the interaction timestamps;
2. item texts from the configured fields (title first); items without any text are
   dropped or given a placeholder text (``missing_text``);
3. chronological order per user with a stable tie-break (raw file order);
4. duplicate (user, item) handling: keep the first, the last, or all occurrences;
5. k-core on users and items: iterative (``core_mode: iterative``, the largest subgraph
   in which every user and every item has at least ``user_core`` / ``item_core``
   interactions), or one pass over the counts of step 4's result (``single_pass``, as
   LLM-ESR's ``filter_common``) followed by dropping the users left with fewer than
   :data:`MIN_SEQUENCE` interactions (as its ``filter_minmum``);
6. contiguous ids from 1 (0 is the padding id), users and items in raw-id order.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import io
from . import processed

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "user_core": 5,
    "item_core": 5,
    "core_mode": "iterative",
    "duplicates": "keep_first",
    "date_start": None,
    "date_end": None,
    "text_fields": ["title"],
    "text_style": "key_value",
    "missing_text": "drop",
    "placeholder_text": "unknown item",
    # missing_text: drop stops the job when it would drop a larger share of the
    # interactions (a .item file missing half the items is a mistake, not a filter)
    "max_dropped_without_text": 0.2,
}
#: a share of interactions dropped for missing texts above this is logged as a warning
WARN_DROPPED_SHARE = 0.01


@dataclass
class Processed:
    interactions: pd.DataFrame  # user_id, item_id, timestamp
    items: pd.DataFrame  # item_id, raw_id, text
    users: pd.DataFrame  # user_id, raw_id
    counts: dict[str, int] = field(default_factory=dict)


FIELD_SEPARATOR = "; "  # between the fields of an item text
#: fewest interactions a user needs: a training, a validation and a test item
MIN_SEQUENCE = 3


def item_texts(items: pd.DataFrame, fields: list[str], style: str) -> pd.Series:
    """One text per item from the given metadata fields, in the given order.

    ``key_value`` gives ``"title is X; brand is Y"`` (the LLM-ESR / LLMEmb prompt style);
    ``values`` joins the bare values with ``"; "``. Empty fields are left out. HTML
    entities (``&amp;``, ``&#8230;``, as in some MovieLens and Amazon titles) are unescaped.
    """
    missing = [f for f in fields if f not in items.columns]
    if missing:
        raise KeyError(
            f"text_fields {missing} are not item metadata fields; available: "
            f"{[c for c in items.columns if c != 'item']}"
        )
    parts = []
    for f in fields:
        values = items[f].fillna("").astype(str).map(html.unescape).str.strip()
        if style == "key_value":
            label = f.replace("_", " ")
            parts.append(values.where(values == "", label + " is " + values))
        elif style == "values":
            parts.append(values)
        else:
            raise ValueError(f"text_style must be 'key_value' or 'values', got {style!r}")
    joined = pd.concat(parts, axis=1).apply(lambda row: FIELD_SEPARATOR.join(v for v in row if v), axis=1)
    return joined.astype(str) if len(joined) else pd.Series([], dtype=str)


def item_title(text: str, preprocess: dict | None = None) -> str:
    """The title of an item: the value of the first field of its text.

    LLM2Rec embeds titles only. With the recorded settings, ``key_value`` texts lose the
    ``"<first text field> is "`` prefix and ``values`` texts are their first field; an
    item whose first field is not the title field (title missing) keeps its first field
    whole. Without settings, the value after the first ``" is "`` of the first field is
    taken (field names never contain " is "). A title that itself contains "; " is cut
    there (the separator is ambiguous).
    """
    first = text.split(FIELD_SEPARATOR, 1)[0].strip()
    preprocess = preprocess or {}
    style, fields = preprocess.get("text_style"), preprocess.get("text_fields")
    if style == "values":
        return first
    if style == "key_value" and fields:
        prefix = fields[0].replace("_", " ") + " is "
        return first[len(prefix):] if first.startswith(prefix) else first
    key, found, value = first.partition(" is ")
    return value if found and value else first


def k_core(users: np.ndarray, items: np.ndarray, user_core: int, item_core: int) -> np.ndarray:
    """Boolean mask of the interactions that survive iterative k-core filtering.

    Repeatedly drops users with fewer than ``user_core`` and items with fewer than
    ``item_core`` remaining interactions until nothing changes. The fixed point is the
    largest sub-graph with those minimum degrees (each removal is forced: a vertex below
    the threshold can be in no such sub-graph), so the order of removals does not matter.
    """
    keep = np.ones(len(users), dtype=bool)
    u_codes = pd.factorize(users)[0]
    i_codes = pd.factorize(items)[0]
    while True:
        u_deg = np.bincount(u_codes[keep], minlength=u_codes.max() + 1 if len(u_codes) else 0)
        i_deg = np.bincount(i_codes[keep], minlength=i_codes.max() + 1 if len(i_codes) else 0)
        bad = keep & ((u_deg[u_codes] < user_core) | (i_deg[i_codes] < item_core))
        if not bad.any():
            return keep
        keep &= ~bad


def single_pass_core(
    users: np.ndarray, items: np.ndarray, user_core: int, item_core: int
) -> tuple[np.ndarray, np.ndarray]:
    """Masks (kept by the count filter, kept after it by the sequence-length filter).

    One pass: an interaction is kept when its user has at least ``user_core`` and its
    item at least ``item_core`` interactions *before* any removal (so survivors may fall
    below either count). Then users with fewer than :data:`MIN_SEQUENCE` kept
    interactions are dropped (items are not checked again), so that every user has a
    training, a validation and a test item.
    """
    u_codes = pd.factorize(users)[0]
    i_codes = pd.factorize(items)[0]
    u_deg = np.bincount(u_codes) if len(u_codes) else np.zeros(0, dtype=int)
    i_deg = np.bincount(i_codes) if len(i_codes) else np.zeros(0, dtype=int)
    counted = (u_deg[u_codes] >= user_core) & (i_deg[i_codes] >= item_core)
    left = np.bincount(u_codes[counted], minlength=len(u_deg))
    return counted, counted & (left[u_codes] >= MIN_SEQUENCE)


def _id_order(raw_ids: pd.Series) -> np.ndarray:
    """Unique raw ids in a stable, human order: numeric when every id is an integer."""
    unique = pd.unique(raw_ids)
    numeric = pd.to_numeric(pd.Series(unique), errors="coerce")
    if numeric.notna().all():
        return unique[np.argsort(numeric.to_numpy(), kind="stable")]
    return np.sort(unique.astype(str))


def preprocess(
    interactions: pd.DataFrame, items: pd.DataFrame, settings: dict[str, Any], source: str = "the item table"
) -> Processed:
    """Apply the steps in the module docstring; returns the processed tables and counts.

    ``items`` without any metadata column (an atomic dataset without a ``.item`` file)
    makes a text-free dataset: every item gets the placeholder text, nothing is dropped
    (the workflow refuses text-based methods on it). ``source`` names the item table in
    messages."""
    s = {**DEFAULTS, **settings}
    counts: dict[str, int] = {"raw_interactions": len(interactions)}
    inter = interactions[["user", "item", "timestamp"]].copy()
    inter["user"] = inter["user"].astype(str)
    inter["item"] = inter["item"].astype(str)
    inter["raw_order"] = np.arange(len(inter))

    # 1. date window (inclusive start, exclusive end), in UTC
    if s["date_start"] is not None or s["date_end"] is not None:
        in_window = np.ones(len(inter), dtype=bool)
        if s["date_start"] is not None:
            in_window &= inter["timestamp"] >= _unix(s["date_start"])
        if s["date_end"] is not None:
            in_window &= inter["timestamp"] < _unix(s["date_end"])
        counts["dropped_outside_date_window"] = int((~in_window).sum())
        inter = inter[in_window]

    # 2. item texts
    meta = items.copy()
    meta["item"] = meta["item"].astype(str)
    text_free = not [c for c in meta.columns if c != "item"]
    if text_free:
        log.warning(
            "%s holds no item metadata (no .item file): every item text is the placeholder %r; "
            "only methods that read no item text (RandInit) can use this dataset", source, s["placeholder_text"],
        )  # fmt: skip
        meta["text"] = pd.Series([], dtype=str) if meta.empty else ""
    else:
        meta["text"] = item_texts(meta, list(s["text_fields"]), s["text_style"])
    text_of = dict(zip(meta["item"], meta["text"]))
    texts = inter["item"].map(text_of).astype(object).fillna("")
    no_text = texts == ""
    counts["items_without_text"] = int(inter.loc[no_text, "item"].nunique())
    if s["missing_text"] == "drop" and not text_free:
        counts["dropped_items_without_text"] = counts["items_without_text"]
        counts["dropped_interactions_without_text"] = int(no_text.sum())
        _check_dropped_share(int(no_text.sum()), len(inter), counts["items_without_text"], s, source)
        inter = inter[~no_text]
    elif s["missing_text"] == "placeholder" or text_free:
        for item in inter.loc[no_text, "item"].unique():
            text_of[item] = s["placeholder_text"]
    else:
        raise ValueError(f"missing_text must be 'drop' or 'placeholder', got {s['missing_text']!r}")

    # 3. chronological order, ties broken by raw file order
    inter = inter.sort_values(["user", "timestamp", "raw_order"], kind="stable")

    # 4. duplicate (user, item) pairs
    mode = s["duplicates"]
    if mode in ("keep_first", "keep_last"):
        dup = inter.duplicated(["user", "item"], keep="first" if mode == "keep_first" else "last")
        counts["dropped_duplicates"] = int(dup.sum())
        inter = inter[~dup]
    elif mode != "keep_all":
        raise ValueError(f"duplicates must be keep_first, keep_last or keep_all, got {mode!r}")

    # 5. k-core: iterative, or one pass then the sequence-length filter
    users, items_ = inter["user"].to_numpy(), inter["item"].to_numpy()
    if s["core_mode"] == "iterative":
        keep = k_core(users, items_, s["user_core"], s["item_core"])
        counts["dropped_by_k_core"] = int((~keep).sum())
    elif s["core_mode"] == "single_pass":
        counted, keep = single_pass_core(users, items_, s["user_core"], s["item_core"])
        counts["dropped_by_k_core"] = int((~counted).sum())
        counts["dropped_short_sequences"] = int((counted & ~keep).sum())
    else:
        raise ValueError(
            f"core_mode must be 'iterative' or 'single_pass', got {s['core_mode']!r}"
        )
    inter = inter[keep]
    if inter.empty:
        raise ValueError(
            f"no interactions left after the {s['user_core']}/{s['item_core']}-core filter"
            f" ({s['core_mode']})"
        )

    # 6. contiguous ids
    user_raw = _id_order(inter["user"])
    item_raw = _id_order(inter["item"])
    user_id = pd.Series(np.arange(1, len(user_raw) + 1), index=user_raw)
    item_id = pd.Series(np.arange(1, len(item_raw) + 1), index=item_raw)
    out = pd.DataFrame(
        {
            "user_id": inter["user"].map(user_id).to_numpy(),
            "item_id": inter["item"].map(item_id).to_numpy(),
            "timestamp": inter["timestamp"].to_numpy(dtype=np.int64),
            "raw_order": inter["raw_order"].to_numpy(),
        }
    )
    out = out.sort_values(["user_id", "timestamp", "raw_order"], kind="stable")
    out = out.drop(columns="raw_order").reset_index(drop=True)
    items_out = pd.DataFrame(
        {
            "item_id": item_id.to_numpy(),
            "raw_id": item_raw,
            "text": [text_of[i] for i in item_raw],
        }
    )
    users_out = pd.DataFrame({"user_id": user_id.to_numpy(), "raw_id": user_raw})
    return Processed(out, items_out, users_out, counts)


def statistics(p: Processed) -> dict[str, float]:
    """Users, items, interactions, average sequence length and sparsity."""
    n_users, n_items, n_inter = len(p.users), len(p.items), len(p.interactions)
    return {
        "users": n_users,
        "items": n_items,
        "interactions": n_inter,
        "avg_length": n_inter / n_users,
        "sparsity": 1.0 - n_inter / (n_users * n_items),
    }


def write_processed(
    p: Processed, folder: str | Path, dataset: str, settings: dict, problems: dict
) -> dict:
    """Write the processed folder (each file atomically) and return its summary."""
    folder = Path(folder)
    summary = {
        "dataset": dataset,
        "statistics": statistics(p),
        "counts": p.counts,
        "raw_problems": problems,
        "settings": {**DEFAULTS, **settings},
    }
    io.write_table(folder / processed.INTERACTIONS, p.interactions)
    io.write_table(folder / processed.ITEMS, p.items)
    io.write_table(folder / processed.USERS, p.users)
    io.write_json(folder / processed.SUMMARY, summary)
    return summary


def _check_dropped_share(dropped: int, total: int, n_items: int, s: dict[str, Any], source: str) -> None:
    """Warn when items without text drop a noticeable share of the interactions; stop
    above ``max_dropped_without_text``."""
    share = dropped / total if total else 0.0
    if share <= WARN_DROPPED_SHARE:
        return
    what = (
        f"{n_items} items have no text in {source} (no metadata row, or empty text_fields "
        f"{list(s['text_fields'])}): missing_text: drop removes {dropped} of {total} "
        f"interactions ({share:.1%})"
    )
    limit = float(s["max_dropped_without_text"])
    if share > limit:
        raise ValueError(
            f"{what}, more than preprocess.max_dropped_without_text = {limit:g}. Fix the item "
            "file, set missing_text: placeholder, or raise max_dropped_without_text"
        )
    log.warning("%s", what)


def _unix(date: str) -> int:
    return int(pd.Timestamp(date, tz="UTC").timestamp())


STATS_COLUMNS = ("users", "items", "interactions", "avg_length", "sparsity")
STATS_FORMATS = {
    "users": "{:,}".format,
    "items": "{:,}".format,
    "interactions": "{:,}".format,
    "avg_length": "{:.2f}".format,
    "sparsity": "{:.2%}".format,
}


def statistics_table(summaries: list[dict]) -> pd.DataFrame:
    """One row per dataset: the statistics plus the data-quality counts."""
    rows = []
    for s in summaries:
        stats = s["statistics"]
        row = {"dataset": s["dataset"], **{k: stats[k] for k in STATS_COLUMNS}}
        problems = dict(s.get("raw_problems", {}))
        row["raw_problems"] = int(sum(problems.values()))
        row["dropped_no_text"] = s["counts"].get("dropped_interactions_without_text", 0)
        row["dropped_duplicates"] = s["counts"].get("dropped_duplicates", 0)
        # the single-pass filter's sequence-length step is part of the core filter here
        row["dropped_k_core"] = s["counts"].get("dropped_by_k_core", 0) + s["counts"].get(
            "dropped_short_sequences", 0
        )
        rows.append(row)
    return pd.DataFrame(rows)
