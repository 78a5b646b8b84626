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
from .registry import register
from .context import MethodContext

#: method name -> (whether the item table is normalised, whether X is reduced by Rec-PCA
#: rather than vanilla PCA)
VARIANTS = {
    "TF-LLMER": (True, True),
    "TF-LLMER-wo-norm": (False, True),
    "TF-LLMER-wo-RecPCA": (True, False),
    "TF-LLMER-wo-both": (False, False),
}
#: the keys of ``tf_llmer`` a training run reads; the others configure Rec-PCA and X
RUN_KEYS = ("tau", "normalize_h", "freeze_item_emb")


def source_reps(need, settings) -> str:
    """X, the item representation Rec-PCA reduces: LLM2Rec's item vectors (``source:
    llm2rec``, as the paper's Fig. 2) or the experiment's ``llm``."""
    if settings["source"] == "llm2rec":
        return f"llm2rec-{need.finetuned_model('llm2rec')}"
    return need.model("llm")


def recpca_input(need, settings, name: str, recpca: bool = True) -> dict[str, str]:
    """The Rec-PCA (or, for the w/o-Rec-PCA variants, PCA) output of ``name``."""
    return {"item_vectors": need.recpca(name, settings, pca=not recpca)}


def table_builder(normalize: bool):
    """The builder of a TF-LLMER variant (RandomFeat reuses the normalised one)."""

    def build(ctx: MethodContext) -> ItemEmbedding:
        settings = ctx.settings
        emb = ctx.item_embedding(
            mode="trainable",
            vectors=torch.from_numpy(ctx.vectors()),  # the Rec-PCA (or PCA) output
            normalize=normalize,
            tau=float(settings["tau"]) if normalize else 1.0,
            normalize_h=bool(settings["normalize_h"]) and normalize,
        )
        if settings["freeze_item_emb"]:
            emb.weight.requires_grad_(False)
        return emb

    return build


def _inputs(recpca: bool):
    return lambda need, settings: recpca_input(need, settings, source_reps(need, settings), recpca)


for _name, (_normalize, _recpca) in VARIANTS.items():
    register(_name, section="tf_llmer", run_keys=RUN_KEYS, inputs=_inputs(_recpca))(table_builder(_normalize))
