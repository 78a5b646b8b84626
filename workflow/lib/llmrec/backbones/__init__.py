"""Sequential recommendation backbones sharing one tied item table.

``BACKBONES`` maps a name (as used in config.yaml) to its class; every class is built as
``cls(item_embedding, settings)``. Backbones never import methods or data modules: the
caller builds the :class:`ItemEmbedding` (a method's job) and hands it over.
"""

from __future__ import annotations

from .base import SequentialBackbone
from .bert4rec import BERT4Rec
from .gru4rec import GRU4Rec
from .item_embedding import ItemEmbedding
from .sasrec import SASRec

BACKBONES: dict[str, type[SequentialBackbone]] = {
    "SASRec": SASRec,
    "GRU4Rec": GRU4Rec,
    "BERT4Rec": BERT4Rec,
}


def get(name: str) -> type[SequentialBackbone]:
    try:
        return BACKBONES[name]
    except KeyError:
        raise KeyError(f"unknown backbone {name!r}; available: {', '.join(BACKBONES)}") from None


__all__ = ["BACKBONES", "BERT4Rec", "GRU4Rec", "ItemEmbedding", "SASRec", "SequentialBackbone", "get"]
