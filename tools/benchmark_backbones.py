#!/usr/bin/env python
"""Speed and memory of the backbones' training and evaluation on this machine.

For each backbone on a dataset (a RecBole ``.inter`` file such as ml-100k, or a
processed dataset folder), trained with the workflow's settings (``config.yaml``'s
``training`` section and the backbone's entry; ``--settings`` overrides), it prints:
seconds per training epoch, training sequences per second, full-ranking evaluation time
(test split), peak resident memory, the epoch's FLOPs (counted by torch's
FlopCounterMode), the FLOP floor of an epoch at this machine's measured matrix-product
rate, and the ratio epoch time / floor. Finally it measures peak
memory of one training step on synthetic data with a large catalogue (60k items).

``--device cuda`` measures on the GPU instead: timings wait for the GPU to finish, the
matrix-product rate is the GPU's (float32, torch's default TF32 setting), and peak memory
is the GPU memory torch allocated (what sizes the batch there).

Every measurement runs in its own child process, so that peak memory is per backbone.

Example::

    python tools/benchmark_backbones.py \\
        .venv/lib/python3.11/site-packages/recbole/dataset_example/ml-100k/ml-100k.inter
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "lib"))
from llmrec.plan import standalone_settings  # noqa: E402
from llmrec.data import processed
from llmrec.data.processed import SequenceData
from llmrec.training import (
    EvaluationSet,
    build_model,
    evaluate,
    make_optimizer,
    resolve_settings,
    train_one_epoch,
    training_rows,
)
from llmrec.training.runtime import keep_freed_memory, make_generator, seed_everything

from llmrec.backbones import BACKBONES  # noqa: E402


def load_dataset(path: Path) -> SequenceData:
    """A processed folder, or a RecBole atomic ``.inter`` file (chronological per user,
    ties in file order; item ids numbered by first appearance)."""
    if path.is_dir():
        return processed.load(path)
    frame = pd.read_csv(path, sep="\t")
    frame.columns = [c.split(":")[0] for c in frame.columns]
    item_ids = {raw: i + 1 for i, raw in enumerate(pd.unique(frame["item_id"]))}
    frame["item"] = frame["item_id"].map(item_ids)
    frame = frame.sort_values(["user_id", "timestamp"], kind="stable")
    sequences = tuple(g["item"].to_numpy(np.int64) for _, g in frame.groupby("user_id", sort=True))
    return SequenceData(path.stem, len(item_ids), sequences, tuple("" for _ in item_ids))


def synthetic_dataset(n_users: int, n_items: int, length: int, seed: int = 0) -> SequenceData:
    rng = np.random.default_rng(seed)
    sequences = tuple(rng.integers(1, n_items + 1, size=length) for _ in range(n_users))
    return SequenceData("synthetic", n_items, sequences, tuple("" for _ in range(n_items)))


def matmul_gflops(device: torch.device, size: int = 2048, repeats: int = 10) -> float:
    """Best-of-``repeats`` fp32 GFLOP/s of one size x size matrix product."""
    if device.type == "cuda":
        size *= 4  # a 2048^3 product is too short to time on a GPU
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    a @ b
    best = min(_timed(lambda: a @ b, device)[1] for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def _timed(fn, device: torch.device):
    _synchronize(device)
    start = time.perf_counter()
    out = fn()
    _synchronize(device)
    return out, time.perf_counter() - start


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_memory_mib(device: torch.device) -> float:
    """Peak resident memory of this process (CPU), or peak allocated GPU memory (CUDA)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def measure_backbone(data: SequenceData, backbone: str, settings: dict, epochs: int, device: torch.device) -> dict:
    """Train ``epochs`` epochs (after one warm-up epoch) and evaluate once; time them."""
    settings = resolve_settings({**settings, "backbone": backbone, "device": str(device)})
    keep_freed_memory()
    seed_everything(0)
    model = build_model(data.n_items, settings).to(device)
    optimizer = make_optimizer(model, settings)
    generator = make_generator(0, device)
    rows = training_rows(data, model, settings["train_windows"], device, settings["window_stride"])
    train_one_epoch(model, optimizer, rows, generator, settings)  # warm-up (lazy imports, allocator)
    epoch_seconds = [
        _timed(lambda: train_one_epoch(model, optimizer, rows, generator, settings), device)[1]
        for _ in range(epochs)
    ]
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        train_one_epoch(model, optimizer, rows, generator, settings)
    test = EvaluationSet.build(*data.test_split(), model.history_length, device)
    evaluate(model, test)  # warm-up
    _, eval_seconds = _timed(lambda: evaluate(model, test), device)
    labelled = int((model.training_pairs(rows.rows, generator)[1] > 0).sum())
    return {
        "backbone": backbone,
        "rows": len(rows),
        "labelled_positions": labelled,
        "epoch_s_min": min(epoch_seconds),
        "epoch_s_median": float(np.median(epoch_seconds)),
        "sequences_per_s": len(rows) / min(epoch_seconds),
        "eval_s": eval_seconds,
        "epoch_gflop": counter.get_total_flops() / 1e9,
        "peak_mem_mib": peak_memory_mib(device),
    }


