"""TF-LLMER (the paper's method) and its three ablations.

Both components, as reconstructed (README, "What is a reconstruction"):

* **Rec-PCA** reduces the LLM item vectors X to the backbone's hidden size with the
  graph-regularised PCA of :mod:`llmrec.recpca` (``alpha > 0``); the ablation "w/o
  Rec-PCA" uses vanilla PCA (``alpha = 0``). This happens in the ``rec_pca`` rule; the
  method receives the reduced vectors as ``inputs["item_vectors"]``.
* **Item-embedding normalisation**: every item row is projected onto the unit sphere at
  every forward pass and scores are ``<h, e_i> / tau``; the ablation "w/o norm" trains
  the table as it is.

The reduced vectors initialise a trainable item table (``freeze_item_emb`` keeps it
fixed instead).
"""

from __future__ import annotations

import torch

from ..backbones.item_embedding import ItemEmbedding
from . import register
from .context import MethodContext

#: method name -> whether the item table is normalised; Rec-PCA vs PCA is the input's job
VARIANTS = {
    "TF-LLMER": True,
    "TF-LLMER-wo-norm": False,
    "TF-LLMER-wo-RecPCA": True,
    "TF-LLMER-wo-both": False,
}


def table_builder(normalize: bool):
    """The builder of a TF-LLMER variant (RandomFeat reuses the normalised one)."""

    def build(ctx: MethodContext) -> ItemEmbedding:
        settings = ctx.settings
        emb = ctx.item_embedding(
            mode="trainable",
            vectors=torch.from_numpy(ctx.vectors()),  # the Rec-PCA (or PCA) output
            normalize=normalize,
            tau=float(settings.get("tau", 1.0)) if normalize else 1.0,
            normalize_h=bool(settings.get("normalize_h", False)) and normalize,
        )
        if settings.get("freeze_item_emb", False):
            emb.weight.requires_grad_(False)
        return emb

    return build


for _name, _normalize in VARIANTS.items():
    register(_name)(table_builder(_normalize))
