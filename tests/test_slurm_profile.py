"""The SLURM profile's submissions, built with the executor plugin's own code for every job
of the paper experiment (tools/sbatch_lines.py), checked against the partition table;
and the experiment it selects surviving a --config on the command line. No SLURM needed:
the real-cluster rehearsal is tests/test_slurm_cluster.py (make test-slurm)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, copy_workflow, snakemake



def sbatch_lines(workdir, *snakemake_args: str) -> tuple[int, list[dict], str]:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "sbatch_lines.py"), "--json", "--", *snakemake_args],
        cwd=workdir, capture_output=True, text=True, timeout=600,
    )
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.returncode, rows, result.stderr


def gpu_rules(workdir) -> set[str]:
    """Rules whose `resources:` ask for a GPU, read from the rule files themselves."""
    import re

    found = set()
    for path in (workdir / "workflow" / "rules").glob("*.smk"):
        for block in re.split(r"\n(?=rule )", path.read_text()):
            name = re.match(r"rule (\w+):", block)
            if name and re.search(r"^\s+gpu=\d", block, re.M):
                found.add(name[1])
    return found


@pytest.fixture(scope="module")
def paper_submissions(tmp_path_factory):
    folder = copy_workflow(tmp_path_factory.mktemp("paper"))
    # the full grid and the report targets (the default target), every attempt
    rc_grid, grid, err = sbatch_lines(folder, "--profile", "profiles/slurm", "grid")
    assert rc_grid == 0, err[-3000:]
    rc_all, default, err = sbatch_lines(folder, "--profile", "profiles/slurm")
    assert rc_all == 0, err[-3000:]
    return folder, grid + default


def test_every_submission_of_the_paper_grid_fits_its_partition(paper_submissions):
    folder, rows = paper_submissions
    partitions = yaml.safe_load((folder / "profiles/slurm/partitions.yaml").read_text())["partitions"]
    gpu_partition, cpu_partition = "<gpu-partition>", "<cpu-partition>"
    assert partitions[cpu_partition]["max_gpu"] == 0 and partitions[gpu_partition]["max_gpu"] > 0
    retries = yaml.safe_load((folder / "profiles/slurm/config.yaml").read_text())["retries"]
    cap = yaml.safe_load((folder / "profiles/slurm/experiment.yaml").read_text())["max_runtime"]
    gpu = gpu_rules(folder)
    assert {"train", "encode_items", "llm2rec_csft", "llmemb_scft", "similar_users"} <= gpu
    seen_rules = set()
    for row in rows:
        seen_rules.add(row["rule"])
        assert not row["problems"], row
        limits = partitions[row["partition"]]
        if row["rule"] in gpu:
            assert row["partition"] == gpu_partition and row["gpus"] == 1, row
            # the CPUs of a GPU job reach sbatch
            assert "--cpus-per-gpu=8" in row["sbatch"], row
        else:
            assert row["partition"] == cpu_partition and row["gpus"] == 0, row
            assert "--cpus-per-task=" in row["sbatch"], row
        assert row["mem_mb"] <= limits["max_mem_mb"], row
        assert row["runtime"] <= min(cap, limits["max_runtime"]), row
        assert row["cpus"] <= limits["max_threads"], row
    # every rule the paper experiment submits, on every attempt the profile allows
    attempts = {(r["rule"], json.dumps(r["wildcards"])): set() for r in rows}
    for r in rows:
        attempts[(r["rule"], json.dumps(r["wildcards"]))].add(r["attempt"])
    assert all(a == set(range(1, retries + 2)) for a in attempts.values())
    assert gpu <= seen_rules
    assert {"preprocess", "import_yelp", "import_amazon", "rec_pca", "paper_tables"} <= seen_rules
    # the one job that asks for the most time is capped on its retry
    csft = [r for r in rows if r["rule"] == "llm2rec_csft"]
    assert {r["runtime"] for r in csft} == {900, min(1800, cap)}


def test_jobs_that_need_the_internet_never_run_on_a_node(paper_submissions):
    _, rows = paper_submissions
    submitted = {r["rule"] for r in rows}
    assert not submitted & {"download_amazon", "fetch_model", "fetch"}


def test_a_profile_that_sends_everything_to_one_partition_is_caught(tmp_path, workdir):
    """Breaking the routing on purpose (the old profile: one partition for every job)
    makes the check fail for the GPU jobs."""
    profile = workdir / "profiles/slurm/config.yaml"
    text = profile.read_text().replace("default-resources:\n",
                                       "default-resources:\n  slurm_partition: \"<cpu-partition>\"\n")
    profile.write_text(text)
    rc, rows, err = sbatch_lines(workdir, "--profile", "profiles/slurm", "results/tables/dataset_stats.csv",
                                 "results/reps/yelp/minilm.npy")
    assert rc == 1
    bad = [r for r in rows if r["problems"]]
    assert bad and all(r["rule"] == "encode_items" for r in bad)
    assert "GPU(s) on a partition with max_gpu 0" in bad[0]["problems"][0]


def test_command_line_config_keeps_the_profiles_experiment(workdir):
    """`--config partial=true` (the README's recipe for partial tables) merges with the
    profile's experiment instead of replacing it."""
    result = snakemake("-n", "--profile", "profiles/slurm", "--config", "partial=true", cwd=workdir)
    assert "profiles/slurm/experiment.yaml" in result.stdout + result.stderr
    from test_workflow import grid_size, job_counts

    counts = job_counts(result.stdout)
    assert counts["train"] == grid_size("paper")
