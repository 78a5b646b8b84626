"""Padded tensors built once per run, so the training loop does no per-sample Python."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ..data.processed import pad_left  # noqa: F401 (re-exported: the trainer's padding)


def windows(
    sequences: Sequence[np.ndarray], width: int, stride: int, min_items: int, mode: str, return_owners: bool = False
):
    """Training windows of at most ``width`` items cut from each sequence.

    ``mode="last"``: one window per sequence, its most recent ``width`` items (RecSys'23).
    ``mode="all"``: windows ending at len, len - stride, len - 2*stride, ... so that items
    older than the last window are trained on too (with ``stride = width - 1`` for the
    shifted causal objective every item is a label exactly once).
    Windows with fewer than ``min_items`` items are dropped. With ``return_owners`` also
    the index of the sequence each window was cut from.
    """
    if mode not in ("last", "all"):
        raise ValueError(f"unknown train_windows {mode!r}; allowed: 'last', 'all'")
    out, owners = [], []
    for owner, seq in enumerate(sequences):
        end = len(seq)
        while end >= min_items:
            out.append(seq[max(0, end - width) : end])
            owners.append(owner)
            if mode == "last":
                break
            end -= stride
    return (out, np.asarray(owners, dtype=np.int64)) if return_owners else out


@dataclass
class PaddedRows:
    """Left-padded rows on the device, each row's number of items (for trimming) and the
    index of the sequence (user) it comes from."""

    rows: torch.Tensor  # (R, W) int64
    lengths: torch.Tensor  # (R,) int64
    owners: torch.Tensor  # (R,) int64

    @classmethod
    def build(
        cls, sequences: Sequence[np.ndarray], width: int, device: torch.device, owners: np.ndarray | None = None
    ) -> "PaddedRows":
        lengths = np.fromiter((min(len(s), width) for s in sequences), dtype=np.int64, count=len(sequences))
        owners = np.arange(len(sequences), dtype=np.int64) if owners is None else np.asarray(owners, dtype=np.int64)
        return cls(
            torch.from_numpy(pad_left(sequences, width)).to(device),
            torch.from_numpy(lengths).to(device),
            torch.from_numpy(owners).to(device),
        )

    def __len__(self) -> int:
        return self.rows.shape[0]

    def batch(self, index: torch.Tensor, min_width: int = 1) -> torch.Tensor:
        """The rows at ``index``, with the columns that are padding in every row cut off."""
        width = max(int(self.lengths[index].max()), min_width)
        return self.rows[index, self.rows.shape[1] - width :]


def seen_coordinates(histories: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """CSR-like view of the history items per user: (offsets (U+1,), items)."""
    offsets = np.zeros(len(histories) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(h) for h in histories])
    items = np.concatenate(histories) if len(histories) else np.zeros(0, dtype=np.int64)
    return offsets, items.astype(np.int64)
