"""LLM2Rec (KDD'25; ``seqrec/models/*/_model.py::load_item_embeddings``): the item vectors
of its fine-tuned language model (CSFT -> MNTP -> SimCSE, the ``llm2rec_*`` rules),
frozen, through one trainable Linear layer (Xavier-normal weights, zero bias) to the
hidden size; the adapted table is the input embedding and the output layer; no ID table.
"""

from __future__ import annotations

import torch

from ..backbones.item_embedding import ItemEmbedding
from ..backbones.layers import init_xavier
from .registry import register
from .context import MethodContext


def inputs(need, settings) -> dict[str, str]:
    return {"item_vectors": need.reps(f"llm2rec-{need.finetuned_model('llm2rec')}")}


# its section configures the fine-tuning rules; the run itself reads none of it
@register("LLM2Rec", section="llm2rec", inputs=inputs, substitutes="Qwen2-0.5B")
def build(ctx: MethodContext) -> ItemEmbedding:
    emb = ctx.item_embedding(mode="adapter", vectors=torch.from_numpy(ctx.vectors()), adapter="linear")
    init_xavier(emb.adapter)
    return emb
