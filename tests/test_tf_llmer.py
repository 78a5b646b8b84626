"""TF-LLMER: the graph sees training items only, the variants' item tables, the epoch
diagnostics, and one grid cell end to end on a tiny dataset."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import build_model, complete, diagnostics_settings, recpca_settings, run_experiment
from llmrec.methods.context import MethodContext
from llmrec import diagnostics, experiment, graph, methods, recpca
from llmrec.data import preprocess, processed


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    rng = np.random.default_rng(0)
    rows = []
    for u in range(40):
        start = rng.integers(0, 30)
        for k in range(int(rng.integers(5, 12))):
            rows.append((f"u{u}", f"i{(start + k * 3) % 30}", k))
    inter = pd.DataFrame(rows, columns=["user", "item", "timestamp"])
    items = pd.DataFrame({"item": [f"i{i}" for i in range(30)],
                          "title": [f"item {i}" for i in range(30)]})
    result = preprocess.preprocess(
        inter, items, {"user_core": 3, "item_core": 1, "text_fields": ["title"],
                       "duplicates": "keep_all"}
    )
    folder = tmp_path_factory.mktemp("tiny")
    preprocess.write_processed(result, folder, "tiny", {}, {})
    return folder


def test_rec_pca_graph_never_sees_validation_or_test_items(tiny_data, monkeypatch):
    data = processed.load(tiny_data)
    seen = []
    real = graph.build_graph

    def spy(sequences, *args, **kwargs):
        seen.extend(list(s) for s in sequences)
        return real(sequences, *args, **kwargs)

    monkeypatch.setattr(graph, "build_graph", spy)
    x = np.random.default_rng(1).normal(size=(data.n_items, 16))
    recpca.reduce_for_dataset(data.train_sequences(), data.n_items, x, 8, 0.5, recpca_settings(K=3))
    assert seen == [list(s[:-2]) for s in data.sequences]


@pytest.mark.parametrize("name, normalized", [("TF-LLMER", True), ("TF-LLMER-wo-norm", False),
                                              ("TF-LLMER-wo-RecPCA", True),
                                              ("TF-LLMER-wo-both", False)])
def test_variants_initialise_from_the_reduced_vectors(name, normalized):
    z = np.random.default_rng(2).normal(size=(10, 8)).astype(np.float32) * 3
    emb = methods.get(name)(MethodContext(name, 10, 8, complete({"tau": 1.0}, name), {"item_vectors": z}))
    assert torch.allclose(emb.weight.detach(), torch.from_numpy(z))
    norms = emb.item_vectors().norm(dim=1)
    assert torch.allclose(norms, torch.ones(10), atol=1e-6) == normalized
    assert emb.weight.requires_grad


def test_tf_llmer_needs_item_vectors():
    with pytest.raises(ValueError, match="item_vectors"):
        methods.get("TF-LLMER")(MethodContext("TF-LLMER", 10, 8))


def test_epoch_diagnostics_on_a_model(tiny_data):
    data = processed.load(tiny_data)
    settings = complete({"backbone": "SASRec", "hidden_size": 8, "max_len": 10}, "TF-LLMER")
    z = np.random.default_rng(3).normal(size=(data.n_items, 8)).astype(np.float32)
    model = build_model(data.n_items, settings, "TF-LLMER", {"item_vectors": z})
    lap = experiment.training_graph_laplacian(data, diagnostics_settings())
    hook = diagnostics.EpochDiagnostics(data.train_sequences(), data.n_items, sample_size=32,
                                        hard_negatives=5, laplacian=lap)
    out = hook(model, 1)
    assert np.isfinite(out["rho"]) and out["rho"] >= 1
    assert out["norm_max_min_ratio"] == pytest.approx(1.0, abs=1e-5)  # normalised rows
    assert 0 <= out["alignment_tv"] <= 2
    assert hook(model, 2) == out  # fixed sample, eval mode: deterministic


@pytest.mark.parametrize("method", ["RandInit", "TF-LLMER"])
def test_one_cell_end_to_end(tiny_data, tmp_path, method):
    data = processed.load(tiny_data)
    inputs = {}
    if method == "TF-LLMER":
        x = np.random.default_rng(4).normal(size=(data.n_items, 24))
        proj, _ = recpca.reduce_for_dataset(data.train_sequences(), data.n_items, x, 8, 0.5,
                                            recpca_settings(K=3))
        np.save(tmp_path / "z.npy", proj.z)
        inputs = {"item_vectors": str(tmp_path / "z.npy")}
    outputs = {k: str(tmp_path / f"{k}.{ext}") for k, ext in
               [("metrics", "json"), ("history", "csv"), ("settings", "json"),
                ("initial_norms", "npy"), ("test_ranks", "npy"), ("item_vectors", "npy")]}
    settings = {"backbone": "GRU4Rec", "method": method, "dataset": "tiny", "seed": 0,
                "hidden_size": 8, "max_len": 10, "epochs": 3, "patience": 3,
                "diagnostics": {"rho_sample_size": 16, "rho_hard_negatives": 4}}
    record = run_experiment(tiny_data, settings, inputs, tmp_path / "state", outputs)
    saved = json.loads(open(outputs["metrics"]).read())
    assert saved == json.loads(json.dumps(record))
    assert 0 <= saved["test"]["ndcg@10"] <= 1 and saved["epochs_run"] == 3
    history = pd.read_csv(outputs["history"])
    assert {"train_loss", "rho", "rho_median", "alignment_tv", "norm_cv"} <= set(history.columns)
    assert len(np.load(outputs["initial_norms"])) == data.n_items
    ranks = np.load(outputs["test_ranks"])
    assert len(ranks) == data.n_users and ranks.min() >= 1 and ranks.max() <= data.n_items
    # the saved ranks are the saved metrics, user by user
    assert np.isclose(np.mean(ranks <= 10), saved["test"]["recall@10"])
    assert np.load(outputs["item_vectors"]).shape == (data.n_items, 8)
