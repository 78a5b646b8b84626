"""Rec-PCA: PCA that also keeps co-occurring items close (TF-LLMER's second component).

Reconstruction (README, "Item representations and TF-LLMER"): with X-bar the centred (and by default
row-normalised) LLM item vectors and L a Laplacian of the training co-occurrence graph,

    max_W  tr(W^T X^T X W) - alpha * tr(W^T X^T L X W)   s.t.  W^T W = I_d,

i.e. retained variance minus alpha times the graph total variation of Z = X W. By Ky
Fan's maximum principle the optimum is the top-d eigenvectors of
M = X^T (I - alpha L) X; alpha = 0 is plain PCA. Cost: one sparse product L X, one
dense D x D Gram product and one D x D eigendecomposition; no items x items matrix.

Formulations (``tf_llmer.recpca_form``; both reconstructions, README "Item
representations and TF-LLMER"):

* ``raw`` (default): M = X^T X - alpha X^T L X, as above. With the symmetric normalised
  Laplacian, tr(L) = number of items, so for vectors that vary independently of the graph
  X^T L X is close to X^T X and M close to (1 - alpha) X^T X: nearly PCA for any alpha < 1.
* ``trace_normalized``: M = X^T X / tr(X^T X) - alpha X^T L X / tr(X^T L X): both terms
  scaled to unit trace, so alpha weighs retention against graph total variation on
  comparable scales.

Every projection also records diagnostics (:func:`diagnostics`): the principal cosines
between its subspace and the PCA subspace, both objective terms and the top eigenvalues
of X^T X and X^T L X.
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


FORMS = ("raw", "trace_normalized")


def _gram(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """left^T right through torch (MKL), symmetrised, in float64 (D x D)."""
    m = (torch.from_numpy(np.ascontiguousarray(left.T)) @ torch.from_numpy(right)).double()
    m = m.numpy()
    return (m + m.T) / 2


def terms(xbar: np.ndarray, lap: sp.spmatrix | None) -> tuple[np.ndarray, np.ndarray | None]:
    """(G, H) = (X^T X, X^T L X) in float64; H is None without a graph."""
    g = _gram(xbar, xbar)
    if lap is None:
        return g, None
    return g, _gram(xbar, lap.astype(np.float32) @ xbar)


def objective_matrix(
    xbar: np.ndarray, lap: sp.spmatrix | None, alpha: float, form: str = "raw"
) -> np.ndarray:
    """M of the formulation ``form`` (see the module docstring), float64 (D x D).

    raw: X^T (I - alpha L) X; trace_normalized: G / tr(G) - alpha H / tr(H)."""
    if form not in FORMS:
        raise ValueError(f"unknown Rec-PCA form {form!r}; use one of {FORMS}")
    if form == "trace_normalized":
        g, h = terms(xbar, lap if alpha != 0 else None)
        m = g / np.trace(g)
        if h is not None:
            trace_h = np.trace(h)
            if trace_h <= 0:
                raise ValueError("X^T L X has zero trace: the graph has no edges")
            m = m - alpha * h / trace_h
        return m
    if alpha == 0 or lap is None:
        right = xbar
    else:  # (I - alpha L) X in float32: scipy would upcast a float64 L to an N x D float64
        right = xbar - np.float32(alpha) * (lap.astype(np.float32) @ xbar)
    # one dense GEMM through torch (MKL), the only O(N D^2) step
    m = (torch.from_numpy(np.ascontiguousarray(xbar.T)) @ torch.from_numpy(right)).double()
    m = m.numpy()
    return (m + m.T) / 2


def top_eigenvectors(m: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-d eigenvalues (descending) and eigenvectors of a symmetric matrix, each
    eigenvector's sign fixed (largest-magnitude entry positive) for determinism."""
    # torch's eigh (MKL, divide and conquer) is several times faster here than scipy's
    values, vectors = torch.linalg.eigh(torch.from_numpy(m))
    values, vectors = values.numpy()[::-1][:d], vectors.numpy()[:, ::-1][:, :d]
    signs = np.sign(vectors[np.abs(vectors).argmax(axis=0), np.arange(d)])
    return values.copy(), vectors * np.where(signs == 0, 1, signs)


