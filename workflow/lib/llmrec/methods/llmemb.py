"""LLMEmb (AAAI'25), recommendation adaptation training (RAT; ``models/LLMEmb.py`` and
``models/Adapter.py``): the item vectors of its SCFT-tuned language model (the ``llmemb_*``
rules, PCA-reduced), frozen, through a two-layer linear adapter (D -> D/2 -> d, no
activation, Xavier-normal) are the item table; training adds

    align_weight * ContrastiveLoss(tau = align_tau)(E_srs[i], A(E_llm[i]))

over the items that are targets in the batch, where E_srs is the item table of a plain
backbone trained first (the RandInit run of ``llmemb.pretrained_backbone``, same dataset
and seed). Deviation: each distinct target item enters the alignment once per step (the
original repeats it per occurrence), which keeps the B x B similarity matrices small.
"""

from __future__ import annotations

import torch

from ..backbones.item_embedding import ItemEmbedding
from ..backbones.layers import init_xavier
from ..losses import ContrastiveLoss
from .registry import register
from .context import MethodContext
from .wrapping import WrappedBackbone


class AlignedToPretrained(WrappedBackbone):
    def __init__(self, backbone, pretrained: torch.Tensor, weight: float, tau: float) -> None:
        super().__init__(backbone)
        self.register_buffer("pretrained", pretrained, persistent=False)  # (n_items, d), fixed
        self.weight = float(weight)
        self.align = ContrastiveLoss(tau, learn_tau=False)

    def auxiliary_loss(self, inputs, labels, hidden, table, users) -> torch.Tensor:
        items = torch.unique(labels[labels > 0])
        if self.weight == 0 or len(items) < 2:
            return hidden.new_zeros(())
        return self.weight * self.align(self.pretrained[items - 1], table[items])


def wrap(backbone, ctx: MethodContext) -> AlignedToPretrained:
    emb, settings = backbone.item_embedding, ctx.settings
    pretrained = ctx.vectors("pretrained_item_vectors")
    if pretrained.shape[1] != emb.dim:
        raise ValueError(
            f"LLMEmb: the pretrained item table has {pretrained.shape[1]} dims, the backbone {emb.dim}"
        )
    return AlignedToPretrained(
        backbone,
        torch.from_numpy(pretrained),
        float(settings["align_weight"]),
        float(settings["align_tau"]),
    )


def inputs(need, settings) -> dict[str, str]:
    return {
        "item_vectors": need.reps(f"llmemb-{need.finetuned_model('llmemb')}"),
        # RAT aligns to the item table of a plain backbone trained first
        "pretrained_item_vectors": need.run_file(
            "RandInit", settings["rat"]["pretrained_backbone"], "item_vectors.npy"
        ),
    }


@register(
    "LLMEmb",
    wrap=wrap,
    section="llmemb",
    run_keys=("rat.align_weight", "rat.align_tau"),
    inputs=inputs,
    substitutes="LLaMA-7B",
)
def build(ctx: MethodContext) -> ItemEmbedding:
    vectors = ctx.vectors()
    emb = ctx.item_embedding(
        mode="adapter",
        vectors=torch.from_numpy(vectors),
        adapter="linear2",
        adapter_hidden=max(1, vectors.shape[1] // 2),
    )
    init_xavier(emb.adapter)
    return emb
