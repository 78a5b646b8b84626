"""The training part of the workflow on a tiny configuration: RandInit and TF-LLMER (with
MiniLM from its PyPI package as the text model) for all three backbones, plus a K sweep;
and the baselines that reuse frozen text vectors on one backbone."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from conftest import snakemake
from test_data_workflow import ATOMIC_TOY, write_atomic


def tiny_config(workdir: Path, **experiment) -> None:
    write_atomic(workdir / "mydata", "toy", n_users=30, n_items=12, per_user=7)
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["datasets"]["toy"] = ATOMIC_TOY
    config["experiments"]["embedded"].update(
        {
            "datasets": ["toy"],
            "methods": ["RandInit", "TF-LLMER"],
            "llm": "minilm",
            "sweeps": {"TF-LLMER": {"K": [3]}},
            "training": {},
            **experiment,
        }
    )
    config["tf_llmer"]["source"] = "llm"  # LLM2Rec's chain has its own test
    config["llm_esr"].update(similar_users=3, retrieved_users=5)
    config["alphafuse"]["null_dim"] = 4
    config["training"].update(hidden_size=8, max_len=6, epochs=2, patience=2, batch_size=16)
    config["diagnostics"].update(rho_sample_size=8, rho_hard_negatives=3)
    config["encode"].update(batch_size=8, max_tokens=16)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def test_tiny_grid_trains_and_evaluates_every_cell(workdir: Path):
    tiny_config(workdir)
    snakemake("--cores", "2", cwd=workdir)
    runs = sorted((workdir / "results/runs/toy").glob("*/*/seed0/metrics.json"))
    cells = {(p.parts[-4], p.parts[-3]) for p in runs}
    assert cells == {
        (b, m)
        for b in ("GRU4Rec", "SASRec", "BERT4Rec")
        for m in ("RandInit", "TF-LLMER", "TF-LLMER~K=3")
    }
    for path in runs:
        record = json.loads(path.read_text())
        assert set(record["test"]) >= {"recall@10", "recall@20", "ndcg@10", "ndcg@20", "mrr@10"}
        assert all(0 <= v <= 1 for v in record["test"].values())
        history = pd.read_csv(path.with_name("history.csv"))
        assert len(history) == record["epochs_run"] and history["rho"].notna().all()
        settings = json.loads(path.with_name("settings.json").read_text())
        assert settings["hidden_size"] == 8 and settings["backbone"] == path.parts[-4]
    sweep = json.loads(
        (workdir / "results/runs/toy/SASRec/TF-LLMER~K=3/seed0/settings.json").read_text()
    )
    # K configures Rec-PCA, not the run: it reaches the run only through its input
    assert "K" not in sweep and sweep["method_inputs"]["item_vectors"].endswith("alpha0.5_K3.npy")
    x = json.loads((workdir / "results/reps/toy/minilm.json").read_text())
    assert x["n_items"] == 12
    # results/tables/runs.csv: one row per run folder, from what the trainer wrote
    table = pd.read_csv(workdir / "results/tables/runs.csv")
    assert sorted(table["folder"]) == sorted(str(p.parent.relative_to(workdir)) for p in runs)
    by_folder = table.set_index("folder")
    for path in runs:
        record = json.loads(path.read_text())
        row = by_folder.loc[str(path.parent.relative_to(workdir))]
        assert (row["best_epoch"], row["epochs_run"]) == (record["best_epoch"], record["epochs_run"])
        for split in ("test", "valid"):
            for metric, value in record[split].items():
                assert row[f"{split}_{metric}"] == value
    assert (table["train_seconds"] > 0).all() and (table["job_seconds"] > 0).all()
    assert (table["hidden_size"] == 8).all() and (table["device"] == "cpu").all()
    sweep_row = table[table["method_id"] == "TF-LLMER~K=3"]
    assert len(sweep_row) == 3 and (sweep_row["K"] == 3).all()
    assert (sweep_row["sweep_param"] == "K").all() and (sweep_row["method"] == "TF-LLMER").all()
    # the sweeps table: per backbone the main run and the K point, one chosen on validation
    sweeps = pd.read_csv(workdir / "results/tables/sweeps.csv")
    assert sorted(sweeps["setting"]) == sorted(["configured", "K=3"] * 3)
    assert (sweeps.groupby("backbone")["chosen"].sum() == 1).all()
    for r in sweeps.itertuples():
        record = json.loads((workdir / f"results/runs/toy/{r.backbone}/{r.point}/seed0/metrics.json").read_text())
        assert r.valid_mean == record["valid"]["ndcg@10"] and r.n_seeds == 1
    # nothing left to do on a second run
    again = snakemake("--cores", "2", "-n", cwd=workdir)
    assert "Nothing to be done" in again.stdout + again.stderr


def test_tiny_grid_runs_the_frozen_vector_baselines(workdir: Path):
    methods = ["LLMInit", "LLM-ESR", "AlphaFuse", "WhitenRec", "RandomFeat"]
    tiny_config(workdir, backbones=["SASRec"], methods=methods, sweeps={})
    snakemake("--cores", "2", cwd=workdir)
    for method in methods:
        folder = workdir / "results/runs/toy/SASRec" / method / "seed0"
        record = json.loads((folder / "metrics.json").read_text())
        assert 0 <= record["test"]["ndcg@10"] <= 1
        settings = json.loads((folder / "settings.json").read_text())
        assert "substitutions" not in settings and "text_model" not in settings  # provenance: the report's
    # the paid services LLM-ESR and AlphaFuse used, substituted: from the plan, in runs.csv
    table = pd.read_csv(workdir / "results/tables/runs.csv").set_index("method_id")
    for method in ("LLM-ESR", "AlphaFuse"):
        assert "instead of OpenAI" in table.loc[method, "substitutions"]
    similar = np.load(workdir / "results/llm_esr/toy/minilm/similar_users.npy")
    assert similar.shape == (30, 5)
    random = np.load(workdir / "results/reps/toy/random-minilm.npy")
    assert random.shape == np.load(workdir / "results/reps/toy/minilm.npy").shape
