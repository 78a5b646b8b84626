#!/usr/bin/env python
"""Time of each LLM fine-tuning stage (LLM2Rec CSFT, MNTP, SimCSE, encode; LLMEmb SCFT,
encode) per step, with the batch settings of ``config.yaml``, to size a cluster job.

It runs the workflow's own stage functions (``llmrec.lm``) for a few steps each on a
processed dataset and prints, per stage: wall time, seconds per step, the projected time
of the configured number of steps, loss of the first and last step, and peak GPU memory.

The model is a model folder (``--model``), or, to measure a model that is not at hand
(the paper's Qwen2-0.5B or Llama-3.2-1B on a node without hub access), an architecture:
``--architecture config.json`` plus a tokenizer folder (``--tokenizer``) builds that
architecture with random weights. Random weights time and size a stage exactly as the
real ones do (same shapes and kernels); their losses mean nothing.

Example (on a GPU node; the paper experiment's LLM2Rec settings, 3 steps per stage)::

    python tools/benchmark_finetune.py results/data/ml-100k \\
        --model results/models/smollm2 --steps 3 --dtype bfloat16 --device cuda
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "lib"))

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("csft", "mntp", "simcse", "llm2rec_encode", "scft", "llmemb_encode")


def random_weight_model(architecture: Path, tokenizer_dir: Path, out: Path, seed: int = 0) -> Path:
    """A model folder of ``architecture`` (a transformers config.json) with random weights."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    config = AutoConfig.from_pretrained(architecture)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(tokenizer_dir).save_pretrained(out)
    return out


def peak_gpu_mib(device: str) -> float | None:
    if not torch.cuda.is_available() or not str(device).startswith(("cuda", "auto")):
        return None
    return torch.cuda.max_memory_allocated() / 2**20


def reset_peak() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, help="processed dataset folder (results/data/<name>)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", type=Path, help="model folder")
    source.add_argument("--architecture", type=Path, help="config.json: random weights of this architecture")
    parser.add_argument("--tokenizer", type=Path, help="tokenizer folder (with --architecture)")
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml", help="llm2rec/llmemb settings")
    parser.add_argument("--steps", type=int, default=3, help="steps per training stage")
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default=None, help="float32 | bfloat16 (default: the config's)")
    parser.add_argument(
        "--set", type=json.loads, default={},
        help='JSON overrides per config section, e.g. \'{"llm2rec": {"simcse": {"batch_size": 64}}}\'',
    )  # fmt: skip
    parser.add_argument("--out", type=Path, help="CSV of the per-stage figures")
    args = parser.parse_args(argv)
    if args.architecture and not args.tokenizer:
        parser.error("--architecture needs --tokenizer")

    from llmrec import io
    from llmrec.config import finetune_section
    from llmrec.lm import llm2rec, llmemb
    from llmrec.lm.loop import resolve

    config = yaml.safe_load(args.config.read_text())
    common = {"device": args.device, **({"dtype": args.dtype} if args.dtype else {})}
    # the configured settings, with each training stage cut to --steps and no checkpoints
    settings = {
        name: resolve(finetune_section(config, name), {**common, **args.set.get(name, {})})
        for name in ("llm2rec", "llmemb")
    }
    full_steps = {stage: settings["llm2rec"][stage]["steps"] for stage in llm2rec.STAGES}
    full_steps["scft"] = settings["llmemb"]["scft"]["steps"]
    for section, stages in (("llm2rec", llm2rec.STAGES), ("llmemb", ("scft",))):
        for stage in stages:
            settings[section][stage] = {**settings[section][stage], "steps": args.steps, "save_every": None}

    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        model = args.model or random_weight_model(args.architecture, args.tokenizer, scratch / "model")
        previous = model  # each LLM2Rec stage starts from the last one's output, as the rules do
        for stage in args.stages:
            reset_peak()
            started = time.perf_counter()
            if stage in llm2rec.STAGES:
                record = getattr(llm2rec, stage)(args.data, previous, scratch / stage, settings["llm2rec"])
                previous = scratch / stage
            elif stage == "llm2rec_encode":
                record = llm2rec.encode(args.data, previous, scratch / "llm2rec.npy", settings["llm2rec"])
            elif stage == "scft":
                record = llmemb.scft(args.data, model, scratch / "scft", settings["llmemb"])
            else:
                if not (scratch / "scft").is_dir():
                    parser.error("llmemb_encode needs the scft stage first")
                record = llmemb.encode(args.data, model, scratch / "scft", scratch / "llmemb.npy", settings["llmemb"])
            wall = time.perf_counter() - started
            per_step = record.get("seconds_per_step")
            rows.append({
                "stage": stage,
                "wall_s": wall,
                "s_per_step": per_step,
                "configured_steps": full_steps.get(stage),
                "projected_h": per_step * full_steps[stage] / 3600 if per_step and stage in full_steps else None,
                "loss_first": record.get("loss_first"),
                "loss_last": record.get("loss_last"),
                "peak_gpu_mib": peak_gpu_mib(record.get("device", args.device)),
                "device": record.get("device"),
            })  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
    table = pd.DataFrame(rows).set_index("stage")
    if args.out:
        io.write_table(args.out, table.reset_index())
    name = args.model or f"{args.architecture} (random weights)"
    print(f"model {name}, dtype {settings['llm2rec']['dtype']}, {args.steps} steps per stage")
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format", "{:.3f}".format):
        print(table)


if __name__ == "__main__":
    main()
