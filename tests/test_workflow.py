"""The workflow as a whole: planning both experiments, lint/format, SLURM dry run."""

import re
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, copy_workflow, snakemake


def job_counts(output: str) -> dict[str, int]:
    """Parse the 'Job stats' table of a dry run."""
    table = output.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def grid_size(experiment: str) -> int:
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    exp = config["experiments"][experiment]
    sweeps = sum(
        1
        for param, values in exp["sweeps"]["TF-LLMER"].items()
        for v in values
        if v != config["tf_llmer"][param]
    )
    cells = len(exp["methods"]) + sweeps
    return len(exp["datasets"]) * len(exp["backbones"]) * cells * len(exp["seeds"])


@pytest.fixture
def workdir(tmp_path):
    """The workflow exactly as configured (three seeds): these tests only plan."""
    return copy_workflow(tmp_path)


@pytest.mark.parametrize("experiment", ["embedded", "paper"])
def test_dry_run_plans_the_full_grid(experiment, workdir):
    result = snakemake("-n", "grid", "--config", f"experiment={experiment}", cwd=workdir)
    counts = job_counts(result.stdout)
    assert counts["train"] == grid_size(experiment)
    assert counts["preprocess"] == len(
        yaml.safe_load((ROOT / "config.yaml").read_text())["experiments"][experiment]["datasets"]
    )
    assert counts["dataset_stats"] == 1


def test_paper_grid_plans_downloads_and_yelp_import(workdir):
    counts = job_counts(snakemake("-n", "grid", "--config", "experiment=paper", cwd=workdir).stdout)
    assert counts["download_amazon"] == 4  # reviews + meta for sports and cds
    assert counts["import_amazon"] == 2
    assert counts["import_yelp"] == 1


def test_default_target_dry_run(workdir):
    result = snakemake("-n", cwd=workdir)
    counts = job_counts(result.stdout)
    assert counts["dataset_stats"] == 1


def test_slurm_profile_dry_run_selects_paper_experiment(workdir):
    result = snakemake("-n", "grid", "--profile", "profiles/slurm", cwd=workdir)
    counts = job_counts(result.stdout)
    assert counts["train"] == grid_size("paper")


def test_lint_is_clean():
    result = snakemake("--lint", check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_snakefmt_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "snakefmt", "--check", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
