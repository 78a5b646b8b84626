"""End-to-end runs of the data rules: ml-100k from the recbole wheel, a user's atomic
dataset, the Amazon chain against a local HTTP server, and Yelp's missing-file message."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import snakemake
from llmrec.data import processed


def set_config(workdir: Path, **changes) -> None:
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    for dotted, value in changes.items():
        node = config
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def test_ml100k_data_rules_end_to_end(workdir: Path):
    snakemake("--cores", "2", "data", cwd=workdir)
    data = processed.load(workdir / "results/data/ml-100k")
    summary = json.loads((workdir / "results/data/ml-100k/summary.json").read_text())
    # RecBole's ml-100k: 943 users with >= 20 ratings each; 5/5-core keeps every user
    assert data.n_users == 943
    assert summary["statistics"]["interactions"] == data.n_interactions
    assert 1000 < data.n_items <= 1682
    assert all(len(s) >= 5 for s in data.sequences)
    assert data.item_texts[0].startswith("movie title is ")
    stats = pd.read_csv(workdir / "results/tables/dataset_stats.csv")
    assert list(stats["dataset"]) == ["ml-100k"]
    assert stats.loc[0, "users"] == 943
    md = (workdir / "results/tables/dataset_stats.md").read_text()
    tex = (workdir / "results/tables/dataset_stats.tex").read_text()
    assert "| ml-100k | 943 |" in md
    assert "\\toprule" in tex and "ml-100k" in tex
    # a second run has nothing to do
    again = snakemake("--cores", "2", "data", "-n", cwd=workdir)
    assert "Nothing to be done" in again.stdout + again.stderr


def write_atomic(folder: Path, name: str, n_users=12, n_items=8, per_user=6) -> None:
    folder.mkdir(parents=True)
    lines = ["uid:token\tiid:token\tts:float"]
    for u in range(n_users):
        for k in range(per_user):
            lines.append(f"u{u}\ti{(u + k) % n_items}\t{1000 + 10 * k + u}.0")
    (folder / f"{name}.inter").write_text("\n".join(lines) + "\n")
    items = ["iid:token\ttitle:token_seq"] + [f"i{i}\tItem number {i}" for i in range(n_items)]
    (folder / f"{name}.item").write_text("\n".join(items) + "\n")


def test_user_atomic_dataset_end_to_end(workdir: Path):
    write_atomic(workdir / "mydata", "toy")
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["datasets"]["toy"] = {
        "source": "atomic",
        "path": "mydata",
        "fields": {"user": "uid", "item": "iid", "time": "ts"},
        "preprocess": {"text_fields": ["title"], "user_core": 3, "item_core": 3},
    }
    config["experiments"]["embedded"]["datasets"] = ["toy"]
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    snakemake("--cores", "2", "data", cwd=workdir)
    data = processed.load(workdir / "results/data/toy")
    assert (data.n_users, data.n_items, data.n_interactions) == (12, 8, 72)
    assert data.item_texts[0] == "title is Item number 0"


def test_yelp_missing_files_say_where_to_get_them(workdir: Path):
    set_config(workdir, **{"experiments.embedded.datasets": ["yelp"]})
    result = snakemake("--cores", "1", "data", cwd=workdir, check=False)
    assert result.returncode != 0
    log = (workdir / "logs/import_yelp/yelp.log").read_text()
    for text in ("business.yelp.com", "yelp_academic_dataset_review.json", "resources/yelp"):
        assert text in log
    assert not (workdir / "results/raw/yelp/yelp/interactions.tsv").exists()