def measure_large_catalogue_step(n_items: int, settings: dict, backbone: str, device: torch.device) -> dict:
    """Peak memory of one training step with ``n_items`` items (synthetic sequences)."""
    settings = resolve_settings({**settings, "backbone": backbone, "device": str(device)})
    keep_freed_memory()
    data = synthetic_dataset(settings["batch_size"], n_items, settings["max_len"] + 3)
    model = build_model(n_items, settings).to(device)
    optimizer = make_optimizer(model, settings)
    rows = training_rows(data, model, "last", device)
    before = peak_memory_mib(device)
    _, seconds = _timed(
        lambda: train_one_epoch(model, optimizer, rows, make_generator(0, device), settings), device
    )
    return {
        "backbone": backbone,
        "n_items": n_items,
        "step_s": seconds,
        "mem_before_step_mib": before,
        "peak_mem_mib": peak_memory_mib(device),
        "max_logit_elements": settings["max_logit_elements"],
    }


def run_child(args: argparse.Namespace, job: dict) -> dict:
    command = [sys.executable, __file__, str(args.data), "--job", json.dumps(job), "--threads", str(args.threads),
               "--device", args.device]  # fmt: skip
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, help="RecBole .inter file or processed dataset folder")
    parser.add_argument("--backbones", nargs="+", default=list(BACKBONES), choices=BACKBONES)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per backbone (after one warm-up)")
    parser.add_argument("--config", type=Path, default=Path(__file__).resolve().parents[1] / "config.yaml")
    parser.add_argument("--settings", type=json.loads, default={}, help="JSON settings overrides")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--large-items", type=int, default=60_000)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--job", type=json.loads, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    if args.job is not None:  # child process: one measurement, JSON on stdout
        job = args.job
        if job["kind"] == "backbone":
            result = measure_backbone(load_dataset(args.data), job["backbone"], job["settings"], job["epochs"], device)
        else:
            result = measure_large_catalogue_step(job["n_items"], job["settings"], job["backbone"], device)
        print(json.dumps(result))
        return

    rate_before = matmul_gflops(device)
    data = load_dataset(args.data)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{args.threads} threads"
    print(f"torch {torch.__version__}, {where}")
    print(f"data {data.name}: {data.n_users} users, {data.n_items} items, {data.n_interactions} interactions")
    config = yaml.safe_load(args.config.read_text())

    def settings_of(backbone: str) -> dict:
        return {**standalone_settings(config, backbone), **args.settings}

    results = [
        run_child(args, {"kind": "backbone", "backbone": b, "settings": settings_of(b), "epochs": args.epochs})
        for b in args.backbones
    ]
    # The rate is measured before and after the epochs and the higher one is used: on a
    # shared or virtual machine a single measurement can catch a slow moment, and a low
    # rate would flatter the ratio.
    rate_after = matmul_gflops(device)
    gflops = max(rate_before, rate_after)
    print(f"matmul rate {gflops:.1f} GFLOP/s (fp32; before the epochs {rate_before:.1f}, after {rate_after:.1f})")
    rows = [
        {**r, "floor_s": r["epoch_gflop"] / gflops, "ratio": r["epoch_s_min"] / (r["epoch_gflop"] / gflops)}
        for r in results
    ]
    table = pd.DataFrame(rows).set_index("backbone")
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format", "{:.3f}".format):
        print(table)
    large_settings = settings_of("SASRec")
    large = run_child(args, {"kind": "large", "n_items": args.large_items, "settings": large_settings, "backbone": "SASRec"})
    print(
        f"one SASRec training step, {large['n_items']} items, batch {resolve_settings(large_settings)['batch_size']}: "
        f"{large['step_s']:.2f} s, peak {'GPU memory' if device.type == 'cuda' else 'RSS'} "
        f"{large['peak_mem_mib']:.0f} MiB (before the step {large['mem_before_step_mib']:.0f} MiB; logits chunk budget "
        f"{large['max_logit_elements']} elements)"
    )


if __name__ == "__main__":
    main()
