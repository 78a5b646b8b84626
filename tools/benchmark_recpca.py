"""Benchmark (not a test): Rec-PCA time and peak memory at the paper's scale.

Synthetic data: N items x D dims LLM-like vectors (anisotropic, with norm disparity) and
a co-occurrence graph from random power-law sequences, top-K sparsified.

    python tools/benchmark_recpca.py --items 100000 --dim 4096
"""

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "lib"))
from llmrec import graph, recpca  # noqa: E402


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--dim", type=int, default=4096)
    p.add_argument("--d", type=int, default=64)
    p.add_argument("--users", type=int, default=200_000)
    p.add_argument("--seq-len", type=int, default=10)
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--alpha", type=float, default=0.5)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)

    t0 = time.perf_counter()
    basis = rng.standard_normal((64, args.dim), dtype=np.float32)
    x = rng.standard_normal((args.items, 64), dtype=np.float32) @ basis
    x += 0.1 * rng.standard_normal((args.items, args.dim), dtype=np.float32)
    x *= rng.lognormal(0, 0.5, size=(args.items, 1)).astype(np.float32)
    popularity = rng.zipf(1.3, size=args.users * args.seq_len) % args.items + 1
    seqs = np.split(popularity, args.users)
    t_data = time.perf_counter() - t0
    print(f"synthetic data: {args.items} x {args.dim}, {args.users} sequences ({t_data:.1f} s)")
    print(f"peak RSS after data: {peak_rss_gib():.2f} GiB")

    t0 = time.perf_counter()
    a = graph.build_graph(seqs, args.items, k=args.k, k_mode="topk", window=1)
    lap = graph.laplacian(a, "sym")
    t_graph = time.perf_counter() - t0
    print(f"graph: nnz={a.nnz:,} ({t_graph:.1f} s)")

    t0 = time.perf_counter()
    proj = recpca.rec_pca(x, lap, args.d, args.alpha)
    t_pca = time.perf_counter() - t0
    print(f"Rec-PCA (d={args.d}, alpha={args.alpha}, {args.threads} threads): {t_pca:.1f} s")
    print(f"peak RSS: {peak_rss_gib():.2f} GiB; output {proj.z.shape} {proj.z.dtype}")
    print(f"target: Rec-PCA under 60 s -> {'met' if t_pca < 60 else 'NOT met'}")


if __name__ == "__main__":
    main()
