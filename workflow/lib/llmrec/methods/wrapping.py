"""A backbone wrapped by a method that changes more than the item table.

:class:`WrappedBackbone` behaves exactly as the backbone it holds towards the trainer, the
evaluation and the diagnostics; subclasses override ``forward``/``item_embedding`` (LLM-ESR's
two views) or add an ``auxiliary_loss`` (LLM-ESR's self-distillation, LLMEmb's alignment).
"""

from __future__ import annotations

import torch
from torch import nn

from ..backbones.base import Backbone


class WrappedBackbone(nn.Module):
    """Implements :class:`~llmrec.backbones.base.Backbone` by delegating to ``backbone``."""

    def __init__(self, backbone: Backbone) -> None:
        super().__init__()
        self.backbone = backbone

    @property
    def item_embedding(self):
        return self.backbone.item_embedding

    @property
    def max_len(self) -> int:
        return self.backbone.max_len

    @property
    def train_window(self) -> int:
        return self.backbone.train_window

    @property
    def history_length(self) -> int:
        return self.backbone.history_length

    def training_pairs(self, rows: torch.Tensor, generator: torch.Generator | None = None):
        return self.backbone.training_pairs(rows, generator)

    def prediction_inputs(self, history: torch.Tensor) -> torch.Tensor:
        return self.backbone.prediction_inputs(history)

    def forward(self, item_seq: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor:
        return self.backbone(item_seq, table)

    def sequence_representation(self, history: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor:
        return self(self.prediction_inputs(history), table)[:, -1]

    def auxiliary_loss(self, inputs, labels, hidden, table, users) -> torch.Tensor | None:
        return self.backbone.auxiliary_loss(inputs, labels, hidden, table, users)

    def begin_epoch(self) -> None:
        self.backbone.begin_epoch()
