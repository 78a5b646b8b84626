"""The processed dataset format that every later stage reads.

A processed dataset is a folder with:

``interactions.tsv``
    ``user_id  item_id  timestamp``; ids are contiguous integers starting at 1 (0 is the
    padding id), rows sorted by user and then chronologically (ties keep the raw order).
``items.tsv``
    ``item_id  raw_id  text``: one text per item, in item-id order.
``users.tsv``
    ``user_id  raw_id``.
``summary.json``
    statistics, problem counts and the preprocessing settings that produced the folder.

Splits are leave-one-out: for every user the last item is the test target, the
second-last the validation target, and the rest is training data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

INTERACTIONS = "interactions.tsv"
ITEMS = "items.tsv"
USERS = "users.tsv"
SUMMARY = "summary.json"
FILES = (INTERACTIONS, ITEMS, USERS, SUMMARY)


@dataclass(frozen=True)
class SequenceData:
    """Chronological item sequences of every user, with leave-one-out splits.

    ``sequences[u - 1]`` holds the item ids of user ``u``; item ids run 1..n_items.
    """

    name: str
    n_items: int
    sequences: tuple[np.ndarray, ...]
    item_texts: tuple[str, ...]

    @property
    def n_users(self) -> int:
        return len(self.sequences)

    @property
    def n_interactions(self) -> int:
        return int(sum(len(s) for s in self.sequences))

    def train_sequences(self) -> list[np.ndarray]:
        """Each user's sequence without its validation and test items."""
        return [s[:-2] for s in self.sequences]

    def valid_split(self) -> tuple[list[np.ndarray], np.ndarray]:
        """(history, target) pairs for validation: history = training part."""
        return [s[:-2] for s in self.sequences], np.array([s[-2] for s in self.sequences])

    def test_split(self) -> tuple[list[np.ndarray], np.ndarray]:
        """(history, target) pairs for test: history = training part + validation item."""
        return [s[:-1] for s in self.sequences], np.array([s[-1] for s in self.sequences])


def load(folder: str | Path) -> SequenceData:
    """Read a processed dataset folder written by :func:`llmrec.data.preprocess.write_processed`."""
    folder = Path(folder)
    for name in FILES:
        if not (folder / name).exists():
            raise FileNotFoundError(f"{folder}: not a processed dataset, {name} is missing")
    inter = pd.read_csv(folder / INTERACTIONS, sep="\t")
    items = pd.read_csv(folder / ITEMS, sep="\t", keep_default_na=False)
    summary = json.loads((folder / SUMMARY).read_text())
    n_items = len(items)
    if not (items["item_id"].to_numpy() == np.arange(1, n_items + 1)).all():
        raise ValueError(f"{folder / ITEMS}: item ids must run 1..{n_items} in order")
    users = inter["user_id"].to_numpy()
    bounds = np.flatnonzero(np.diff(users)) + 1
    chunks = np.split(inter["item_id"].to_numpy(dtype=np.int64), bounds)
    if len(chunks) != int(users.max()) or users[0] != 1:
        raise ValueError(f"{folder / INTERACTIONS}: user ids must be contiguous from 1, sorted")
    return SequenceData(
        name=summary.get("dataset", folder.name),
        n_items=n_items,
        sequences=tuple(chunks),
        item_texts=tuple(items["text"].astype(str)),
    )


def pad_left(sequences: Sequence[np.ndarray], width: int) -> np.ndarray:
    """(len(sequences), width) int64 matrix: the last ``width`` items of each sequence,
    right-aligned, padded with 0 on the left (the layout of every model input)."""
    out = np.zeros((len(sequences), width), dtype=np.int64)
    for row, seq in enumerate(sequences):
        tail = seq[-width:] if width else seq[:0]
        if len(tail):
            out[row, width - len(tail) :] = tail
    return out
