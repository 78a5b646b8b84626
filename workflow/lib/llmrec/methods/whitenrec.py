"""WhitenRec (ICDE'24; whitening code as in lzz0007/DWSRec ``batch_whitening``): whitened,
frozen text vectors through a trainable projection; no ID table.

ZCA whitening of all item vectors (a transductive preprocessing step, as the original):
centre, covariance S = X^T X / N, W = U diag(s + eps)^(-1/2) U^T, X <- X W. With
``whitening_groups`` G > 1 the columns are whitened in G groups (relaxed whitening, the
"+" variant's second view). The whitened vectors go through ``adapter`` (``linear``, or
``mlp``) to the hidden size and are the tied item table. Scores are those of its code's
cross-entropy: cosine / ``tau`` (0.07) with ``similarity = "cosine"`` (default), or the
dot product.
"""

from __future__ import annotations

import numpy as np
import torch

from ..backbones.item_embedding import ItemEmbedding, similarity_options
from .registry import register
from .context import MethodContext


def zca_whiten(vectors: np.ndarray, groups: int = 1, eps: float = 1e-5) -> np.ndarray:
    """Centre and ZCA-whiten ``vectors`` (N x D) in ``groups`` groups of columns."""
    x = np.asarray(vectors, dtype=np.float64)
    x = x - x.mean(axis=0)
    dim = x.shape[1]
    if groups < 1 or dim % groups:
        raise ValueError(f"WhitenRec: {dim} dimensions cannot be split into {groups} equal groups")
    out = np.empty_like(x)
    size = dim // groups
    for start in range(0, dim, size):
        block = x[:, start : start + size]
        values, vectors_ = np.linalg.eigh(block.T @ block / len(block))
        transform = (vectors_ / np.sqrt(np.maximum(values, 0.0) + eps)) @ vectors_.T
        out[:, start : start + size] = block @ transform
    return out.astype(np.float32)


def inputs(need, settings) -> dict[str, str]:
    return {"item_vectors": need.reps(need.model(settings["text_encoder"]))}


@register(
    "WhitenRec",
    section="whitenrec",
    run_keys=("whitening_groups", "whitening_eps", "adapter", "similarity", "tau"),
    inputs=inputs,
    substitutes="BERT [CLS] vectors",
)
def build(ctx: MethodContext) -> ItemEmbedding:
    settings = ctx.settings
    whitened = zca_whiten(
        ctx.vectors(), int(settings["whitening_groups"]), float(settings["whitening_eps"])
    )
    return ctx.item_embedding(
        mode="adapter",
        vectors=torch.from_numpy(whitened),
        adapter=settings["adapter"],
        **similarity_options(settings["similarity"], settings["tau"]),
    )
