"""Leave-one-out ranking metrics: full ranking or 100 sampled negatives.

Score matrices have one column per item id, ``scores[:, i]`` = score of item ``i``;
column 0 (padding) is ignored whatever it holds.

**Ties are counted pessimistically**: the 0-based rank of the target is the number of
*other* candidate items whose score is ``>=`` the target's. A model that scores every
item alike therefore gets the worst rank, not the best (a strict ``>`` count would give
rank 0 to a constant scorer).

Metrics for a cutoff k, from the 0-based rank r (one relevant item per user):

* ``recall@k`` = HR@k = [r < k]
* ``ndcg@k``   = [r < k] / log2(r + 2)
* ``mrr@k``    = [r < k] / (r + 1)
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from . import io

DEFAULT_CUTOFFS = (10, 20)


def full_ranks(
    scores: torch.Tensor,
    targets: torch.Tensor,
    seen_rows: torch.Tensor | None = None,
    seen_items: torch.Tensor | None = None,
) -> torch.Tensor:
    """0-based rank of each target among all items 1..n.

    ``scores``: (B, n_items + 1); ``targets``: (B,) item ids. With ``seen_rows`` /
    ``seen_items`` (coordinate lists of the users' history items, row index within the
    batch and item id) those items leave the ranking (``filter_seen``); the target itself
    always stays, even if it was seen before.
    """
    scores = scores.clone()
    rows = torch.arange(len(targets), device=scores.device)
    target_scores = scores[rows, targets]
    scores[:, 0] = -torch.inf
    if seen_rows is not None:
        scores[seen_rows, seen_items] = -torch.inf
    scores[rows, targets] = -torch.inf  # the target does not compete with itself
    ranks = (scores >= target_scores[:, None]).sum(dim=1)
    # a NaN target score compares false with everything: count it as last, not first
    return torch.where(torch.isnan(target_scores), scores.shape[1] - 2, ranks)


def sampled_ranks(scores: torch.Tensor, targets: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
    """0-based rank of each target among itself and its (B, n_neg) sampled negatives."""
    target_scores = scores.gather(1, targets[:, None])
    ranks = (scores.gather(1, negatives) >= target_scores).sum(dim=1)
    return torch.where(torch.isnan(target_scores[:, 0]), negatives.shape[1], ranks)


def metrics_from_ranks(ranks: np.ndarray | torch.Tensor, cutoffs: Sequence[int] = DEFAULT_CUTOFFS) -> dict[str, float]:
    """Mean recall/ndcg/mrr at each cutoff over the users, from 0-based ranks."""
    ranks = np.asarray(ranks.cpu() if isinstance(ranks, torch.Tensor) else ranks, dtype=np.float64)
    out: dict[str, float] = {}
    for k in cutoffs:
        hit = ranks < k
        out[f"recall@{k}"] = float(hit.mean())
        out[f"ndcg@{k}"] = float(np.where(hit, 1.0 / np.log2(ranks + 2.0), 0.0).mean())
        out[f"mrr@{k}"] = float(np.where(hit, 1.0 / (ranks + 1.0), 0.0).mean())
    return out


# ---------------------------------------------------------------------- sampled protocol
def draw_negatives(data, n: int = 100, seed: int = 0) -> np.ndarray:
    """(n_users, n) item ids, for each user n distinct items the user never interacted with.

    Drawn once, uniformly, with ``numpy.random.default_rng(seed)``; the same array serves
    validation and test (LLM-ESR/LLMEmb protocol). ``data`` is a SequenceData.
    """
    rng = np.random.default_rng(seed)
    out = np.empty((data.n_users, n), dtype=np.int64)
    for user, sequence in enumerate(data.sequences):
        seen = np.unique(sequence)
        if data.n_items - len(seen) < n:
            raise ValueError(
                f"user {user + 1} has interacted with {len(seen)} of {data.n_items} items; "
                f"fewer than {n} negatives are left"
            )
        chosen = np.empty(0, dtype=np.int64)
        while len(chosen) < n:  # rejection sampling: cheap because users see few items
            draw = rng.integers(1, data.n_items + 1, size=2 * n)
            draw = draw[~np.isin(draw, seen)]
            chosen = np.concatenate([chosen, draw])
            _, first = np.unique(chosen, return_index=True)
            chosen = chosen[np.sort(first)]  # distinct, in draw order
        out[user] = chosen[:n]
    return out


def save_negatives(path: str | Path, negatives: np.ndarray) -> None:
    """Write the negatives as ``.npy`` (atomically)."""
    io.write_npy(path, np.asarray(negatives, dtype=np.int64))


def load_negatives(path: str | Path, data=None) -> np.ndarray:
    """Read negatives saved by :func:`save_negatives`; with ``data``, check they fit it."""
    negatives = np.load(path)
    if negatives.ndim != 2 or negatives.dtype != np.int64:
        raise ValueError(f"{path}: expected a 2-d int64 array, got {negatives.dtype} {negatives.shape}")
    if data is not None:
        if negatives.shape[0] != data.n_users:
            raise ValueError(f"{path}: {negatives.shape[0]} rows for {data.n_users} users")
        if negatives.min() < 1 or negatives.max() > data.n_items:
            raise ValueError(f"{path}: item ids outside 1..{data.n_items}")
    return negatives
