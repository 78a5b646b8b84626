"""LLM2Rec (KDD'25; ``seqrec/models/*/_model.py::load_item_embeddings``): the item vectors
of its fine-tuned language model (CSFT -> MNTP -> SimCSE, the ``llm2rec_*`` rules),
frozen, through one trainable Linear layer (Xavier-normal weights, zero bias) to the
hidden size; the adapted table is the input embedding and the output layer; no ID table.
"""

from __future__ import annotations

from typing import Any

import torch

from ..backbones.item_embedding import ItemEmbedding
from ..backbones.layers import init_xavier
from . import register
from .inputs import load_vectors


@register("LLM2Rec")
def build(
    n_items: int,
    hidden_size: int,
    settings: dict[str, Any],
    inputs: dict | None = None,
    *,
    mask_token: bool = False,
    data=None,
) -> ItemEmbedding:
    vectors = load_vectors(inputs, "item_vectors", "LLM2Rec", n_items)
    emb = ItemEmbedding(
        n_items, hidden_size, mode="adapter", vectors=torch.from_numpy(vectors), adapter="linear", mask_token=mask_token
    )
    init_xavier(emb.adapter)
    return emb
