"""BERT4Rec (Sun et al., 2019): bidirectional transformer trained with a cloze objective.

RecBole layout: item vectors plus learned positions, LayerNorm, dropout, post-LN blocks
without a causal mask, then an output transform (Linear, GELU, LayerNorm) before the tied
scoring. (RecBole also adds a per-item output bias; scores here come from the shared
ItemEmbedding only, so every method scores the same way.)

Training (``training_pairs``): each valid position of a window is replaced by [MASK] with
probability ``mask_ratio`` and must be recovered; with probability ``ft_ratio`` a row
instead has only its last item masked, which is exactly the prediction task (RecBole's
``ft_ratio``). A row that drew no mask gets its last item masked, so every row trains.
Prediction appends [MASK] after the last ``max_len - 1`` history items.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .base import COMMON_KEYS, SequentialBackbone
from .item_embedding import ItemEmbedding
from .layers import ACTIVATIONS, Dropout, TransformerEncoder, attention_bias, init_weights


class BERT4Rec(SequentialBackbone):
    # attn_dropout None: same as dropout
    KEYS = (*COMMON_KEYS, "n_layers", "n_heads", "inner_size", "attn_dropout", "activation", "mask_ratio", "ft_ratio")
    needs_mask_token = True
    causal = False

    def __init__(self, item_embedding: ItemEmbedding, settings: dict[str, Any] | None = None):
        super().__init__(item_embedding, settings)
        s = self.settings
        attn_dropout = s["dropout"] if s["attn_dropout"] is None else s["attn_dropout"]
        self.mask_ratio, self.ft_ratio = float(s["mask_ratio"]), float(s["ft_ratio"])
        self.position_embedding = nn.Embedding(self.max_len, self.hidden_size)
        self.input_norm = nn.LayerNorm(self.hidden_size, eps=1e-12)
        self.input_dropout = Dropout(s["dropout"])
        self.encoder = TransformerEncoder(
            self.hidden_size, s["n_layers"], s["n_heads"], s["inner_size"],
            s["dropout"], attn_dropout, s["activation"], "post",
        )  # fmt: skip
        self.output_head = nn.Sequential(
            nn.Linear(self.hidden_size, self.hidden_size),
            ACTIVATIONS[s["activation"]](),
            nn.LayerNorm(self.hidden_size, eps=1e-12),
        )
        nn.init.normal_(self.position_embedding.weight, 0.0, s["init_std"])
        init_weights(self.encoder, s["init_std"])
        init_weights(self.output_head, s["init_std"])

    @property
    def train_window(self) -> int:
        return self.max_len

    @property
    def history_length(self) -> int:
        return self.max_len - 1  # one column is left for the appended [MASK]

    def embed(self, item_seq: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor:
        x = self.item_embedding.lookup(item_seq, table)
        x = x + self.position_embedding(self.positions(item_seq.shape[1], item_seq.device))
        return self.input_dropout(self.input_norm(x))

    def encode(self, x: torch.Tensor, item_seq: torch.Tensor) -> torch.Tensor:
        return self.output_head(self.encoder(x, attention_bias(item_seq, causal=False)))

    def training_pairs(
        self, rows: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Cloze masking; labels hold the original item at masked positions, else 0."""
        valid = rows > 0
        draw = torch.rand(rows.shape, generator=generator, device=rows.device)
        masked = valid & (draw < self.mask_ratio)
        # rows are left-padded: the last column is every row's most recent item
        last_only = torch.zeros_like(masked)
        last_only[:, -1] = True
        fine_tune = torch.rand(rows.shape[0], 1, generator=generator, device=rows.device) < self.ft_ratio
        masked = torch.where(fine_tune | ~masked.any(dim=1, keepdim=True), last_only & valid, masked)
        inputs = rows.masked_fill(masked, self.item_embedding.mask_id)
        return inputs, rows.masked_fill(~masked, 0)

    def prediction_inputs(self, history: torch.Tensor) -> torch.Tensor:
        mask_column = history.new_full((history.shape[0], 1), self.item_embedding.mask_id)
        return torch.cat([history, mask_column], dim=1)