def rec_pca(
    x: np.ndarray,
    lap: sp.spmatrix | None,
    d: int,
    alpha: float,
    pre_l2norm: bool = True,
    center: bool = True,
    form: str = "raw",
) -> Projection:
    """Top-d Rec-PCA projection of item vectors ``x`` (N x D); ``alpha=0`` is PCA."""
    if not 1 <= d <= x.shape[1]:
        raise ValueError(f"output dimension d={d} must lie in 1..{x.shape[1]}")
    if lap is not None and lap.shape != (x.shape[0], x.shape[0]):
        raise ValueError(f"Laplacian shape {lap.shape} does not match {x.shape[0]} items")
    xbar, mean = prepare(x, pre_l2norm, center)
    m = objective_matrix(xbar, lap, alpha, form)
    values, vectors = top_eigenvectors(m, d)
    z = xbar @ vectors.astype(np.float32)
    return Projection(z=z, w=vectors, eigenvalues=values, mean=mean)


def objective(
    xbar: np.ndarray, lap: sp.spmatrix | None, w: np.ndarray, alpha: float, form: str = "raw"
) -> float:
    """The objective of ``form`` for a given W (for checks): raw: tr(W^T X^T X W) -
    alpha tr(W^T X^T L X W); trace_normalized: each term divided by the trace of its
    matrix (tr(X^T X), tr(X^T L X))."""
    x64 = xbar.astype(np.float64)
    z = x64 @ w
    retention = float(np.sum(z * z))
    tv = 0.0 if lap is None else graph.total_variation(z, lap)
    if form == "raw":
        return retention - alpha * tv
    if form != "trace_normalized":
        raise ValueError(f"unknown Rec-PCA form {form!r}; use one of {FORMS}")
    value = retention / float(np.sum(x64 * x64))
    if lap is not None and alpha != 0:
        value -= alpha * tv / graph.total_variation(x64, lap)
    return value


