"""Ranking metrics against brute force, and the sampled-negatives protocol."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from llmrec import metrics
from llmrec.data.processed import SequenceData



def brute_force_rank(scores: np.ndarray, target: int, excluded: set[int]) -> int:
    """Pessimistic 0-based rank: other candidates scoring >= the target's score."""
    return sum(
        1
        for item in range(1, len(scores))
        if item != target and item not in excluded and scores[item] >= scores[target]
    )


def random_case(rng, n_users=7, n_items=25, tie_levels=6):
    # few distinct score values, so ties are frequent and the tie rule is exercised
    scores = rng.integers(0, tie_levels, size=(n_users, n_items + 1)).astype(np.float32)
    targets = rng.integers(1, n_items + 1, size=n_users)
    histories = [rng.choice(np.arange(1, n_items + 1), size=rng.integers(0, 10), replace=False) for _ in range(n_users)]
    return scores, targets, histories


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("filter_seen", [False, True])
def test_full_ranks_match_brute_force(seed, filter_seen):
    rng = np.random.default_rng(seed)
    scores, targets, histories = random_case(rng)
    seen_rows = seen_items = None
    if filter_seen:
        seen_rows = torch.as_tensor(np.repeat(np.arange(len(histories)), [len(h) for h in histories]))
        seen_items = torch.as_tensor(np.concatenate(histories).astype(np.int64))
    got = metrics.full_ranks(torch.as_tensor(scores), torch.as_tensor(targets), seen_rows, seen_items)
    expected = [
        brute_force_rank(s, t, set(h.tolist()) - {t} if filter_seen else set())
        for s, t, h in zip(scores, targets, histories)
    ]
    assert got.tolist() == expected


def test_target_in_history_stays_rankable():
    scores = torch.tensor([[0.0, 5.0, 1.0, 2.0]])
    # target 1 was seen before: filtering must not remove it
    ranks = metrics.full_ranks(scores, torch.tensor([1]), torch.tensor([0, 0]), torch.tensor([1, 3]))
    assert ranks.tolist() == [0]


def test_padding_column_and_constant_scores():
    # column 0 never competes; a constant scorer gets the worst rank (pessimistic ties)
    scores = torch.zeros(2, 6)
    scores[:, 0] = 100.0
    assert metrics.full_ranks(scores, torch.tensor([1, 5])).tolist() == [4, 4]
    nan_target = torch.tensor([[0.0, math.nan, 1.0, 2.0]])
    assert metrics.full_ranks(nan_target, torch.tensor([1])).tolist() == [2]


@pytest.mark.parametrize("seed", range(3))
def test_sampled_ranks_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    scores, targets, _ = random_case(rng)
    negatives = np.stack([rng.choice(np.setdiff1d(np.arange(1, 26), [t]), 10, replace=False) for t in targets])
    got = metrics.sampled_ranks(torch.as_tensor(scores), torch.as_tensor(targets), torch.as_tensor(negatives))
    expected = [int((s[n] >= s[t]).sum()) for s, t, n in zip(scores, targets, negatives)]
    assert got.tolist() == expected


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=30))
def test_metrics_from_ranks_formulas(ranks):
    out = metrics.metrics_from_ranks(np.array(ranks), cutoffs=(10, 20))
    for k in (10, 20):
        assert out[f"recall@{k}"] == pytest.approx(np.mean([r < k for r in ranks]))
        assert out[f"ndcg@{k}"] == pytest.approx(np.mean([1 / math.log2(r + 2) if r < k else 0 for r in ranks]))
        assert out[f"mrr@{k}"] == pytest.approx(np.mean([1 / (r + 1) if r < k else 0 for r in ranks]))
    assert set(out) == {f"{m}@{k}" for m in ("recall", "ndcg", "mrr") for k in (10, 20)}


def small_data(n_users=20, n_items=150, seed=0) -> SequenceData:
    rng = np.random.default_rng(seed)
    sequences = tuple(rng.choice(np.arange(1, n_items + 1), rng.integers(3, 30), replace=False) for _ in range(n_users))
    return SequenceData("tiny", n_items, sequences, tuple("" for _ in range(n_items)))


def test_draw_negatives_excludes_user_items_and_is_seeded(tmp_path):
    data = small_data()
    negatives = metrics.draw_negatives(data, n=100, seed=3)
    assert negatives.shape == (data.n_users, 100) and negatives.dtype == np.int64
    for row, sequence in zip(negatives, data.sequences):
        assert len(set(row.tolist())) == 100  # distinct
        assert not set(row.tolist()) & set(sequence.tolist())
        assert row.min() >= 1 and row.max() <= data.n_items
    assert (metrics.draw_negatives(data, n=100, seed=3) == negatives).all()
    assert not (metrics.draw_negatives(data, n=100, seed=4) == negatives).all()
    path = tmp_path / "negatives.npy"
    metrics.save_negatives(path, negatives)
    assert (metrics.load_negatives(path, data) == negatives).all()


def test_draw_negatives_refuses_when_too_few_items():
    data = small_data(n_items=40)
    with pytest.raises(ValueError, match="fewer than 100 negatives"):
        metrics.draw_negatives(data, n=100)
