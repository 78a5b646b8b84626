"""The measurement tools under tools/: seed_sweep.py reports what the library's
training gives for the workflow's settings, and benchmark_finetune.py runs every
fine-tuning stage and projects the configured step counts."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT
from llmrec.data import processed
from llmrec.training import train_and_evaluate
from test_llm_finetune import load_smollm2_tokenizer, write_processed

sys.path.insert(0, str(ROOT / "tools"))
import benchmark_finetune  # noqa: E402
import seed_sweep  # noqa: E402


@pytest.fixture
def small_config(tmp_path):
    """config.yaml with a tiny model and two epochs."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["training"].update(hidden_size=8, max_len=6, epochs=2, batch_size=8, device="cpu")
    config["backbones"]["SASRec"].update(inner_size=16)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path, config


def test_seed_sweep_reports_the_library_runs_with_the_workflow_settings(tmp_path, small_config):
    data_dir = write_processed(tmp_path / "data", n_users=30)
    config_path, config = small_config
    out = tmp_path / "sweep.csv"
    seed_sweep.main([str(data_dir), "--config", str(config_path), "--backbones", "SASRec", "--seeds", "0", "1",
                     "--variant", "base", "{}", "--variant", "drop", '{"dropout": 0.5}', "--out", str(out)])  # fmt: skip
    runs = pd.read_csv(out)
    assert sorted(zip(runs["variant"], runs["seed"])) == [("base", 0), ("base", 1), ("drop", 0), ("drop", 1)]
    # one row, recomputed directly: the workflow's settings plus the variant's overrides
    settings = {**config["training"], **config["backbones"]["SASRec"], "dropout": 0.5,
                "backbone": "SASRec", "method": "RandInit", "seed": 1}  # fmt: skip
    direct = train_and_evaluate(processed.load(data_dir), "RandInit", settings)
    row = runs[(runs["variant"] == "drop") & (runs["seed"] == 1)].iloc[0]
    assert row["test_ndcg@10"] == pytest.approx(direct.test_metrics["ndcg@10"], abs=1e-12)
    assert row["best_epoch"] == direct.best_epoch
    table = seed_sweep.summary(runs, "test_ndcg@10", "ndcg@10")
    base = runs[runs["variant"] == "base"]["test_ndcg@10"]
    assert table.loc[("base", "SASRec"), "test_ndcg@10 mean"] == pytest.approx(base.mean())
    assert table.loc[("base", "SASRec"), "test_ndcg@10 std"] == pytest.approx(np.std(base, ddof=1))


def test_seed_sweep_names_a_bad_variant():
    with pytest.raises(SystemExit, match="--variant drop: overrides must be a JSON object"):
        seed_sweep.parse_variants([["drop", "[0.5]"]])


def test_benchmark_finetune_runs_each_stage_and_projects_the_configured_steps(tmp_path):
    from llmrec.lm.model import tiny_causal_lm

    tokenizer = load_smollm2_tokenizer()
    tokenizer.save_pretrained(tmp_path / "tokenizer")
    tiny_causal_lm(len(tokenizer)).config.save_pretrained(tmp_path / "arch")
    data_dir = write_processed(tmp_path / "data")
    out = tmp_path / "stages.csv"
    small = {"batch_size": 4}
    benchmark_finetune.main([
        str(data_dir), "--architecture", str(tmp_path / "arch" / "config.json"),
        "--tokenizer", str(tmp_path / "tokenizer"), "--steps", "2", "--device", "cpu",
        "--stages", "mntp", "llm2rec_encode", "scft", "llmemb_encode", "--out", str(out),
        "--set", json.dumps({"llm2rec": {"mntp": small}, "llmemb": {"scft": small, "encode": {"pca_dim": 4}}}),
    ])  # fmt: skip
    table = pd.read_csv(out).set_index("stage")
    assert list(table.index) == ["mntp", "llm2rec_encode", "scft", "llmemb_encode"]
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    for stage, steps in (("mntp", config["llm2rec"]["mntp"]["steps"]), ("scft", config["llmemb"]["scft"]["steps"])):
        row = table.loc[stage]
        assert row["configured_steps"] == steps and np.isfinite(row["loss_last"])
        assert row["projected_h"] == pytest.approx(row["s_per_step"] * steps / 3600)
