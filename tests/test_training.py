"""Loss, batching, evaluation wiring, determinism and resuming of the trainer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import DEVICE
from llmrec.methods.context import MethodContext
from llmrec import methods, metrics
from llmrec.data.processed import SequenceData
from helpers import complete, train_and_evaluate
from llmrec.training import evaluate, softmax_cross_entropy
from llmrec.training.batching import PaddedRows, pad_left, windows
from llmrec.training.evaluation import EvaluationSet
from llmrec.training.state import STATE_FILE


N_ITEMS = 120
BASE = {
    "hidden_size": 16, "max_len": 10, "n_heads": 2, "inner_size": 32, "dropout": 0.2,
    "epochs": 4, "patience": 10, "batch_size": 16, "device": DEVICE, "seed": 7,
}  # fmt: skip


def tiny_data(n_users=48, seed=0) -> SequenceData:
    rng = np.random.default_rng(seed)
    sequences = tuple(rng.integers(1, N_ITEMS + 1, size=rng.integers(4, 25)) for _ in range(n_users))
    return SequenceData("tiny", N_ITEMS, sequences, tuple("" for _ in range(N_ITEMS)))


# ---------------------------------------------------------------------- loss
@pytest.mark.parametrize("budget", [1, 700, 5 * 40])
def test_chunked_loss_equals_unchunked(budget):
    generator = torch.Generator().manual_seed(0)
    queries = torch.randn(37, 8, generator=generator, requires_grad=True)
    items = torch.randn(40, 8, generator=generator, requires_grad=True)
    targets = torch.randint(0, 40, (37,), generator=generator)
    reference = torch.nn.functional.cross_entropy(queries @ items.T, targets)
    grads_reference = torch.autograd.grad(reference, (queries, items))
    chunked = softmax_cross_entropy(queries, items, targets, max_logit_elements=budget)
    grads_chunked = torch.autograd.grad(chunked, (queries, items))
    torch.testing.assert_close(chunked, reference)
    for a, b in zip(grads_chunked, grads_reference):
        torch.testing.assert_close(a, b)


# ---------------------------------------------------------------------- batching
def test_pad_left_and_trimming():
    matrix = pad_left([np.array([1, 2, 3]), np.array([4]), np.array([5, 6, 7, 8, 9])], 4)
    assert matrix.tolist() == [[0, 1, 2, 3], [0, 0, 0, 4], [6, 7, 8, 9]]
    rows = PaddedRows.build([np.array([1, 2]), np.array([3])], 5, torch.device("cpu"))
    assert rows.batch(torch.tensor([1, 0])).tolist() == [[0, 3], [1, 2]]


@pytest.mark.parametrize(("width", "stride", "min_items"), [(6, 5, 2), (5, 5, 1)])
def test_all_windows_label_every_item_once(width, stride, min_items):
    sequence = np.arange(1, 24)
    cut = windows([sequence], width, stride, min_items, "all")
    assert all(len(w) <= width for w in cut)
    # causal (width = stride + 1): labels are items after a window's first; cloze: all
    labels = np.concatenate([w[1:] for w in cut]) if width > stride else np.concatenate(cut)
    expected = sequence[1:] if width > stride else sequence
    assert sorted(labels.tolist()) == expected.tolist()
    assert windows([sequence], width, stride, min_items, "last")[0].tolist() == sequence[-width:].tolist()


# ---------------------------------------------------------------------- evaluation wiring
def test_evaluation_uses_the_right_histories_and_protocols():
    data = tiny_data()
    model = train_and_evaluate(data, "RandInit", {**BASE, "epochs": 1}).model
    device = next(model.parameters()).device
    histories, targets = data.test_split()
    split = EvaluationSet.build(histories, targets, model.history_length, device)
    # brute force: score each user alone from the raw history
    with torch.no_grad():
        model.eval()
        scores = torch.cat([
            model.item_embedding.scores(model.sequence_representation(torch.as_tensor(pad_left([h], 10), device=device)))
            for h in histories
        ]).cpu()  # fmt: skip
    expected = metrics.metrics_from_ranks(metrics.full_ranks(scores, torch.as_tensor(targets)))
    assert evaluate(model, split, batch_size=7) == pytest.approx(expected)
    seen = [np.setdiff1d(h, [t]) for h, t in zip(histories, targets)]
    seen_rows = torch.as_tensor(np.repeat(np.arange(len(seen)), [len(s) for s in seen]))
    filtered = metrics.full_ranks(scores, torch.as_tensor(targets), seen_rows, torch.as_tensor(np.concatenate(seen)))
    assert evaluate(model, split, filter_seen=True, batch_size=5) == pytest.approx(metrics.metrics_from_ranks(filtered))
    negatives = metrics.draw_negatives(data, n=20, seed=1)
    split = EvaluationSet.build(histories, targets, model.history_length, device, negatives)
    sampled = metrics.sampled_ranks(scores, torch.as_tensor(targets), torch.as_tensor(negatives))
    assert evaluate(model, split, protocol="sampled") == pytest.approx(metrics.metrics_from_ranks(sampled))


# ---------------------------------------------------------------------- runs
@pytest.mark.parametrize("backbone", ["SASRec", "GRU4Rec", "BERT4Rec"])
def test_same_seed_same_results(backbone):
    data = tiny_data()
    settings = {**BASE, "backbone": backbone, "epochs": 3}
    a = train_and_evaluate(data, "RandInit", settings)
    b = train_and_evaluate(data, "RandInit", settings)
    assert a.test_metrics == b.test_metrics and a.valid_metrics == b.valid_metrics
    assert a.history["train_loss"].tolist() == b.history["train_loss"].tolist()
    c = train_and_evaluate(data, "RandInit", {**settings, "seed": 8})
    assert c.history["train_loss"].tolist() != a.history["train_loss"].tolist()


def test_history_rows_and_hooks_do_not_change_results():
    data = tiny_data()
    calls = []

    def hook(model, epoch):
        calls.append(epoch)
        torch.rand(1000)  # a hook that draws random numbers must not perturb training
        return {"table_norm": float(model.item_embedding.table().detach().norm())}

    plain = train_and_evaluate(data, "RandInit", BASE)
    hooked = train_and_evaluate(data, "RandInit", BASE, epoch_hooks=[hook])
    assert calls == [1, 2, 3, 4]
    assert plain.test_metrics == hooked.test_metrics
    history = hooked.history
    assert list(history["epoch"]) == [1, 2, 3, 4]
    for column in ("train_loss", "valid_ndcg@10", "valid_recall@20", "epoch_seconds", "table_norm"):
        assert column in history.columns
    assert hooked.best_epoch == int(history.loc[history["valid_ndcg@10"].idxmax(), "epoch"])
    assert hooked.valid_metrics["ndcg@10"] == pytest.approx(history["valid_ndcg@10"].max())


def test_early_stopping_uses_patience():
    result = train_and_evaluate(tiny_data(), "RandInit", {**BASE, "epochs": 50, "patience": 2, "lr": 0.05})
    history = result.history
    assert len(history) < 50
    assert len(history) - result.best_epoch == 2


class Interrupt(Exception):
    pass


@pytest.mark.parametrize("backbone", ["SASRec", "BERT4Rec"])
def test_resume_matches_uninterrupted_run(tmp_path, backbone):
    data = tiny_data()
    settings = {**BASE, "backbone": backbone, "epochs": 5}
    uninterrupted = train_and_evaluate(data, "RandInit", settings, tmp_path / "a")

    def crash_at_epoch_3(model, epoch):
        if epoch == 3:
            raise Interrupt
        return {}

    with pytest.raises(Interrupt):
        train_and_evaluate(data, "RandInit", settings, tmp_path / "b", epoch_hooks=[crash_at_epoch_3])
    assert torch.load(tmp_path / "b" / STATE_FILE, weights_only=False)["epoch"] == 2
    resumed = train_and_evaluate(data, "RandInit", settings, tmp_path / "b")
    assert resumed.test_metrics == uninterrupted.test_metrics
    assert resumed.history["epoch"].tolist() == [1, 2, 3, 4, 5]
    assert resumed.history["train_loss"].tolist() == uninterrupted.history["train_loss"].tolist()

    # a finished state is never reused: a job that runs again (Snakemake found its outputs
    # out of date, or was forced) retrains from scratch, to the same result
    epochs = []
    again = train_and_evaluate(
        data, "RandInit", settings, tmp_path / "b", epoch_hooks=[lambda m, e: epochs.append(e) or {}]
    )
    assert epochs == [1, 2, 3, 4, 5]
    assert again.test_metrics == uninterrupted.test_metrics


def test_state_of_other_settings_is_not_reused(tmp_path):
    data = tiny_data()
    train_and_evaluate(data, "RandInit", {**BASE, "epochs": 2}, tmp_path)
    changed = train_and_evaluate(data, "RandInit", {**BASE, "epochs": 2, "lr": 0.01}, tmp_path)
    fresh = train_and_evaluate(data, "RandInit", {**BASE, "epochs": 2, "lr": 0.01})
    assert changed.test_metrics == fresh.test_metrics


def test_method_registry():
    assert "RandInit" in methods.available()
    with pytest.raises(KeyError, match="available"):
        methods.get("no-such-method")
    table = methods.get("RandInit")(MethodContext("RandInit", N_ITEMS, 16, complete({"init": "xavier"}), mask_token=True))
    assert table.table().shape == (N_ITEMS + 2, 16)
    with pytest.raises(ValueError, match="already registered"):
        methods.register("RandInit")(lambda *a, **k: None)


def test_large_catalogue_uses_chunked_loss():
    # a budget far below positions x items forces the chunked path inside training
    data = tiny_data()
    a = train_and_evaluate(data, "RandInit", {**BASE, "epochs": 2})
    b = train_and_evaluate(data, "RandInit", {**BASE, "epochs": 2, "max_logit_elements": 1000})
    np.testing.assert_allclose(a.history["train_loss"], b.history["train_loss"], rtol=1e-4)


def test_fused_adam_is_bit_identical_to_torch_adam():
    """FusedAdam (no torch.optim, so no torch._dynamo import) updates exactly as
    torch.optim.Adam(fused=True), also across a state_dict round trip and for a
    parameter whose gradient is missing at some steps."""
    from llmrec.training.adam import FusedAdam

    def model():
        torch.manual_seed(0)
        return torch.nn.ModuleDict({"a": torch.nn.Linear(7, 5), "b": torch.nn.Embedding(11, 5)})

    ours_model, ref_model = model(), model()
    ours = FusedAdam(ours_model.parameters(), lr=3e-3, weight_decay=0.01)
    ref = torch.optim.Adam(ref_model.parameters(), lr=3e-3, weight_decay=0.01, fused=True)
    x = torch.randn(4, 7, generator=torch.Generator().manual_seed(1))
    for step in range(6):
        for net, opt in ((ours_model, ours), (ref_model, ref)):
            opt.zero_grad(set_to_none=True)
            loss = net["a"](x).pow(2).sum()
            if step % 2:  # the embedding gets a gradient only at odd steps
                loss = loss + net["b"](torch.tensor([1, 3, 3])).sum()
            loss.backward()
            opt.step()
        if step == 2:  # resume from a saved state
            saved = ours.state_dict()
            ours = FusedAdam(ours_model.parameters(), lr=3e-3, weight_decay=0.01)
            ours.load_state_dict(saved)
    for (name, p), q in zip(ours_model.named_parameters(), ref_model.parameters()):
        assert torch.equal(p, q), name
