"""The paper experiment on a real SLURM cluster: a rehearsal through profiles/slurm.

`make test-slurm` runs this file (root, Debian/Ubuntu: tests/slurm/cluster.sh installs and
starts a single-node SLURM with a CPU and a GPU partition). It fills in the profile's
placeholders, as a user would, and changes nothing else of it; the workflow gets the
paper experiment's own rules and sources at tiny sizes:

- Amazon 2018 files (real format) from a local HTTP server, through `download_amazon`;
- Yelp Open Dataset files (real format) in resources/yelp/;
- "Qwen/Qwen2-0.5B" and "meta-llama/Llama-3.2-1B" as tiny random causal LMs (SmolLM2's
  tokenizer) in the hub cache, which `fetch` reads offline like a login node whose
  cache is already filled, and the jobs read offline as compute nodes do;
- two datasets (Yelp, and Sports for the Amazon chain; CDs is the same chain), one
  backbone, every method, one point of the alpha sweep, 1 seed, 2 epochs, 2 fine-tuning
  steps.

Every rule of the paper experiment's graph runs as a SLURM job (or, for the downloads,
on the "login node"), then the tables, figures and `--report`. Each snakemake call is
under a hard timeout, so a stuck job fails the test instead of hanging it.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, copy_workflow

pytestmark = pytest.mark.slurm

CLUSTER = ROOT / "tests" / "slurm" / "cluster.sh"
N_USERS, N_ITEMS, PER_USER = 40, 30, 8
# Flags a cluster without accounting needs (README, "Running on SLURM"); a first status
# poll after 1 s instead of the plugin's 40 s keeps a rehearsal of short jobs short (the
# plugin then waits 10 s longer after each poll that found no finished job).
NO_ACCOUNTING = ["--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "1"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A running single-node SLURM (its SLURM_CONF), stopped afterwards."""
    why = subprocess.run(["bash", str(CLUSTER), "can-run"], capture_output=True, text=True)
    if why.returncode != 0:
        message = f"a real SLURM cannot run here: {why.stderr.strip()}"
        if os.environ.get("LLMREC_REQUIRE_SLURM"):
            pytest.fail(message)
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("slurm")
    started = subprocess.run(["bash", str(CLUSTER), "start", str(folder)], capture_output=True,
                             text=True, timeout=300)
    assert started.returncode == 0, started.stdout + started.stderr
    conf = str(folder / "slurm.conf")
    yield conf
    subprocess.run(["bash", str(CLUSTER), "stop", str(folder)], timeout=60)


def run(cmd: list[str], cwd: Path, env: dict, timeout: int) -> subprocess.CompletedProcess:
    """A command under a hard time limit (SIGKILL: a stuck snakemake ignores SIGTERM)."""
    result = subprocess.run(["timeout", "-s", "KILL", str(timeout), *cmd], cwd=cwd, env=env,
                            capture_output=True, text=True)
    (cwd / "logs").mkdir(exist_ok=True)
    with open(cwd / "logs" / "rehearsal-commands.log", "a") as out:
        out.write(f"$ {' '.join(cmd)}  # rc {result.returncode}\n{result.stdout}\n{result.stderr}\n")
    return result


def snakemake_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", *args]


# ---- the rehearsal's inputs, in the real formats -------------------------------------


def interactions(seed: int):
    """(user, item, day) triples: every user rates PER_USER distinct items, every item is
    rated often enough to survive a 5/5-core filter."""
    import random

    rng = random.Random(seed)
    for u in range(N_USERS):
        for k, item in enumerate(rng.sample(range(N_ITEMS), PER_USER)):
            yield u, item, 10 * k + u % 7


def amazon_files() -> tuple[bytes, bytes]:
    reviews = [
        {"overall": 5.0, "verified": True, "reviewerID": f"A{u:05d}", "asin": f"B{i:09d}",
         "reviewerName": "X", "reviewText": "Works well", "summary": "ok",
         "unixReviewTime": 1_400_000_000 + 86400 * day}
        for u, i, day in interactions(1)
    ]
    meta = [
        {"asin": f"B{i:09d}", "title": f"Camp stove {i}", "brand": f"Brand {i % 4}",
         "category": ["Sports & Outdoors", f"Gear {i % 3}"], "description": [f"Light {i}."]}
        for i in range(N_ITEMS)
    ]
    lines = lambda rows: "".join(json.dumps(r) + "\n" for r in rows).encode()  # noqa: E731
    return gzip.compress(lines(reviews), mtime=0), gzip.compress(lines(meta), mtime=0)


