"""LLM2Rec (KDD'25; ``seqrec/models/*/_model.py::load_item_embeddings``): the item vectors
of its fine-tuned language model (CSFT -> MNTP -> SimCSE, the ``llm2rec_*`` rules),
frozen, through one trainable Linear layer (Xavier-normal weights, zero bias) to the
hidden size; the adapted table is the input embedding and the output layer; no ID table.
"""

from __future__ import annotations

import torch

from ..backbones.item_embedding import ItemEmbedding
from ..backbones.layers import init_xavier
from . import register
from .context import MethodContext


@register("LLM2Rec")
def build(ctx: MethodContext) -> ItemEmbedding:
    emb = ctx.item_embedding(mode="adapter", vectors=torch.from_numpy(ctx.vectors()), adapter="linear")
    init_xavier(emb.adapter)
    return emb