def principal_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosines of the principal angles between the column spans of two orthonormal
    bases (descending; 1 = a shared direction)."""
    return np.clip(np.linalg.svd(a.T @ b, compute_uv=False), 0.0, 1.0)


def diagnostics(xbar: np.ndarray, lap: sp.spmatrix | None, w: np.ndarray, top: int = 10) -> dict:
    """Why a projection is (or is not) PCA: principal cosines between span(W) and the PCA
    subspace of the same dimension; both objective terms, retention tr(W^T G W) and graph
    total variation tr(W^T H W), with G = X^T X and H = X^T L X; the retained variance
    fraction tr(W^T G W) / tr(G); and the top eigenvalues of G and H. Without a graph the
    H entries are None."""
    g, h = terms(xbar, lap)
    d = w.shape[1]
    g_values, pca = top_eigenvectors(g, d)
    cosines = principal_cosines(pca, w)
    retention = float(np.trace(w.T @ g @ w))
    out = {
        "pca_principal_cosines": [float(c) for c in cosines],
        "pca_mean_principal_cosine": float(cosines.mean()),
        "pca_min_principal_cosine": float(cosines.min()),
        "retention": retention,
        "retained_variance_fraction": retention / float(np.trace(g)),
        "pca_retention": float(g_values.sum()),
        "trace_xtx": float(np.trace(g)),
        "top_eigenvalues_xtx": [float(v) for v in np.linalg.eigvalsh(g)[::-1][:top]],
        "graph_total_variation": None,
        "trace_xtlx": None,
        "top_eigenvalues_xtlx": None,
    }
    if h is not None:
        out.update(
            graph_total_variation=float(np.trace(w.T @ h @ w)),
            pca_graph_total_variation=float(np.trace(pca.T @ h @ pca)),
            trace_xtlx=float(np.trace(h)),
            top_eigenvalues_xtlx=[float(v) for v in np.linalg.eigvalsh(h)[::-1][:top]],
        )
    return out


def reduce_for_dataset(
    train_sequences, n_items: int, x: np.ndarray, d: int, alpha: float, settings: dict
) -> tuple[Projection, dict]:
    """Rec-PCA of a dataset's LLM item vectors over its *training* co-occurrence graph.

    ``train_sequences`` must be the training parts only (``SequenceData.train_sequences``),
    so that no validation or test item shapes the graph. ``settings``: ``K``,
    ``k_mode`` (topk | window), ``window``, ``laplacian`` (sym | unnorm | rw),
    ``pre_l2norm``, ``center``, ``recpca_form`` (raw | trace_normalized). ``alpha = 0`` is
    vanilla PCA and builds no graph. Returns the projection and a summary (graph size,
    total variation of the output, and :func:`diagnostics`).
    """
    if x.shape[0] != n_items:
        raise ValueError(f"item vectors have {x.shape[0]} rows, the dataset {n_items} items")
    form = settings["recpca_form"]
    info: dict = {"alpha": alpha, "d": d, "input_dim": int(x.shape[1]), "recpca_form": form}
    lap = None
    if alpha != 0:
        a = graph.build_graph(
            train_sequences,
            n_items,
            k=int(settings["K"]),
            k_mode=settings["k_mode"],
            window=int(settings["window"]),
        )
        lap = graph.laplacian(a, settings["laplacian"])
        degree = np.asarray(a.sum(axis=1)).ravel()
        info.update(
            K=int(settings["K"]),
            k_mode=settings["k_mode"],
            window=int(settings["window"]),
            laplacian=settings["laplacian"],
            graph_edges=int(a.nnz // 2),
            isolated_items=int((degree == 0).sum()),
        )
    pre_l2norm, center = settings["pre_l2norm"], settings["center"]
    proj = rec_pca(x, lap, d, alpha, pre_l2norm, center, form)
    if lap is not None:
        info["output_total_variation"] = graph.total_variation(proj.z, lap)
    info["retained_variance"] = float(proj.eigenvalues.sum())  # sum of M's top eigenvalues
    xbar, _ = prepare(x, pre_l2norm, center)
    info.update(diagnostics(xbar, lap, proj.w.astype(np.float64)))
    return proj, info


def alpha_curve(
    xbar: np.ndarray,
    lap: sp.spmatrix,
    d: int,
    alphas: list[float],
    forms: tuple[str, ...] = FORMS,
) -> list[dict]:
    """How far from PCA each formulation moves as alpha grows: one record per form x
    alpha with the mean and min principal cosine to the PCA subspace, the retained
    variance fraction tr(W^T G W) / tr(G) and the graph-TV fraction tr(W^T H W) / tr(H)
    (G = X^T X, H = X^T L X, computed once; each point is one D x D eigendecomposition)."""
    g, h = terms(xbar, lap)
    trace_g, trace_h = float(np.trace(g)), float(np.trace(h))
    _, pca = top_eigenvectors(g, d)
    rows = []
    for form in forms:
        for alpha in alphas:
            if form == "raw":
                m = g - alpha * h
            elif form == "trace_normalized":
                m = g / trace_g - alpha * h / trace_h
            else:
                raise ValueError(f"unknown Rec-PCA form {form!r}; use one of {FORMS}")
            _, w = top_eigenvectors(m, d)
            cosines = principal_cosines(pca, w)
            rows.append(
                {
                    "form": form,
                    "alpha": float(alpha),
                    "mean_principal_cosine": float(cosines.mean()),
                    "min_principal_cosine": float(cosines.min()),
                    "retained_variance_fraction": float(np.trace(w.T @ g @ w)) / trace_g,
                    "graph_tv_fraction": float(np.trace(w.T @ h @ w)) / trace_h,
                }
            )
    return rows
