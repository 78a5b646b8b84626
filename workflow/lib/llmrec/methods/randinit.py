"""RandInit: the plain ID baseline, a trainable item table with random initialisation.

Settings: ``init`` = ``"normal"`` (default; N(0, ``init_std``), ``init_std`` 0.02, as
RecBole and RecSys'23 SASRec+) or ``"xavier"`` (xavier-normal, as RecBole's GRU4Rec).
"""

from __future__ import annotations

from ..backbones.item_embedding import ItemEmbedding
from .registry import register
from .context import MethodContext


@register("RandInit")  # no section, no inputs: the plain ID table
def build(ctx: MethodContext) -> ItemEmbedding:
    return ctx.item_embedding(
        mode="trainable", init=ctx.settings.get("init", "normal"), init_std=ctx.settings["init_std"]
    )
