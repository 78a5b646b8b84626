#!/usr/bin/env python
"""Test metrics of one method over several seeds and setting variants, outside the grid.

For the questions one run per cell cannot answer: is a backbone as strong as a reference
(mean and spread over seeds, not one draw), and which of a few settings is better. Each
run's settings are the workflow's own: ``config.yaml``'s ``training`` section and the
backbone's ``backbones`` entry (not an experiment's laptop overrides), then the variant's
overrides. Runs share a process pool; nothing is written under ``results/runs``. Only
methods that need no input files (RandInit) can run here.

Prints one row per variant x backbone (mean validation metric, to choose on; mean ±
sample std of the test metric over seeds; mean best epoch and wall time per run) and
writes every run to ``--out`` (CSV), atomically.

Example (three seeds of each backbone, and BERT4Rec with a higher mask ratio)::

    python tools/seed_sweep.py results/data/ml-100k \\
        --seeds 0 1 2 --variant default '{}' --variant mask0.3 '{"mask_ratio": 0.3}' \\
        --workers 2 --out results/sweeps/ml-100k.csv
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "lib"))

from llmrec.backbones import BACKBONES  # noqa: E402
ROOT = Path(__file__).resolve().parents[1]


def run_settings(config: dict, backbone: str, overrides: dict, seed: int, method: str) -> dict:
    """The workflow's settings of one run (no experiment override), then the variant's."""
    from llmrec.plan import standalone_settings

    return {**standalone_settings(config, backbone, method, seed), **overrides}


def one_run(job: dict) -> dict:
    """Train and evaluate one run in this worker; returns one flat record."""
    import torch

    from llmrec.data import processed
    from llmrec.training import train_and_evaluate

    torch.set_num_threads(job["threads"])
    data = processed.load(job["data"])
    started = time.perf_counter()
    result = train_and_evaluate(data, job["settings"]["method"], job["settings"])
    return {
        "variant": job["variant"],
        "backbone": job["settings"]["backbone"],
        "seed": job["settings"]["seed"],
        **{f"test_{k}": v for k, v in result.test_metrics.items()},
        **{f"valid_{k}": v for k, v in result.valid_metrics.items()},
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history),
        "seconds": time.perf_counter() - started,
        "seconds_per_epoch": float(result.history["epoch_seconds"].mean()),
        "device": str(next(result.model.parameters()).device),
        "overrides": json.dumps(job["overrides"], sort_keys=True),
    }


def summary(runs: pd.DataFrame, metric: str, valid_metric: str) -> pd.DataFrame:
    """Per variant x backbone: seeds, mean of the validation metric (choose on this),
    mean ± std of ``metric``, mean best epoch and time."""
    grouped = runs.groupby(["variant", "backbone"], sort=False)
    table = grouped.agg(
        seeds=("seed", "count"),
        valid=(f"valid_{valid_metric}", "mean"),
        mean=(metric, "mean"),
        std=(metric, "std"),
        best_epoch=("best_epoch", "mean"),
        seconds=("seconds", "mean"),
        s_per_epoch=("seconds_per_epoch", "mean"),
    )
    return table.rename(
        columns={"valid": f"valid_{valid_metric} mean", "mean": f"{metric} mean", "std": f"{metric} std"}
    )


def parse_variants(pairs: list[list[str]] | None) -> dict[str, dict]:
    if not pairs:
        return {"default": {}}
    variants = {}
    for name, text in pairs:
        try:
            overrides = json.loads(text)
        except json.JSONDecodeError as error:
            raise SystemExit(f"--variant {name}: overrides must be a JSON object, got {text!r} ({error})")
        if not isinstance(overrides, dict):
            raise SystemExit(f"--variant {name}: overrides must be a JSON object, got {text!r}")
        variants[name] = overrides
    return variants


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, help="processed dataset folder (results/data/<name>)")
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--backbones", nargs="+", default=list(BACKBONES), choices=BACKBONES)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--method", default="RandInit")
    parser.add_argument(
        "--variant", nargs=2, action="append", metavar=("NAME", "JSON"),
        help="a named set of setting overrides (repeatable); default: one variant without overrides",
    )  # fmt: skip
    parser.add_argument("--workers", type=int, default=1, help="runs at a time")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--metric", default="test_ndcg@10")
    parser.add_argument("--out", type=Path, help="CSV of every run")
    args = parser.parse_args(argv)

    from llmrec import io

    config = yaml.safe_load(args.config.read_text())
    variants = parse_variants(args.variant)
    jobs = [
        {
            "data": str(args.data),
            "variant": name,
            "overrides": overrides,
            "threads": args.threads,
            "settings": run_settings(config, backbone, overrides, seed, args.method),
        }
        for name, overrides in variants.items()
        for backbone in args.backbones
        for seed in args.seeds
    ]
    print(f"{len(jobs)} runs ({len(variants)} variants x {len(args.backbones)} backbones x {len(args.seeds)} seeds), "
          f"{args.workers} at a time, {args.threads} thread(s) each", flush=True)  # fmt: skip
    # spawn: CUDA cannot be used in forked children
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        records = []
        for record in pool.imap_unordered(one_run, jobs):
            records.append(record)
            print(f"  {record['variant']} {record['backbone']} seed {record['seed']}: "
                  f"{args.metric} {record[args.metric]:.4f} (best epoch {record['best_epoch']}, "
                  f"{record['seconds']:.0f} s, {record['device']})", flush=True)  # fmt: skip
    runs = pd.DataFrame(records).sort_values(["variant", "backbone", "seed"], kind="stable")
    if args.out:
        io.write_table(args.out, runs)
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format", "{:.4f}".format):
        print(summary(runs, args.metric, config["training"]["valid_metric"]))


if __name__ == "__main__":
    main()
