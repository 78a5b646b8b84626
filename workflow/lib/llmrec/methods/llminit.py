"""LLMInit (DavidZWZ/LLMInit): initialise the trainable ID table from d selected
dimensions of the LLM item vectors, then train it like RandInit.

Selection (``selection``; the original's ``random_sample`` / ``even_sample`` /
``var_sample``), for D-dimensional vectors and d = hidden size:

* ``rand``: d indices uniformly at random *with replacement* (as ``torch.randint`` there),
  drawn from the run's seed;
* ``uni``: every floor(D/d)-th index, starting at 0;
* ``var``: the d dimensions of highest variance over the ``popular_fraction`` (0.2) most
  popular items by training frequency, in increasing index order.

The selected values are copied as they are: the raw LLM norms, i.e. exactly the norm
disparity TF-LLMER diagnoses, are kept. Popularity counts the training parts only.
"""

from __future__ import annotations

import numpy as np
import torch

from ..backbones.item_embedding import ItemEmbedding
from .registry import register
from .context import MethodContext

SELECTIONS = ("rand", "uni", "var")


def select_dimensions(
    vectors: np.ndarray,
    d: int,
    selection: str,
    *,
    seed: int = 0,
    item_counts: np.ndarray | None = None,
    popular_fraction: float = 0.2,
) -> np.ndarray:
    """Indices of the d columns of ``vectors`` (N x D) that initialise the table."""
    n, dim = vectors.shape
    if d > dim:
        raise ValueError(f"LLMInit: cannot select {d} of {dim} dimensions")
    if selection == "rand":
        return np.random.default_rng(seed).integers(0, dim, size=d)
    if selection == "uni":
        return np.arange(0, dim, dim // d)[:d]
    if selection == "var":
        if item_counts is None:
            raise ValueError("LLMInit selection 'var' needs the items' training counts")
        n_popular = max(1, int(np.ceil(popular_fraction * n)))
        popular = np.argsort(-np.asarray(item_counts), kind="stable")[:n_popular]
        variance = vectors[popular].var(axis=0)
        return np.sort(np.argsort(-variance, kind="stable")[:d])
    raise ValueError(f"unknown LLMInit selection {selection!r}; allowed: {', '.join(SELECTIONS)}")


def training_item_counts(data) -> np.ndarray:
    """(n_items,) how often each item occurs in the training parts (index = id - 1)."""
    counts = np.zeros(data.n_items + 1, dtype=np.int64)
    for seq in data.train_sequences():
        np.add.at(counts, np.asarray(seq), 1)
    return counts[1:]


def inputs(need, settings) -> dict[str, str]:
    return {"item_vectors": need.reps(need.model(settings["text_encoder"]))}


@register(
    "LLMInit",
    section="llminit",
    run_keys=("selection", "popular_fraction"),
    inputs=inputs,
    substitutes="an unnamed 768-d LLM embedding column (its data code also loads all-MiniLM-L6-v2)",
)
def build(ctx: MethodContext) -> ItemEmbedding:
    vectors, settings = ctx.vectors(), ctx.settings
    selection = settings["selection"]
    counts = training_item_counts(ctx.data) if (selection == "var" and ctx.data is not None) else None
    index = select_dimensions(
        vectors,
        ctx.hidden_size,
        selection,
        seed=int(settings["seed"]),
        item_counts=counts,
        popular_fraction=float(settings["popular_fraction"]),
    )
    return ctx.item_embedding(mode="trainable", vectors=torch.from_numpy(vectors[:, index]))
