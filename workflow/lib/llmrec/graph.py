"""Item-item co-occurrence graph from training sequences, and its Laplacians.

Reconstruction (README, "Item representations and TF-LLMER"): the paper says only "an item-item co-occurrence graph
constructed from interaction histories". Here two items are linked when they occur
within ``window`` positions of each other in a user's *training* sequence (validation
and test items are never seen), weighted by how often that happens, symmetric, with a
zero diagonal. ``K`` (the paper's swept hyper-parameter, 1/3/5/7/9) is read either as
each item's top-K neighbours by weight (``k_mode='topk'``) or as the window itself
(``k_mode='window'``). Everything stays sparse: no dense items x items matrix.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import scipy.sparse as sp


def cooccurrence(sequences: Sequence[np.ndarray], n_items: int, window: int) -> sp.csr_matrix:
    """Symmetric count matrix A (n_items x n_items, row i-1 = item id i).

    ``A[i, j]`` counts the pairs of positions (t, t + o), 1 <= o <= window, in the same
    sequence holding items i and j (in either order). Repeats of one item add nothing.
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    items = np.concatenate([np.asarray(s, dtype=np.int64) for s in sequences]) if len(
        sequences
    ) else np.zeros(0, dtype=np.int64)
    if items.size and (items.min() < 1 or items.max() > n_items):
        raise ValueError(f"item ids must lie in 1..{n_items}")
    owner = np.repeat(np.arange(len(lengths)), lengths)
    rows, cols = [], []
    for offset in range(1, min(window, max(int(lengths.max(initial=0)) - 1, 0)) + 1):
        same = owner[:-offset] == owner[offset:]
        rows.append(items[:-offset][same] - 1)
        cols.append(items[offset:][same] - 1)
    r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    directed = sp.coo_matrix((np.ones(r.size), (r, c)), shape=(n_items, n_items)).tocsr()
    a = (directed + directed.T).tocsr()
    a.setdiag(0)
    a.eliminate_zeros()
    return a


def top_k_neighbours(a: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep each item's k strongest links (ties: lower item id first), symmetrise by max."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    coo = a.tocoo()
    order = np.lexsort((coo.col, -coo.data, coo.row))  # by row, weight desc, column
    row, col, w = coo.row[order], coo.col[order], coo.data[order]
    starts = np.searchsorted(row, row, side="left")
    keep = (np.arange(row.size) - starts) < k
    kept = sp.csr_matrix((w[keep], (row[keep], col[keep])), shape=a.shape)
    return kept.maximum(kept.T).tocsr()


def build_graph(
    sequences: Sequence[np.ndarray], n_items: int, k: int, k_mode: str = "topk", window: int = 1
) -> sp.csr_matrix:
    """The TF-LLMER graph for one K: top-K over a ``window`` graph, or window = K."""
    if k_mode == "topk":
        return top_k_neighbours(cooccurrence(sequences, n_items, window), k)
    if k_mode == "window":
        return cooccurrence(sequences, n_items, k)
    raise ValueError(f"graph k_mode must be 'topk' or 'window', got {k_mode!r}")


def laplacian(a: sp.csr_matrix, kind: str = "sym") -> sp.csr_matrix:
    """Graph Laplacian; isolated items (degree 0) get a zero row and column.

    ``unnorm``: D - A.  ``sym``: I - D^-1/2 A D^-1/2 (eigenvalues in [0, 2], so one alpha
    grid fits every dataset).  ``rw``: I - D^-1 A (not symmetric; only its symmetric part
    enters a quadratic form).
    """
    deg = np.asarray(a.sum(axis=1)).ravel()
    connected = (deg > 0).astype(float)
    if kind == "unnorm":
        return (sp.diags(deg) - a).tocsr()
    with np.errstate(divide="ignore"):
        inv = np.where(deg > 0, 1.0 / deg, 0.0)
    if kind == "sym":
        s = sp.diags(np.sqrt(inv))
        return (sp.diags(connected) - s @ a @ s).tocsr()
    if kind == "rw":
        return (sp.diags(connected) - sp.diags(inv) @ a).tocsr()
    raise ValueError(f"laplacian kind must be 'unnorm', 'sym' or 'rw', got {kind!r}")


def total_variation(z: np.ndarray, lap: sp.spmatrix) -> float:
    """tr(Z^T L Z): the quadratic graph total variation (Dirichlet energy) of rows of Z.

    For L = D - A it equals 1/2 sum_ij A_ij ||z_i - z_j||^2.
    """
    z = np.asarray(z, dtype=np.float64)
    return float(np.sum(z * (lap @ z)))
