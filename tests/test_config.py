"""Config validation: the shipped config passes; bad ones fail naming the key."""

import copy
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, snakemake
from llmrec.config import ConfigError, dataset_preprocess, validate

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


@pytest.fixture(scope="module")
def config():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def test_shipped_config_is_valid(config):
    assert validate(config, SCHEMA) is config


def _error(config) -> str:
    with pytest.raises(ConfigError) as info:
        validate(config, SCHEMA)
    return str(info.value)


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (
            lambda c: c["experiments"]["embedded"]["backbones"].__setitem__(1, "SASrec"),
            ["experiments.embedded.backbones[1]", "'SASrec' is not allowed", "'SASRec'"],
        ),
        (
            lambda c: c["preprocess"].__setitem__("duplicats", "keep_first"),
            ["'preprocess'", "unknown key(s) 'duplicats'", "duplicates"],
        ),
        (
            lambda c: c["preprocess"].__setitem__("user_core", 2),
            ["preprocess.user_core", "minimum of 3"],
        ),
        (
            lambda c: c["experiments"]["embedded"].__setitem__("seeds", "0"),
            ["experiments.embedded.seeds", "wrong type", "array"],
        ),
        (
            lambda c: c.__setitem__("experiment", "papr"),
            ["'experiment'", "'papr' is not an experiment", "'paper'"],
        ),
        (
            lambda c: c["experiments"]["paper"]["datasets"].append("beauty"),
            ["experiments.paper.datasets[3]", "'beauty' is not defined under 'datasets'"],
        ),
        (
            lambda c: c["datasets"]["sports"].__setitem__("reviews_url", "ftp://x"),
            ["datasets.sports.reviews_url", "does not match"],
        ),
        (
            lambda c: c["datasets"]["yelp"].__setitem__("path", "x"),
            ["datasets.yelp", "unknown key(s) 'path'"],
        ),
        (
            lambda c: c["datasets"]["ml-100k"]["preprocess"].__setitem__("text_style", "json"),
            ["datasets.ml-100k.preprocess.text_style", "'json' is not allowed", "'key_value'"],
        ),
    ],
)
def test_bad_config_names_key_and_allowed_values(config, mutate, expected):
    bad = copy.deepcopy(config)
    mutate(bad)
    message = _error(bad)
    for part in expected:
        assert part in message, message


def test_dataset_preprocess_merges_defaults_and_overrides(config):
    merged = dataset_preprocess(config, "yelp")
    assert merged["user_core"] == config["preprocess"]["user_core"]
    assert merged["text_fields"] == ["name", "categories", "city", "state"]
    assert (merged["date_start"], merged["date_end"]) == ("2000-01-01", "2020-01-01")


def test_workflow_stops_before_any_job_on_bad_config(workdir: Path):
    cfg = yaml.safe_load((workdir / "config.yaml").read_text())
    cfg["experiments"]["embedded"]["methods"].append("SASRec-but-better")
    (workdir / "bad.yaml").write_text(yaml.safe_dump(cfg))
    result = snakemake("-n", "--configfile", "bad.yaml", cwd=workdir, check=False)
    assert result.returncode != 0
    out = result.stdout + result.stderr
    position = len(cfg["experiments"]["embedded"]["methods"]) - 1
    assert f"experiments.embedded.methods[{position}]" in out and "'SASRec-but-better'" in out
    assert "Job stats" not in out  # stopped before planning any job
