"""SASRec (Kang & McAuley, 2018): causal self-attention over the item sequence.

Two layouts (``norm``):

* ``"pre"`` (the class default): pmixer/SASRec.pytorch and RecSys'23 SASRec+: item vectors scaled by
  sqrt(d) plus learned positions, dropout, pre-LN blocks (LayerNorm on the query), a final
  LayerNorm;
* ``"post"``: RecBole: item vectors plus positions, LayerNorm, dropout, post-LN blocks
  (the workflow's choice in ``config.yaml``, with dropout 0.5: higher validation NDCG@10
  over seeds on ml-100k).

The causal mask is always on (LLMEmb/LLM-ESR drop it; we do not). Scores are tied to the
item table: ``item_embedding.scores(h)``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from .base import COMMON_KEYS, SequentialBackbone
from .item_embedding import ItemEmbedding
from .layers import Dropout, TransformerEncoder, attention_bias, init_weights


class SASRec(SequentialBackbone):
    # attn_dropout None: same as dropout
    KEYS = (*COMMON_KEYS, "n_layers", "n_heads", "inner_size", "attn_dropout", "activation", "norm")

    def __init__(self, item_embedding: ItemEmbedding, settings: dict[str, Any] | None = None):
        super().__init__(item_embedding, settings)
        s = self.settings
        attn_dropout = s["dropout"] if s["attn_dropout"] is None else s["attn_dropout"]
        self.norm = s["norm"]
        self.position_embedding = nn.Embedding(self.max_len, self.hidden_size)
        self.input_norm = nn.LayerNorm(self.hidden_size, eps=1e-12) if self.norm == "post" else nn.Identity()
        self.input_dropout = Dropout(s["dropout"])
        self.encoder = TransformerEncoder(
            self.hidden_size, s["n_layers"], s["n_heads"], s["inner_size"],
            s["dropout"], attn_dropout, s["activation"], self.norm,
        )  # fmt: skip
        # pmixer scales item vectors by sqrt(d) so they dominate the positions; RecBole
        # normalises the sum instead
        self.input_scale = math.sqrt(self.hidden_size) if self.norm == "pre" else 1.0
        nn.init.normal_(self.position_embedding.weight, 0.0, s["init_std"])
        init_weights(self.encoder, s["init_std"])

    def embed(self, item_seq: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor:
        x = self.item_embedding.lookup(item_seq, table) * self.input_scale
        x = x + self.position_embedding(self.positions(item_seq.shape[1], item_seq.device))
        return self.input_dropout(self.input_norm(x))

    def encode(self, x: torch.Tensor, item_seq: torch.Tensor) -> torch.Tensor:
        return self.encoder(x, attention_bias(item_seq, causal=True))
