"""What every backbone shares: settings, the item table, and the next-item objective.

Sequences are **left-padded** everywhere (padding id 0 first, the most recent item in
the last column), so the representation used for prediction is always the last column.
Positions are counted back from the end of the window (the last column always has
position ``max_len - 1``), so trimming leading all-padding columns from a batch does not
change any result.

A backbone has:

* ``forward(item_seq, table=None) -> (B, L, d)`` hidden states, directly comparable with
  the item vectors (``item_embedding.scores(h)``); it is ``encode(embed(item_seq, table),
  item_seq)``, split so that a method can work between the two (LLM-ESR's cross-attention
  between its two views);
* ``training_pairs(rows, generator) -> (inputs, labels)``: turns a batch of training
  windows into model inputs and per-position labels (0 = no loss at this position);
* ``sequence_representation(history, table=None) -> (B, d)``: the vector that scores the
  next item after each history;
* ``train_window`` / ``history_length``: the widths of the training windows and of the
  prediction histories the trainer must build;
* ``item_embedding``: the :class:`~llmrec.backbones.item_embedding.ItemEmbedding`;
* ``auxiliary_loss(inputs, labels, hidden, table, users)``: a method's extra loss term
  of a step, or None (a plain backbone has none);
* ``begin_epoch()``: called by the trainer before each training epoch (a plain backbone
  does nothing; LLM-ESR refreshes its per-epoch teacher).

:class:`Backbone` states this contract; :class:`SequentialBackbone` and the methods'
:class:`~llmrec.methods.wrapping.WrappedBackbone` implement it, and the trainer, the
evaluation and the diagnostics use nothing else.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, runtime_checkable

import torch
from torch import nn

from .item_embedding import ItemEmbedding

#: the keys every backbone reads; their values live in config.yaml only (``training``
#: and the backbone's ``backbones`` entry), so that no default here can drift from it
COMMON_KEYS: tuple[str, ...] = ("hidden_size", "max_len", "dropout", "init_std")


@runtime_checkable
class Backbone(Protocol):
    """What the trainer, the evaluation and the diagnostics may use of a model."""

    item_embedding: Any
    max_len: int

    @property
    def train_window(self) -> int: ...

    @property
    def history_length(self) -> int: ...

    def __call__(self, item_seq: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor: ...

    def training_pairs(
        self, rows: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]: ...

    def prediction_inputs(self, history: torch.Tensor) -> torch.Tensor: ...

    def sequence_representation(self, history: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor: ...

    def auxiliary_loss(self, inputs, labels, hidden, table, users) -> torch.Tensor | None: ...

    def begin_epoch(self) -> None: ...


class SequentialBackbone(nn.Module):
    """Base class: causal next-item prediction (SASRec, GRU4Rec); BERT4Rec overrides."""

    KEYS: ClassVar[tuple[str, ...]] = COMMON_KEYS
    #: whether the ItemEmbedding must carry a [MASK] row
    needs_mask_token: ClassVar[bool] = False
    #: whether position t may only depend on positions <= t
    causal: ClassVar[bool] = True

    def __init__(self, item_embedding: ItemEmbedding, settings: dict[str, Any] | None = None):
        super().__init__()
        self.settings = self.resolve_settings(settings or {})
        self.hidden_size = int(self.settings["hidden_size"])
        self.max_len = int(self.settings["max_len"])
        if item_embedding.dim != self.hidden_size:
            raise ValueError(
                f"{type(self).__name__}: item embedding has {item_embedding.dim} dims, "
                f"hidden_size is {self.hidden_size}"
            )
        if self.needs_mask_token and not item_embedding.has_mask_token:
            raise ValueError(f"{type(self).__name__} needs an ItemEmbedding with mask_token=True")
        self.item_embedding = item_embedding

    @classmethod
    def resolve_settings(cls, settings: dict[str, Any]) -> dict[str, Any]:
        """The keys of ``settings`` this backbone reads; all of them must be given."""
        missing = [key for key in cls.KEYS if key not in settings]
        if missing:
            raise KeyError(
                f"{cls.__name__} needs the setting(s) {', '.join(missing)} (config.yaml's "
                "training and backbones sections hold them; llmrec.plan gives a run its settings)"
            )
        return {key: settings[key] for key in cls.KEYS}

    # ------------------------------------------------------------------ shapes
    @property
    def train_window(self) -> int:
        """Width of one training row: max_len inputs plus the shifted-by-one last label."""
        return self.max_len + 1

    @property
    def history_length(self) -> int:
        return self.max_len

    # ------------------------------------------------------------------ forward
    def embed(self, item_seq: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor:
        """(B, L) ids -> (B, L, d) encoder inputs (item vectors, positions, dropout)."""
        raise NotImplementedError

    def encode(self, x: torch.Tensor, item_seq: torch.Tensor) -> torch.Tensor:
        """(B, L, d) encoder inputs of ``item_seq`` -> (B, L, d) hidden states."""
        raise NotImplementedError

    def forward(self, item_seq: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor:
        return self.encode(self.embed(item_seq, table), item_seq)

    # ------------------------------------------------------------------ objective
    def training_pairs(
        self, rows: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Next-item pairs at every position: inputs = row[:-1], labels = row[1:].

        A label counts only where the input is an item too, i.e. the first item of a
        sequence is never a target (RecSys'23 SASRec+ ``CausalLMDataset``).
        """
        inputs, labels = rows[:, :-1], rows[:, 1:]
        return inputs, labels.masked_fill(inputs == 0, 0)

    def prediction_inputs(self, history: torch.Tensor) -> torch.Tensor:
        """The input ids whose last hidden state scores the next item after ``history``."""
        return history

    def sequence_representation(
        self, history: torch.Tensor, table: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, history_length) left-padded histories -> (B, d) next-item query vectors."""
        return self(self.prediction_inputs(history), table)[:, -1]

    def auxiliary_loss(self, inputs, labels, hidden, table, users) -> torch.Tensor | None:
        """No extra loss term: the plain next-item (or cloze) objective only."""
        return None

    def begin_epoch(self) -> None:
        """Nothing to prepare before an epoch."""

    def positions(self, length: int, device: torch.device) -> torch.Tensor:
        """Position ids of the last ``length`` columns of a ``max_len`` window."""
        if length > self.max_len:
            raise ValueError(f"sequence length {length} exceeds max_len {self.max_len}")
        return torch.arange(self.max_len - length, self.max_len, device=device)
