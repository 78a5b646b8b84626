"""The baselines that reuse frozen text vectors (LLMInit, LLM-ESR, AlphaFuse, WhitenRec) and
the RandomFeat control: item-table shapes and trainability, the maths of each method
against direct computations, and LLM-ESR's similar-user retrieval."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import DEVICE
from llmrec import similar_users
from llmrec.data.preprocess import item_title
from llmrec.data.processed import SequenceData
from llmrec.methods import alphafuse, llminit, random_feat, whitenrec
from helpers import build_model, complete
from llmrec.training.trainer import make_optimizer, train_one_epoch, training_rows

N_ITEMS, N_USERS, D_TEXT, HIDDEN = 40, 24, 20, 8
BASE = {"hidden_size": HIDDEN, "max_len": 8, "n_heads": 2, "inner_size": 16, "batch_size": 8,
        "dropout": 0.1, "seed": 3, "device": DEVICE, "null_dim": HIDDEN // 2}  # fmt: skip


@pytest.fixture(scope="module")
def data() -> SequenceData:
    rng = np.random.default_rng(0)
    sequences = tuple(rng.integers(1, N_ITEMS + 1, size=rng.integers(5, 15)) for _ in range(N_USERS))
    return SequenceData("tiny", N_ITEMS, sequences, tuple(f"title is t{i}" for i in range(N_ITEMS)))


@pytest.fixture(scope="module")
def text_vectors() -> np.ndarray:
    rng = np.random.default_rng(1)
    return (rng.normal(size=(N_ITEMS, D_TEXT)) * rng.uniform(0.5, 3.0, size=D_TEXT) + 2.0).astype(np.float32)


def inputs_for(method, text_vectors, data):
    inputs = {"item_vectors": text_vectors}
    if method == "RandomFeat":
        inputs["item_vectors"] = random_feat.random_features(text_vectors, 0)[:, :HIDDEN] * 0.1
    if method == "LLMEmb":
        inputs["pretrained_item_vectors"] = np.random.default_rng(5).normal(size=(N_ITEMS, HIDDEN))
    if method == "LLM-ESR":
        inputs["similar_users"] = similar_users.most_similar(np.random.default_rng(2).normal(size=(N_USERS, 5)), 4)
    return inputs


# method -> (names of parameters that must move, names of buffers that must stay)
TRAINABILITY = {
    "LLMInit": (["item_embedding.weight"], []),
    "AlphaFuse": (["item_embedding.weight"], ["item_embedding.frozen"]),
    "WhitenRec": (["item_embedding.adapter.weight"], ["item_embedding.frozen"]),
    "RandomFeat": (["item_embedding.weight"], []),
    "LLM2Rec": (["item_embedding.adapter.weight"], ["item_embedding.frozen"]),
    "LLMEmb": (["backbone.item_embedding.adapter.0.weight"], ["backbone.item_embedding.frozen", "pretrained"]),
    "LLM-ESR": (
        ["backbone.item_embedding.weight", "views.llm_view.adapter.0.weight", "llm_to_id.query.weight"],
        ["views.llm_view.frozen"],
    ),
}


@pytest.mark.parametrize("backbone", ["SASRec", "GRU4Rec", "BERT4Rec"])
@pytest.mark.parametrize("method", sorted(TRAINABILITY))
def test_item_table_shape_and_trainability(method, backbone, data, text_vectors):
    settings = complete({**BASE, "backbone": backbone, "similar_users": 3}, method)
    model = build_model(N_ITEMS, settings, method, inputs_for(method, text_vectors, data), data).to(DEVICE)
    table = model.item_embedding.table()
    width = 2 * HIDDEN if method == "LLM-ESR" else HIDDEN
    assert table.shape == (N_ITEMS + 1 + (backbone == "BERT4Rec"), width)
    assert torch.all(table[0] == 0) and torch.isfinite(table).all()
    moving, fixed = TRAINABILITY[method]
    named = {**dict(model.named_parameters()), **dict(model.named_buffers())}
    before = {name: named[name].detach().clone() for name in moving + fixed}
    assert all(not named[name].requires_grad for name in fixed)
    rows = training_rows(data, model, "all", torch.device(DEVICE))
    generator = torch.Generator(DEVICE).manual_seed(0)
    train_one_epoch(model, make_optimizer(model, settings), rows, generator, settings)
    for name in moving:
        assert not torch.equal(before[name], named[name]), f"{name} did not train"
    for name in fixed:
        assert torch.equal(before[name], named[name]), f"{name} changed"


# ---------------------------------------------------------------------- LLMInit
def test_llminit_selections_pick_the_documented_dimensions(data, text_vectors):
    uni = llminit.select_dimensions(text_vectors, 8, "uni")
    assert uni.tolist() == list(range(0, 16, 2))  # every floor(20 / 8) = 2nd index
    rand = llminit.select_dimensions(text_vectors, 8, "rand", seed=5)
    assert rand.tolist() == np.random.default_rng(5).integers(0, D_TEXT, size=8).tolist()
    counts = llminit.training_item_counts(data)
    brute = np.zeros(N_ITEMS, dtype=int)
    for seq in data.sequences:
        for item in seq[:-2]:  # training part only
            brute[item - 1] += 1
    assert counts.tolist() == brute.tolist()
    var = llminit.select_dimensions(text_vectors, 8, "var", item_counts=counts, popular_fraction=0.2)
    popular = sorted(range(N_ITEMS), key=lambda i: (-counts[i], i))[:8]  # 20 % of 40 items
    variances = text_vectors[popular].var(axis=0)
    assert var.tolist() == sorted(sorted(range(D_TEXT), key=lambda j: -variances[j])[:8])
    model = build_model(N_ITEMS, {**BASE, "backbone": "SASRec", "selection": "var"}, "LLMInit",
                        {"item_vectors": text_vectors}, data)  # fmt: skip
    assert np.allclose(model.item_embedding.weight.detach().numpy(), text_vectors[:, var])


# ---------------------------------------------------------------------- AlphaFuse
def test_alphafuse_frozen_part_spans_the_top_directions(text_vectors):
    semantic, eigenvalues = alphafuse.semantic_decomposition(text_vectors, HIDDEN, scale=40.0)
    centred = (text_vectors.astype(np.float64) * 40) - (text_vectors.astype(np.float64) * 40).mean(0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    covariance_eigs = singular[:HIDDEN] ** 2 / (N_ITEMS - 1)
    assert np.allclose(eigenvalues, covariance_eigs, rtol=1e-4)
    expected = centred @ vt[:HIDDEN].T / np.sqrt(covariance_eigs)  # whitened PCA coordinates
    assert np.allclose(np.abs(semantic), np.abs(expected), rtol=1e-3, atol=1e-3)
    assert np.allclose(np.cov(semantic.T), np.eye(HIDDEN), atol=1e-3)  # standardised
    k = alphafuse.null_dimension(eigenvalues, 3, None)
    assert k == 3 and alphafuse.null_dimension(eigenvalues, None, covariance_eigs[-3:-1].mean()) == 2


def test_alphafuse_learns_only_the_null_coordinates(data, text_vectors):
    settings = complete({**BASE, "backbone": "SASRec", "null_dim": 3}, "AlphaFuse")
    model = build_model(N_ITEMS, settings, "AlphaFuse", {"item_vectors": text_vectors}, data)
    emb = model.item_embedding  # scores as its InfoNCE loss: cosine / 0.07
    assert emb.normalize and emb.normalize_h and emb.tau == 0.07
    emb.normalize = False  # look at the raw fused rows f_i = L_i + [0; I_i]
    start = model.item_embedding.item_vectors().detach().clone()
    assert torch.allclose(start, model.item_embedding.frozen)  # zeros init starts at L
    rows = training_rows(data, model, "all", torch.device("cpu"))
    train_one_epoch(model, make_optimizer(model, settings), rows, torch.Generator().manual_seed(0), settings)
    after = model.item_embedding.item_vectors().detach()
    assert torch.equal(after[:, : HIDDEN - 3], start[:, : HIDDEN - 3])
    assert not torch.equal(after[:, HIDDEN - 3 :], start[:, HIDDEN - 3 :])


# ---------------------------------------------------------------------- WhitenRec
@pytest.mark.parametrize("groups", [1, 4])
def test_whitenrec_whitens_each_group(text_vectors, groups):
    white = whitenrec.zca_whiten(text_vectors, groups, eps=1e-9).astype(np.float64)
    size = D_TEXT // groups
    cov = white.T @ white / N_ITEMS
    for g in range(groups):
        block = slice(g * size, (g + 1) * size)
        assert np.allclose(cov[block, block], np.eye(size), atol=1e-4)
    if groups == 1:  # ZCA: the symmetric whitening matrix, the closest whitening to X
        centred = text_vectors - text_vectors.mean(0)
        transform = np.linalg.lstsq(centred, white, rcond=None)[0]
        assert np.allclose(transform, transform.T, atol=1e-4)
    with pytest.raises(ValueError, match="equal groups"):
        whitenrec.zca_whiten(text_vectors, 3)


# ---------------------------------------------------------------------- RandomFeat
def test_random_features_keep_shape_and_norm_distribution(text_vectors):
    features = random_feat.random_features(text_vectors, seed=4)
    assert features.shape == text_vectors.shape and features.dtype == np.float32
    assert np.allclose(np.sort(np.linalg.norm(features, axis=1)),
                       np.sort(np.linalg.norm(text_vectors, axis=1)), rtol=1e-5)  # fmt: skip
    assert np.array_equal(features, random_feat.random_features(text_vectors, seed=4))
    assert abs(np.corrcoef(features.ravel(), text_vectors.ravel())[0, 1]) < 0.2


# ---------------------------------------------------------------------- LLM-ESR
def test_similar_users_come_from_training_items_only(data):
    titles = [f"t{i}" for i in range(N_ITEMS)]
    texts = similar_users.user_texts(data.train_sequences(), titles, "movies", max_chars=10_000)
    changed = SequenceData(
        "tiny", N_ITEMS,
        tuple(np.concatenate([s[:-2], [(s[-2] % N_ITEMS) + 1, (s[-1] % N_ITEMS) + 1]]) for s in data.sequences),
        data.item_texts,
    )  # fmt: skip
    assert similar_users.user_texts(changed.train_sequences(), titles, "movies", 10_000) == texts
    for seq, text in zip(data.sequences, texts):
        listed = text.split(": \n", 1)[1].split(" \n", 1)[0].split(", ")
        assert listed == [titles[i - 1] for i in seq[:-2]]
    # the most recent titles that fit: 2 of "tNN" + ", " in 12 characters
    short = similar_users.user_texts(data.train_sequences(), titles, "movies", max_chars=12)
    recent = [titles[i - 1] for i in data.sequences[0][-4:-2]]
    assert all(i >= 10 for i in data.sequences[0][-4:-2])  # two-digit titles in this draw
    assert short[0].split(": \n", 1)[1].split(" \n", 1)[0] == ", ".join(recent)


def test_most_similar_matches_brute_force():
    vectors = np.random.default_rng(3).normal(size=(30, 6))
    got = similar_users.most_similar(vectors, 5, block=7)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sims = unit @ unit.T
    for u in range(30):
        order = [v for v in np.argsort(-sims[u], kind="stable") if v != u][:5]
        assert got[u].tolist() == order


def test_item_title_strips_the_key():
    assert item_title("movie title is Toy Story; release year is 1995") == "Toy Story"
    assert item_title("Toy Story; 1995", {"text_style": "values"}) == "Toy Story"


@pytest.mark.parametrize("refresh", ["step", "epoch"])
def test_llm_esr_distillation_is_the_mse_to_the_similar_users_mean(data, text_vectors, refresh):
    """Both teacher refreshes give the MSE to the similar users' mean representation
    (the same network here: evaluation mode, weights unchanged since begin_epoch)."""
    settings = {**BASE, "backbone": "GRU4Rec", "similar_users": 2, "distill_weight": 0.5, "teacher_refresh": refresh}
    model = build_model(N_ITEMS, settings, "LLM-ESR", inputs_for("LLM-ESR", text_vectors, data), data)
    model.begin_epoch()
    model.eval()  # no dropout: the direct computation below must see the same network
    table = model.item_embedding.table()
    users = torch.tensor([0, 5, 7])
    inputs = model.user_histories[users]
    hidden = model(inputs, table)
    loss = model.auxiliary_loss(inputs, None, hidden, table, users)
    teachers = []
    for u in users.tolist():
        similar = model.similar_users[u].tolist()
        teachers.append(torch.stack([model(model.user_histories[[v]], table)[0, -1] for v in similar]).mean(0))
    expected = 0.5 * ((hidden[:, -1] - torch.stack(teachers)) ** 2).mean()
    assert torch.allclose(loss, expected, atol=1e-6)
    assert loss.requires_grad


def test_llm_esr_epoch_teacher_is_refreshed_by_begin_epoch_only(data, text_vectors):
    """teacher_refresh epoch: steps read the representations of the epoch's start (taken in
    evaluation mode, training mode restored); without begin_epoch the loss refuses."""
    settings = {**BASE, "backbone": "SASRec", "similar_users": 2, "distill_weight": 0.5, "teacher_refresh": "epoch"}
    model = build_model(N_ITEMS, settings, "LLM-ESR", inputs_for("LLM-ESR", text_vectors, data), data).train()
    users = torch.tensor([1, 2])
    table = model.item_embedding.table()
    hidden = model(model.user_histories[users], table)
    with pytest.raises(RuntimeError, match="begin_epoch"):
        model.auxiliary_loss(None, None, hidden, table, users)
    model.begin_epoch()
    assert model.training
    cached = model._user_representations.clone()
    with torch.no_grad():  # a step changes the weights; the cache stays until the next epoch
        for p in model.parameters():
            p.add_(0.01)
    assert torch.equal(model._user_representations, cached)
    model.begin_epoch()
    assert not torch.allclose(model._user_representations, cached)
    model.eval()
    with torch.no_grad():
        direct = torch.cat([model(model.user_histories[[u]])[:, -1] for u in range(len(model.user_histories))])
    assert torch.allclose(model._user_representations, direct, atol=1e-5)


@pytest.mark.parametrize("backbone", ["SASRec", "GRU4Rec"])
def test_llm_esr_cross_attention_keeps_causal_backbones_causal(backbone, data, text_vectors):
    settings = {**BASE, "backbone": backbone, "similar_users": 2}
    model = build_model(N_ITEMS, settings, "LLM-ESR", inputs_for("LLM-ESR", text_vectors, data), data).eval()
    seq = torch.tensor([[0, 3, 5, 7, 9, 11]])
    later_changed = seq.clone()
    later_changed[0, -1] = 2
    with torch.no_grad():
        a, b = model(seq), model(later_changed)
    assert torch.allclose(a[:, :-1], b[:, :-1], atol=1e-6) and not torch.allclose(a[:, -1], b[:, -1])


# ---------------------------------------------------------------------- LLMEmb (RAT)
def test_contrastive_loss_matches_a_direct_computation():
    from llmrec.losses import ContrastiveLoss

    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(5, 3, generator=gen), torch.randn(5, 3, generator=gen)
    tau = 2.0
    expected = 0.0
    for i in range(5):
        logits = [float(x[i] @ y[j]) / tau for j in range(5)]
        logits_t = [float(y[i] @ x[j]) / tau for j in range(5)]
        sims = [float((x[i] @ x[j] + y[i] @ y[j]) / 2 * tau) for j in range(5)]
        sims_t = [float((x[j] @ x[i] + y[j] @ y[i]) / 2 * tau) for j in range(5)]
        target = np.exp(sims) / np.exp(sims).sum()  # row i of softmax_row(S)
        # (T^T)_i: column i of softmax_row(S), i.e. the i-th entry of every row's softmax
        target_t = [np.exp(sims_t[j]) / np.exp([float((x[j] @ x[k] + y[j] @ y[k]) / 2 * tau)
                    for k in range(5)]).sum() for j in range(5)]  # fmt: skip
        log_p = np.array(logits) - np.log(np.exp(logits).sum())
        log_p_t = np.array(logits_t) - np.log(np.exp(logits_t).sum())
        expected += (-(target * log_p).sum() - (np.array(target_t) * log_p_t).sum()) / 2
    loss = ContrastiveLoss(tau, learn_tau=False)(x, y)
    assert np.isclose(float(loss), expected / 5, rtol=1e-5)
    info_nce = ContrastiveLoss(tau, learn_tau=False, kind="info_nce")(x, y)
    direct = (torch.nn.functional.cross_entropy(x @ y.T / tau, torch.arange(5))
              + torch.nn.functional.cross_entropy(y @ x.T / tau, torch.arange(5))) / 2  # fmt: skip
    assert torch.isclose(info_nce, direct)


def test_llmemb_aligns_the_batch_targets_to_the_pretrained_table(data, text_vectors):
    from llmrec.losses import ContrastiveLoss

    settings = {**BASE, "backbone": "SASRec", "align_weight": 0.3, "align_tau": 2.0}
    model = build_model(N_ITEMS, settings, "LLMEmb", inputs_for("LLMEmb", text_vectors, data), data)
    table = model.item_embedding.table()
    labels = torch.tensor([[0, 4, 9, 4], [0, 0, 17, 2]])
    loss = model.auxiliary_loss(None, labels, torch.zeros(2, 4, HIDDEN), table, None)
    items = torch.tensor([2, 4, 9, 17])  # the distinct targets
    pretrained = torch.as_tensor(inputs_for("LLMEmb", text_vectors, data)["pretrained_item_vectors"],
                                 dtype=torch.float32)  # fmt: skip
    expected = 0.3 * ContrastiveLoss(2.0, learn_tau=False)(pretrained[items - 1], table[items])
    assert torch.isclose(loss, expected) and loss.requires_grad


def test_whitenrec_scores_with_cosine_over_tau(data, text_vectors):
    model = build_model(N_ITEMS, {**BASE, "backbone": "SASRec"}, "WhitenRec", {"item_vectors": text_vectors}, data)
    h = torch.randn(3, HIDDEN)
    items = model.item_embedding.adapter(model.item_embedding.frozen)
    cosine = torch.nn.functional.normalize(h, dim=1) @ torch.nn.functional.normalize(items, dim=1).T
    assert torch.allclose(model.item_embedding.scores(h)[:, 1:], cosine / 0.07, atol=1e-5)
