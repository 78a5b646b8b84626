"""AlphaFuse (Hugo-Chinn/AlphaFuse, ``semantic_space_decomposion``): frozen semantic
coordinates plus ID vectors learned in the "null-space" coordinates.

1. E <- ``embedding_scale`` * E (40 in the original, for unit-norm OpenAI vectors);
2. centre: E - mu; eigen-decompose the covariance C = U S U^T (S descending);
3. keep the top d = hidden size directions: P = U[:, :d], with ``standardize`` (default,
   as the original) P <- P S_d^{-1/2} (PCA whitening); L = (E - mu) P is **frozen**;
4. nullity k = ``null_dim``, or with ``null_threshold`` set the number of kept directions
   whose eigenvalue is <= the threshold;
5. a trainable ID table I (N x k), ``id_init`` zeros (default) or normal(0, 1), is added
   to the last k coordinates: f_i = L_i + [0 ; I_i]; with ``cover`` those coordinates of
   L are replaced instead: f_i = [L_i(first d-k) ; I_i].

f is the tied item table (no adapter). Scores are as in the original's InfoNCE loss:
``similarity = "cosine"`` (default) unit-normalises the sequence representation and the
item rows and divides by ``tau`` (0.07); ``"dot"`` scores with the raw dot product. The
padding row is the zero vector (the original uses a random row at index N).
"""

from __future__ import annotations

import numpy as np
import torch

from ..backbones.item_embedding import ItemEmbedding, similarity_options
from ..recpca import rec_pca
from .registry import register
from .context import MethodContext


def semantic_decomposition(
    vectors: np.ndarray, d: int, *, scale: float = 40.0, standardize: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(L, eigenvalues): the frozen (N x d) semantic coordinates and the covariance
    eigenvalues of the kept directions (descending)."""
    scaled = np.asarray(vectors, dtype=np.float64) * scale
    proj = rec_pca(scaled, None, d, 0.0, pre_l2norm=False, center=True)  # alpha 0: PCA
    eigenvalues = proj.eigenvalues / max(len(scaled) - 1, 1)  # of the covariance
    semantic = proj.z.astype(np.float64)
    if standardize:
        semantic = semantic / np.sqrt(np.maximum(eigenvalues, 1e-12))
    return semantic.astype(np.float32), eigenvalues


def null_dimension(eigenvalues: np.ndarray, null_dim: int | None, null_threshold: float | None) -> int:
    if null_threshold is not None:
        k = int((eigenvalues <= null_threshold).sum())
    else:
        k = int(null_dim)
    if not 1 <= k <= len(eigenvalues):
        raise ValueError(
            f"AlphaFuse null dimension (alphafuse.null_dim or null_threshold) must be in "
            f"1..{len(eigenvalues)} (the hidden size), got {k}"
        )
    return k


def inputs(need, settings) -> dict[str, str]:
    return {"item_vectors": need.reps(need.model(settings["text_encoder"]))}


@register(
    "AlphaFuse",
    section="alphafuse",
    run_keys=("embedding_scale", "null_dim", "null_threshold", "standardize", "id_init", "cover", "similarity", "tau"),
    inputs=inputs,
    substitutes="OpenAI text-embedding-3-small/large (a paid service)",
)
def build(ctx: MethodContext) -> ItemEmbedding:
    settings, hidden_size = ctx.settings, ctx.hidden_size
    semantic, eigenvalues = semantic_decomposition(
        ctx.vectors(),
        hidden_size,
        scale=float(settings["embedding_scale"]),
        standardize=bool(settings["standardize"]),
    )
    k = null_dimension(eigenvalues, settings["null_dim"], settings["null_threshold"])
    if settings["cover"]:
        semantic[:, hidden_size - k :] = 0.0
    return ctx.item_embedding(
        mode="frozen_plus_trainable",
        vectors=torch.from_numpy(semantic),
        trainable_dim=k,
        init=settings["id_init"],
        init_std=1.0,  # the original's "normal" ID init is N(0, 1)
        **similarity_options(settings["similarity"], settings["tau"]),
    )
