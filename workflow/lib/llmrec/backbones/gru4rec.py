"""GRU4Rec (Hidasi et al., 2016) as RecBole builds it: embedding dropout -> GRU -> dense.

The GRU has no bias terms (RecBole), which also makes left padding harmless: the padding
row of the item table is zero, and a bias-free GRU fed zeros from a zero state stays at
exactly zero, so each sequence's states equal those of its unpadded run.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .base import COMMON_KEYS, SequentialBackbone
from .item_embedding import ItemEmbedding
from .layers import Dropout


class GRU4Rec(SequentialBackbone):
    # dropout: embedding dropout; gru_hidden_size None: hidden_size (RecBole's yaml: 128)
    KEYS = (*COMMON_KEYS, "n_layers", "gru_hidden_size")

    def __init__(self, item_embedding: ItemEmbedding, settings: dict[str, Any] | None = None):
        super().__init__(item_embedding, settings)
        s = self.settings
        gru_hidden = s["gru_hidden_size"] or self.hidden_size
        self.embedding_dropout = Dropout(s["dropout"])
        self.gru = nn.GRU(self.hidden_size, gru_hidden, num_layers=s["n_layers"], bias=False, batch_first=True)
        self.dense = nn.Linear(gru_hidden, self.hidden_size)
        for weight in self.gru.parameters():  # RecBole: xavier-uniform for the GRU
            nn.init.xavier_uniform_(weight)
        nn.init.xavier_normal_(self.dense.weight)
        nn.init.zeros_(self.dense.bias)

    def embed(self, item_seq: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor:
        return self.embedding_dropout(self.item_embedding.lookup(item_seq, table))

    def encode(self, x: torch.Tensor, item_seq: torch.Tensor) -> torch.Tensor:
        states, _ = self.gru(x)
        return self.dense(states)
