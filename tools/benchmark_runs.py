#!/usr/bin/env python
"""Wall time of whole training jobs, as the workflow runs them (README, "Run time").

For each backbone x method it runs the workflow's own `train` job (Snakemake, the rule's
script, one thread) in a scratch folder whose `results/` links to this checkout's inputs
(processed data, item vectors, similar users, ...), so the checkout's results are never
touched. Build those inputs first (e.g. `make run`, or the upstream targets). It prints,
per job: the job's wall seconds as Snakemake's `benchmark:` measures them (the script's
process: interpreter start, imports, training, evaluation, writing), the epochs run, the
median seconds of one epoch (training + validation), the test NDCG@10, and the job's
seconds divided by those of RandInit on the same backbone.

Example (pin it to one core on a shared machine)::

    taskset -c 0 .venv/bin/python tools/benchmark_runs.py --methods RandInit LLM-ESR
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
BACKBONES = ("SASRec", "GRU4Rec", "BERT4Rec")
# results/ folders a training job reads
INPUT_FOLDERS = ("data", "reps", "llm_esr", "recpca")


def scratch_folder(root: Path, dataset: str) -> Path:
    """A working folder whose results/<input folder> are links to the checkout's, with
    copies of the RandInit runs (LLMEmb aligns to their item tables)."""
    (root / "results" / "runs").mkdir(parents=True)
    for name in INPUT_FOLDERS:
        if (REPO / "results" / name).exists():
            (root / "results" / name).symlink_to(REPO / "results" / name, target_is_directory=True)
    for run in (REPO / "results" / "runs" / dataset).glob("*/RandInit"):
        shutil.copytree(run, root / "results" / "runs" / run.relative_to(REPO / "results" / "runs"))
    shutil.copy(REPO / "config.yaml", root / "config.yaml")
    return root


def run_job(root: Path, dataset: str, backbone: str, method: str, seed: int, config: list[str]) -> dict:
    run = f"{dataset}/{backbone}/{method}/seed{seed}"
    target = f"results/runs/{run}/metrics.json"
    runs = root / "results" / "runs"
    shutil.rmtree(runs / run, ignore_errors=True)
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(root), "--cores", "1", "--allowed-rules", "train",
        *(["--config", *config] if config else []), "--", target,
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    invocation = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{run}: snakemake failed (rc {done.returncode}):\n{done.stderr[-4000:]}")
    with open(root / "benchmarks" / "train" / f"{dataset}/{backbone}/{method}/seed{seed}.tsv") as f:
        job_seconds = float(next(csv.DictReader(f, delimiter="\t"))["s"])
    metrics = json.loads((runs / run / "metrics.json").read_text())
    history = pd.read_csv(runs / run / "history.csv")
    return {
        "backbone": backbone,
        "method": method,
        "job_s": job_seconds,
        "snakemake_s": round(invocation, 2),
        "epochs": metrics["epochs_run"],
        "best_epoch": metrics["best_epoch"],
        "epoch_s_median": round(float(history["epoch_seconds"].median()), 3),
        "test_ndcg@10": round(metrics["test"]["ndcg@10"], 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--backbones", nargs="+", default=list(BACKBONES), choices=BACKBONES)
    parser.add_argument("--methods", nargs="+", default=["RandInit", "LLM-ESR"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--config", nargs="*", default=[], help="extra --config KEY=VALUE of the jobs")
    parser.add_argument("--keep", type=Path, default=None, help="keep the scratch folder here")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="benchmark-runs-")) if args.keep is None else args.keep
    scratch_folder(root, args.dataset)
    rows = []
    try:
        for backbone in args.backbones:
            for method in args.methods:
                rows.append(run_job(root, args.dataset, backbone, method, args.seed, args.config))
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    table = pd.DataFrame(rows)
    randinit = table[table["method"] == "RandInit"].set_index("backbone")["job_s"]
    table["x_randinit"] = (table["job_s"] / table["backbone"].map(randinit)).round(2)
    print(f"dataset {args.dataset}, seed {args.seed}, one thread per job; job_s = Snakemake's benchmark: s")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