def write_yelp(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "yelp_academic_dataset_review.json", "w") as out:
        for n, (u, i, day) in enumerate(interactions(2)):
            out.write(json.dumps({
                "review_id": f"r{n}", "user_id": f"user{u}", "business_id": f"biz{i}",
                "stars": 4.0, "useful": 0, "funny": 0, "cool": 0, "text": "Great food!",
                "date": f"2015-{1 + day // 28:02d}-{1 + day % 28:02d} 12:00:00"}) + "\n")
    with open(folder / "yelp_academic_dataset_business.json", "w") as out:
        for i in range(N_ITEMS):
            out.write(json.dumps({
                "business_id": f"biz{i}", "name": f"Cafe {i}", "address": "1 Main St",
                "city": ["Tampa", "Reno"][i % 2], "state": ["FL", "NV"][i % 2],
                "postal_code": "33601", "latitude": 27.9, "longitude": -82.4, "stars": 4.5,
                "review_count": 9, "is_open": 1, "attributes": None,
                "categories": f"Coffee & Tea, Cafes {i % 3}", "hours": None}) + "\n")


def write_hub_model(cache: Path, repo_id: str, tokenizer, seed: int) -> None:
    """A tiny causal LM saved under `repo_id` in a Hugging Face hub cache's layout."""
    from llmrec.lm.model import tiny_causal_lm

    commit = f"{seed:040x}"
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    tiny_causal_lm(len(tokenizer), seed=seed).save_pretrained(snapshot)
    tokenizer.save_pretrained(snapshot)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)


def rehearsal_config(server) -> dict:
    """The paper experiment at tiny sizes (merged over config.yaml and the profile's
    experiment.yaml): same rules, same sources."""
    few = {"steps": 2, "batch_size": 4, "save_every": 1}
    return {
        "experiment": "paper",
        "training": {"hidden_size": 16},
        "alphafuse": {"null_dim": 4},
        "llm_esr": {"retrieved_users": 10, "similar_users": 3},
        "diagnostics": {"rho_sample_size": 16},
        "datasets": {"sports": {"reviews_url": server.url("/Sports_and_Outdoors_5.json.gz"),
                                "meta_url": server.url("/meta_Sports_and_Outdoors.json.gz")}},
        "experiments": {"paper": {
            "datasets": ["yelp", "sports"],
            "backbones": ["SASRec"],
            "seeds": [0],
            "sweeps": {"TF-LLMER": {"alpha": [0.0], "K": []}},  # one sweep runs sweep_figure
            "training": {"epochs": 2, "patience": 2, "batch_size": 32},
            "llm2rec": {"csft": {**few, "micro_batch_size": 2, "warmup": 0}, "mntp": few,
                        "simcse": {**few, "warmup": 0}, "encode": {"batch_size": 8}},
            "llmemb": {"scft": few, "encode": {"pca_dim": 8}},
        }},
    }


def fill_placeholders(workdir: Path) -> None:
    """What a user does to profiles/slurm: the account and the partitions' names (the
    cluster of tests/slurm/cluster.sh has the limits partitions.yaml lists)."""
    profile = workdir / "profiles" / "slurm"
    text = (profile / "config.yaml").read_text().replace("<account>", "rehearsal")
    (profile / "config.yaml").write_text(text)
    partitions = (profile / "partitions.yaml").read_text()
    partitions = partitions.replace("<cpu-partition>", "cpu").replace("<gpu-partition>", "gpu")
    (profile / "partitions.yaml").write_text(partitions)


@pytest.fixture(scope="module")
def rehearsal(cluster, tmp_path_factory):
    """The rehearsal's work folder, with everything in place and the profile filled in."""
    from httpserver import Server
    from test_llm_finetune import load_smollm2_tokenizer

    workdir = copy_workflow(tmp_path_factory.mktemp("rehearsal"))
    fill_placeholders(workdir)
    server = Server()
    reviews, meta = amazon_files()
    server.files["/Sports_and_Outdoors_5.json.gz"] = reviews
    server.files["/meta_Sports_and_Outdoors.json.gz"] = meta
    write_yelp(workdir / "resources" / "yelp")
    tokenizer = load_smollm2_tokenizer()
    write_hub_model(workdir / "resources" / "hub", "Qwen/Qwen2-0.5B", tokenizer, seed=1)
    write_hub_model(workdir / "resources" / "hub", "meta-llama/Llama-3.2-1B", tokenizer, seed=2)
    (workdir / "rehearsal.yaml").write_text(yaml.safe_dump(rehearsal_config(server)))
    env = {**os.environ, "SLURM_CONF": cluster, "PYTHONHASHSEED": "0",
           # no internet here: the hub cache is the only source, on the login node too
           "HF_HUB_OFFLINE": "1"}
    yield workdir, env, server
    server.close()


CONFIGFILES = ["--configfile", "profiles/slurm/experiment.yaml", "rehearsal.yaml"]


def planned_rules(output: str) -> set[str]:
    table = output.split("Job stats:")[1].split("total")[0]
    return {m[1] for m in re.finditer(r"^(\w+)\s+\d+$", table, re.M)}


