"""Leave-one-out evaluation of a backbone: rank each user's held-out item.

Validation ranks the second-last item with the training part as history; test ranks the
last item with training part + validation item as history (``SequenceData`` splits).
Full ranking scores all items with one matrix product per batch of users; the sampled
protocol ranks the target among fixed negatives (see :mod:`llmrec.metrics`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from .. import metrics
from .batching import pad_left, seen_coordinates

PROTOCOLS = ("full", "sampled")


@dataclass
class EvaluationSet:
    """One split, prepared once: padded histories, targets, seen items, negatives."""

    histories: torch.Tensor  # (U, history_length) left-padded
    targets: torch.Tensor  # (U,)
    seen_offsets: np.ndarray  # (U + 1,) into seen_items (for filter_seen)
    seen_items: torch.Tensor
    negatives: torch.Tensor | None  # (U, n_neg) for the sampled protocol

    @classmethod
    def build(
        cls,
        histories: Sequence[np.ndarray],
        targets: np.ndarray,
        history_length: int,
        device: torch.device,
        negatives: np.ndarray | None = None,
    ) -> "EvaluationSet":
        offsets, items = seen_coordinates(histories)
        return cls(
            histories=torch.from_numpy(pad_left(histories, history_length)).to(device),
            targets=torch.as_tensor(np.asarray(targets, dtype=np.int64), device=device),
            seen_offsets=offsets,
            seen_items=torch.from_numpy(items).to(device),
            negatives=None if negatives is None else torch.as_tensor(negatives, dtype=torch.int64, device=device),
        )

    def __len__(self) -> int:
        return len(self.targets)


@torch.no_grad()
def evaluate_ranks(
    model,
    split: EvaluationSet,
    *,
    protocol: str = "full",
    filter_seen: bool = False,
    batch_size: int = 1024,
) -> np.ndarray:
    """0-based rank of every user's target (pessimistic ties, see metrics.py)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; allowed: {', '.join(PROTOCOLS)}")
    if protocol == "sampled" and split.negatives is None:
        raise ValueError("the sampled protocol needs negatives (metrics.draw_negatives)")
    was_training = model.training
    model.eval()
    table = model.item_embedding.table()
    ranks = []
    for start in range(0, len(split), batch_size):
        stop = min(start + batch_size, len(split))
        query = model.sequence_representation(split.histories[start:stop], table)
        scores = model.item_embedding.scores(query, table)
        targets = split.targets[start:stop]
        if protocol == "sampled":
            ranks.append(metrics.sampled_ranks(scores, targets, split.negatives[start:stop]))
            continue
        seen_rows = seen_items = None
        if filter_seen:
            lo, hi = split.seen_offsets[start], split.seen_offsets[stop]
            counts = torch.as_tensor(np.diff(split.seen_offsets[start : stop + 1]), device=scores.device)
            seen_rows = torch.repeat_interleave(torch.arange(stop - start, device=scores.device), counts)
            seen_items = split.seen_items[lo:hi]
        ranks.append(metrics.full_ranks(scores, targets, seen_rows, seen_items))
    model.train(was_training)
    return torch.cat(ranks).cpu().numpy()


def evaluate(model, split: EvaluationSet, *, cutoffs=metrics.DEFAULT_CUTOFFS, **options) -> dict[str, float]:
    """Metrics (recall/ndcg/mrr at each cutoff) of ``model`` on one prepared split."""
    return metrics.metrics_from_ranks(evaluate_ranks(model, split, **options), cutoffs)
