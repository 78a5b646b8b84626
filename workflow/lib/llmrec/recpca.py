"""Rec-PCA: PCA that also keeps co-occurring items close (TF-LLMER's second component).

Reconstruction (paper-spec §1.2, Step C): with X-bar the centred (and by default
row-normalised) LLM item vectors and L a Laplacian of the training co-occurrence graph,

    max_W  tr(W^T X^T X W) - alpha * tr(W^T X^T L X W)   s.t.  W^T W = I_d,

i.e. retained variance minus alpha times the graph total variation of Z = X W. By Ky
Fan's maximum principle the optimum is the top-d eigenvectors of
M = X^T (I - alpha L) X; alpha = 0 is plain PCA. Cost: one sparse product L X, one
dense D x D Gram product and one D x D eigendecomposition; no items x items matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from . import graph


@dataclass(frozen=True)
class Projection:
    z: np.ndarray  # (N, d) projected item vectors, float32
    w: np.ndarray  # (D, d) orthonormal columns
    eigenvalues: np.ndarray  # (d,) of M, descending
    mean: np.ndarray  # (D,) the subtracted mean (zeros if not centred)


def prepare(x: np.ndarray, pre_l2norm: bool = True, center: bool = True):
    """Row-normalise (removes the norm disparity before the reduction), then centre."""
    x = np.array(x, dtype=np.float32)  # one working copy, modified in place below
    if not np.isfinite(x).all():
        raise ValueError("item vectors contain NaN or infinite values")
    if pre_l2norm:
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        if (norms == 0).any():
            raise ValueError(f"item rows {np.flatnonzero(norms.ravel() == 0)[:5]} are all zero")
        x /= norms
    mean = x.mean(axis=0) if center else np.zeros(x.shape[1], dtype=np.float32)
    x -= mean
    return x, mean


def objective_matrix(xbar: np.ndarray, lap: sp.spmatrix | None, alpha: float) -> np.ndarray:
    """M = X^T (I - alpha L) X, symmetrised, in float64 (D x D)."""
    if alpha == 0 or lap is None:
        right = xbar
    else:  # (I - alpha L) X in float32: scipy would upcast a float64 L to an N x D float64
        right = xbar - np.float32(alpha) * (lap.astype(np.float32) @ xbar)
    # one dense GEMM through torch (MKL), the only O(N D^2) step
    m = (torch.from_numpy(np.ascontiguousarray(xbar.T)) @ torch.from_numpy(right)).double()
    m = m.numpy()
    return (m + m.T) / 2


def rec_pca(
    x: np.ndarray,
    lap: sp.spmatrix | None,
    d: int,
    alpha: float,
    pre_l2norm: bool = True,
    center: bool = True,
) -> Projection:
    """Top-d Rec-PCA projection of item vectors ``x`` (N x D); ``alpha=0`` is PCA."""
    if not 1 <= d <= x.shape[1]:
        raise ValueError(f"output dimension d={d} must lie in 1..{x.shape[1]}")
    if lap is not None and lap.shape != (x.shape[0], x.shape[0]):
        raise ValueError(f"Laplacian shape {lap.shape} does not match {x.shape[0]} items")
    xbar, mean = prepare(x, pre_l2norm, center)
    m = objective_matrix(xbar, lap, alpha)
    # torch's eigh (MKL, divide and conquer) is several times faster here than scipy's
    values, vectors = torch.linalg.eigh(torch.from_numpy(m))
    values, vectors = values.numpy()[::-1][:d], vectors.numpy()[:, ::-1][:, :d]
    # fix each eigenvector's sign (largest-magnitude entry positive) for determinism
    signs = np.sign(vectors[np.abs(vectors).argmax(axis=0), np.arange(d)])
    vectors = vectors * np.where(signs == 0, 1, signs)
    z = xbar @ vectors.astype(np.float32)
    return Projection(z=z, w=vectors, eigenvalues=values, mean=mean)


def objective(xbar: np.ndarray, lap: sp.spmatrix | None, w: np.ndarray, alpha: float) -> float:
    """tr(W^T X^T X W) - alpha tr(W^T X^T L X W) for a given W (for checks)."""
    z = xbar.astype(np.float64) @ w
    tv = 0.0 if lap is None else graph.total_variation(z, lap)
    return float(np.sum(z * z)) - alpha * tv


def reduce_for_dataset(
    train_sequences, n_items: int, x: np.ndarray, d: int, alpha: float, settings: dict
) -> tuple[Projection, dict]:
    """Rec-PCA of a dataset's LLM item vectors over its *training* co-occurrence graph.

    ``train_sequences`` must be the training parts only (``SequenceData.train_sequences``),
    so that no validation or test item shapes the graph. ``settings``: ``K``,
    ``k_mode`` (topk | window), ``window``, ``laplacian`` (sym | unnorm | rw),
    ``pre_l2norm``, ``center``. ``alpha = 0`` is vanilla PCA and builds no graph.
    Returns the projection and a summary (graph size, total variation of the output).
    """
    if x.shape[0] != n_items:
        raise ValueError(f"item vectors have {x.shape[0]} rows, the dataset {n_items} items")
    info: dict = {"alpha": alpha, "d": d, "input_dim": int(x.shape[1])}
    lap = None
    if alpha != 0:
        a = graph.build_graph(
            train_sequences,
            n_items,
            k=int(settings["K"]),
            k_mode=settings.get("k_mode", "topk"),
            window=int(settings.get("window", 1)),
        )
        lap = graph.laplacian(a, settings.get("laplacian", "sym"))
        degree = np.asarray(a.sum(axis=1)).ravel()
        info.update(
            K=int(settings["K"]),
            k_mode=settings.get("k_mode", "topk"),
            window=int(settings.get("window", 1)),
            laplacian=settings.get("laplacian", "sym"),
            graph_edges=int(a.nnz // 2),
            isolated_items=int((degree == 0).sum()),
        )
    proj = rec_pca(
        x, lap, d, alpha, settings.get("pre_l2norm", True), settings.get("center", True)
    )
    if lap is not None:
        info["output_total_variation"] = graph.total_variation(proj.z, lap)
    info["retained_variance"] = float(proj.eigenvalues.sum())
    return proj, info
