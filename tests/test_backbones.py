"""Backbones and the shared ItemEmbedding on tiny synthetic inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import DEVICE
from llmrec.methods.context import MethodContext
from llmrec import backbones, methods
from llmrec.backbones import BERT4Rec, GRU4Rec, ItemEmbedding, SASRec
from llmrec.backbones.layers import dropout
from llmrec.data.processed import SequenceData
from helpers import complete, train_and_evaluate


N_ITEMS, HIDDEN, MAX_LEN = 30, 16, 8
SETTINGS = {"hidden_size": HIDDEN, "max_len": MAX_LEN, "n_heads": 2, "inner_size": 32, "dropout": 0.1}


def make(backbone_cls, **overrides):
    torch.manual_seed(0)
    settings = complete({**SETTINGS, "backbone": backbone_cls.__name__, **overrides})
    table = methods.get("RandInit")(MethodContext("RandInit", N_ITEMS, HIDDEN, settings, mask_token=backbone_cls.needs_mask_token))
    return backbone_cls(table, settings)


def left_padded(rows: list[list[int]], width: int) -> torch.Tensor:
    out = torch.zeros(len(rows), width, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, width - len(row) :] = torch.tensor(row)
    return out


BATCH = left_padded([[1, 2, 3, 4, 5, 6, 7, 8], [9, 10, 11], [12]], MAX_LEN)


@pytest.mark.parametrize("backbone_cls", [SASRec, GRU4Rec, BERT4Rec])
def test_shapes(backbone_cls):
    model = make(backbone_cls).eval()
    assert model(BATCH).shape == (3, MAX_LEN, HIDDEN)
    history = BATCH[:, -model.history_length :]
    query = model.sequence_representation(history)
    assert query.shape == (3, HIDDEN)
    scores = model.item_embedding.scores(query)
    assert scores.shape == (3, N_ITEMS + 1)  # no [MASK] column even for BERT4Rec
    assert torch.isneginf(scores[:, 0]).all() and torch.isfinite(scores[:, 1:]).all()


def test_registry():
    assert backbones.get("SASRec") is SASRec
    with pytest.raises(KeyError, match="available"):
        backbones.get("SASrec")


@pytest.mark.parametrize("backbone_cls", [SASRec, GRU4Rec])
def test_causal_outputs_ignore_later_items(backbone_cls):
    model = make(backbone_cls).eval()
    changed = BATCH.clone()
    changed[0, 5:] = torch.tensor([20, 21, 22])  # row 0 changes after position 4
    a, b = model(BATCH), model(changed)
    torch.testing.assert_close(a[0, :5], b[0, :5])
    assert not torch.allclose(a[0, 5:], b[0, 5:])
    torch.testing.assert_close(a[1:], b[1:])


@pytest.mark.parametrize("backbone_cls", [SASRec, GRU4Rec, BERT4Rec])
def test_leading_padding_columns_change_nothing(backbone_cls):
    # positions count from the end, so trimming all-padding columns is exact
    model = make(backbone_cls).eval()
    short = BATCH[1:, -3:]
    torch.testing.assert_close(model(BATCH[1:])[:, -3:], model(short), atol=1e-5, rtol=1e-5)


def test_bert4rec_is_bidirectional():
    model = make(BERT4Rec).eval()
    changed = BATCH.clone()
    changed[0, -1] = 20
    assert not torch.allclose(model(BATCH)[0, 0], model(changed)[0, 0])


def test_bert4rec_masking():
    model = make(BERT4Rec, mask_ratio=0.5, ft_ratio=0.0)
    mask_id = model.item_embedding.mask_id
    assert mask_id == N_ITEMS + 1
    generator = torch.Generator().manual_seed(0)
    rows = BATCH.repeat(50, 1)
    inputs, labels = model.training_pairs(rows, generator)
    masked = inputs == mask_id
    assert (labels[masked] == rows[masked]).all()  # labels = original items where masked
    assert (labels[~masked] == 0).all()
    assert not (masked & (rows == 0)).any()  # padding is never masked
    assert (inputs[~masked] == rows[~masked]).all()
    assert masked.any(dim=1).all()  # every row trains
    assert 0.3 < masked[rows > 0].float().mean() < 0.7
    # ft_ratio=1: exactly the prediction task, only the last item is masked
    inputs, labels = make(BERT4Rec, ft_ratio=1.0).training_pairs(rows, generator)
    assert (inputs[:, :-1] == rows[:, :-1]).all() and (inputs[:, -1] == mask_id).all()
    # prediction appends [MASK] after the history
    model.eval()
    history = BATCH[:, 1:]
    appended = torch.cat([history, torch.full((3, 1), mask_id)], dim=1)
    torch.testing.assert_close(model.sequence_representation(history), model(appended)[:, -1])


def test_bert4rec_requires_mask_row():
    with pytest.raises(ValueError, match="mask_token"):
        BERT4Rec(ItemEmbedding(N_ITEMS, HIDDEN), complete({**SETTINGS, "backbone": "BERT4Rec"}))


def test_causal_training_pairs():
    inputs, labels = make(SASRec).training_pairs(left_padded([[1, 2, 3], [4, 5, 6, 7]], 5))
    assert inputs.tolist() == [[0, 0, 1, 2], [0, 4, 5, 6]]
    assert labels.tolist() == [[0, 0, 2, 3], [0, 5, 6, 7]]  # the first item is never a label


# ---------------------------------------------------------------------- ItemEmbedding
VECTORS = torch.randn(N_ITEMS, HIDDEN, generator=torch.Generator().manual_seed(1))

MODES = {
    "trainable": dict(mode="trainable"),
    "trainable_from_vectors": dict(mode="trainable", vectors=VECTORS),
    "adapter_linear": dict(mode="adapter", vectors=torch.randn(N_ITEMS, 40), adapter="linear"),
    "adapter_mlp": dict(mode="adapter", vectors=torch.randn(N_ITEMS, 40), adapter="mlp"),
    "frozen_plus_trainable": dict(mode="frozen_plus_trainable", vectors=VECTORS),
    "normalized": dict(mode="trainable", normalize=True, tau=0.1, normalize_h=True),
}


@pytest.mark.parametrize("name", MODES)
@pytest.mark.parametrize("mask_token", [False, True])
def test_item_embedding_modes(name, mask_token):
    torch.manual_seed(0)
    emb = ItemEmbedding(N_ITEMS, HIDDEN, mask_token=mask_token, **MODES[name])
    table = emb.table()
    assert table.shape == (N_ITEMS + 1 + mask_token, HIDDEN)
    assert (table[0] == 0).all()  # padding row
    if name == "trainable_from_vectors":
        torch.testing.assert_close(table[1 : N_ITEMS + 1], VECTORS)
    if emb.normalize:
        torch.testing.assert_close(table[1:].norm(dim=1), torch.ones(N_ITEMS + mask_token))
    frozen_before = emb.frozen.clone() if hasattr(emb, "frozen") else None
    trainable_before = {n: p.detach().clone() for n, p in emb.named_parameters()}
    assert trainable_before, "every mode has something to train"
    optimizer = torch.optim.Adam(emb.parameters(), lr=0.1)
    h = torch.randn(5, HIDDEN)
    items = torch.randint(1, N_ITEMS + 1, (5, 3))
    if mask_token:
        items[:, 0] = emb.mask_id
    loss = torch.nn.functional.cross_entropy(emb.scores(h + emb.lookup(items).sum(1)), torch.arange(1, 6))
    loss.backward()
    optimizer.step()
    if frozen_before is not None:
        assert (emb.frozen == frozen_before).all()  # frozen part unchanged
        assert "frozen" not in dict(emb.named_parameters())
    for n, p in emb.named_parameters():
        assert not torch.equal(p, trainable_before[n]), f"{n} did not move"
    if emb.normalize:
        torch.testing.assert_close(emb.table()[1:].norm(dim=1), torch.ones(N_ITEMS + mask_token))


def test_normalized_scores_are_cosine_over_tau():
    emb = ItemEmbedding(N_ITEMS, HIDDEN, normalize=True, tau=0.5, normalize_h=True)
    h = torch.randn(4, HIDDEN) * 7
    expected = torch.nn.functional.normalize(h, dim=1) @ emb.table()[1:].T / 0.5
    torch.testing.assert_close(emb.scores(h)[:, 1:], expected)
    assert emb.scores(h)[:, 1:].abs().max() <= 2.0 + 1e-5


def test_item_embedding_rejects_bad_vectors():
    with pytest.raises(ValueError, match="shape"):
        ItemEmbedding(N_ITEMS, HIDDEN, mode="frozen_plus_trainable", vectors=torch.randn(N_ITEMS - 1, HIDDEN))
    with pytest.raises(ValueError, match="NaN"):
        ItemEmbedding(N_ITEMS, HIDDEN, mode="adapter", vectors=torch.full((N_ITEMS, 4), float("nan")))
    with pytest.raises(ValueError, match="needs the given vectors"):
        ItemEmbedding(N_ITEMS, HIDDEN, mode="adapter")


def test_fast_dropout_statistics():
    torch.manual_seed(0)
    x = torch.ones(200_000)
    y = dropout(x, 0.2, training=True)
    kept = y > 0
    assert abs(kept.float().mean().item() - 0.8) < 0.01
    assert abs(y.mean().item() - 1.0) < 0.01  # inverted scaling keeps the expectation
    assert dropout(x, 0.2, training=False) is x
    torch.manual_seed(1)
    a = dropout(x, 0.2, True)
    torch.manual_seed(1)
    assert torch.equal(a, dropout(x, 0.2, True))


# BERT4Rec's cloze objective labels far fewer positions per step: it needs more epochs
@pytest.mark.parametrize(("backbone", "epochs", "min_recall"), [("SASRec", 15, 0.8), ("GRU4Rec", 15, 0.8), ("BERT4Rec", 40, 0.5)])
def test_loss_decreases_on_learnable_sequences(backbone, epochs, min_recall):
    # every user walks the item ring in steps of one: the next item is predictable
    # (chance level of recall@10 is 10/30)
    rng = np.random.default_rng(0)
    sequences = tuple((rng.integers(0, N_ITEMS) + np.arange(12)) % N_ITEMS + 1 for _ in range(40))
    data = SequenceData("ring", N_ITEMS, sequences, tuple("" for _ in range(N_ITEMS)))
    settings = {
        **SETTINGS, "backbone": backbone, "epochs": epochs, "patience": 100, "batch_size": 16,
        "lr": 1e-2, "device": DEVICE, "dropout": 0.0,
    }  # fmt: skip
    result = train_and_evaluate(data, "RandInit", settings)
    losses = result.history["train_loss"].to_numpy()
    assert losses[-1] < 0.8 * losses[0]
    assert result.test_metrics["recall@10"] >= min_recall
