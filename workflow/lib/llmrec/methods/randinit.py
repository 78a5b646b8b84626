"""RandInit: the plain ID baseline, a trainable item table with random initialisation.

Settings: ``init`` = ``"normal"`` (default; N(0, ``init_std``), ``init_std`` 0.02, as
RecBole and RecSys'23 SASRec+) or ``"xavier"`` (xavier-normal, as RecBole's GRU4Rec).
"""

from __future__ import annotations

from typing import Any

from ..backbones.item_embedding import ItemEmbedding
from . import register


@register("RandInit")
def build(n_items: int, hidden_size: int, settings: dict[str, Any], inputs: dict | None = None, *, mask_token: bool = False, data=None) -> ItemEmbedding:
    return ItemEmbedding(
        n_items,
        hidden_size,
        mode="trainable",
        init=settings.get("init", "normal"),
        init_std=settings.get("init_std", 0.02),
        mask_token=mask_token,
    )