def test_the_cluster_refuses_what_a_real_one_would(cluster, tmp_path):
    env = {**os.environ, "SLURM_CONF": cluster}
    sbatch = lambda *args: subprocess.run(["sbatch", *args, "--wrap", "true"], cwd=tmp_path,  # noqa: E731
                                          env=env, capture_output=True, text=True, timeout=60)
    gpu_on_cpu = sbatch("-p", "cpu", "--gpus=1")
    assert gpu_on_cpu.returncode != 0 and "has no GPUs" in gpu_on_cpu.stderr
    assert sbatch("-p", "cpu", "--mem", "200000").returncode != 0  # over MaxMemPerNode
    assert sbatch("-p", "gpu", "-t", "3000", "--gpus=1").returncode != 0  # over MaxTime
    assert sbatch("-p", "gpu", "--gpus=1", "--cpus-per-gpu=8", "--mem", "16000").returncode == 0


def test_paper_experiment_rehearsal_runs_every_rule_as_a_slurm_job(rehearsal):
    workdir, env, server = rehearsal
    started = time.monotonic()
    # the paper experiment's full graph: the rules the rehearsal must run
    full = run(snakemake_cmd("-n", "--profile", "profiles/slurm"), workdir, env, 120)
    assert full.returncode == 0, full.stderr[-3000:]
    paper_rules = planned_rules(full.stdout) - {"all"}

    # 1. the login node: everything from outside, before the cluster run
    fetch = run(snakemake_cmd("fetch", "--profile", "profiles/slurm", *CONFIGFILES, *NO_ACCOUNTING),
                workdir, env, 180)
    assert fetch.returncode == 0, fetch.stdout[-3000:] + fetch.stderr[-5000:]
    assert {path for path, _ in server.requests} == set(server.files)
    assert "submitted with SLURM jobid" not in fetch.stdout + fetch.stderr  # all local
    for model in ("qwen2-0.5b", "llama-3.2-1b"):
        assert json.loads((workdir / f"resources/hub/llmrec-fetched/{model}.json").read_text())["commit"]

    # 2. the cluster run: no server, no hub from here on
    server.files.clear()
    plan = run(snakemake_cmd("-n", "--profile", "profiles/slurm", *CONFIGFILES), workdir, env, 120)
    assert plan.returncode == 0, plan.stderr[-3000:]
    rehearsed = planned_rules(plan.stdout) - {"all"}
    assert paper_rules - rehearsed <= {"download_amazon", "fetch_model"}, paper_rules - rehearsed

    # a hang guard, not a speed target: 73 jobs, each parsing the workflow twice (sbatch
    # job and its step), take 10-13 min on 2 cores
    main = run(snakemake_cmd("--profile", "profiles/slurm", *CONFIGFILES, *NO_ACCOUNTING),
               workdir, env, 1500)
    log = main.stdout + main.stderr
    assert main.returncode == 0, log[-8000:]
    submitted = {}
    for job_id, slurm_id in re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", log):
        submitted[job_id] = slurm_id
    rules_by_job = {job: rule for rule, job in re.findall(r"rule (\w+):\n(?:    .*\n)*?    jobid: (\d+)", log)}
    submitted_rules = {rules_by_job[j] for j in submitted if j in rules_by_job}
    local = {"download_amazon", "fetch_model", "all"}
    assert rehearsed - local <= submitted_rules, rehearsed - local - submitted_rules
    assert "Finished jobid" in log or "steps (100%) done" in log
    assert not main.returncode

    tables = ["main_results", "ablation", "significance", "cost", "dataset_stats"]
    for table in tables:
        assert (workdir / f"results/tables/{table}.csv").stat().st_size > 0
    figures = list((workdir / "results/figures").glob("*.png"))
    assert len(figures) >= 8

    report = run(snakemake_cmd("--profile", "profiles/slurm", *CONFIGFILES, "--report",
                               "results/report.html"), workdir, env, 300)
    assert report.returncode == 0, report.stderr[-3000:]
    assert (workdir / "results/report.html").stat().st_size > 10_000
    print(f"rehearsal: {len(submitted)} SLURM jobs, {len(submitted_rules)} rules, "
          f"{time.monotonic() - started:.0f} s")


def test_gpu_jobs_routed_to_the_cpu_partition_fail(rehearsal):
    """The profile's routing is what keeps GPU jobs off the CPU partition: with every job
    sent to `cpu` (as the old profile did), a GPU job is refused at submission."""
    workdir, env, _ = rehearsal
    profile = (workdir / "profiles/slurm/config.yaml").read_text()
    assert "slurm_partition" not in profile
    broken = profile.replace("default-resources:\n", "default-resources:\n  slurm_partition: cpu\n")
    (workdir / "broken-profile").mkdir(exist_ok=True)
    (workdir / "broken-profile/config.yaml").write_text(broken)
    # one GPU job: (re-)encode Yelp's items with MiniLM
    result = run(snakemake_cmd("results/reps/yelp/minilm.npy", "--forcerun", "encode_items",
                               "--profile", "broken-profile", *CONFIGFILES, *NO_ACCOUNTING),
                 workdir, env, 240)
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "has no GPUs" in log, log[-4000:]
