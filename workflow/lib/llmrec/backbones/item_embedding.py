"""The one item table that every backbone reads from and scores against.

Every method of the paper differs only in how the item vectors are produced; the
backbones (SASRec, GRU4Rec, BERT4Rec) never know which. A method builds an
:class:`ItemEmbedding` and hands it to a backbone, which uses it twice:

* **input lookup**: ``lookup(item_seq, table)`` -> (B, L, d);
* **tied output scoring**: ``scores(h, table)`` -> (..., n_items + 1), i.e. ``h @ table.T``.

Row layout of :meth:`ItemEmbedding.table` (``d`` = backbone hidden size)::

    row 0               padding: always the zero vector; its score is -inf
    rows 1 .. n_items   the items
    row n_items + 1     [MASK] (only with ``mask_token=True``, for BERT4Rec): a trainable
                        vector, usable as input, never scored

Modes (``mode=``):

``"trainable"``
    one trainable (n_items, d) table; random init (normal(0, init_std) or xavier) or
    initialised from given ``vectors`` (which are then trained).
``"adapter"``
    frozen given ``vectors`` (n_items, d_in) mapped to d by a trainable adapter: a
    Linear layer (``adapter="linear"``), a two-layer MLP (``adapter="mlp"``), or two
    Linear layers without an activation between them (``adapter="linear2"``, LLM-ESR and
    LLMEmb).
``"frozen_plus_trainable"``
    frozen given ``vectors`` F (n_items, d) plus a trainable T, added. T covers the last
    ``trainable_dim`` coordinates (default all d): AlphaFuse learns ID vectors only in
    its "null-space" coordinates. T is initialised by ``init`` (``init="zeros"`` starts
    exactly at F).

Independently, ``normalize=True`` projects every item row onto the unit sphere at every
forward pass and scores become ``<h, e_i> / tau`` (with ``normalize_h=True`` also h is
unit-normalised first, i.e. cosine / tau).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

MODES = ("trainable", "adapter", "frozen_plus_trainable")
INITS = ("normal", "xavier", "zeros")
ADAPTERS = ("linear", "mlp", "linear2")


SIMILARITIES = ("dot", "cosine")


def similarity_options(similarity: str, tau: float) -> dict:
    """ItemEmbedding keywords for a scoring rule: ``"dot"`` = <h, e_i>; ``"cosine"`` =
    cos(h, e_i) / tau (the InfoNCE-style scores of AlphaFuse and WhitenRec/UniSRec)."""
    if similarity not in SIMILARITIES:
        raise ValueError(f"unknown similarity {similarity!r}; allowed: {', '.join(SIMILARITIES)}")
    cosine = similarity == "cosine"
    return {"normalize": cosine, "normalize_h": cosine, "tau": float(tau) if cosine else 1.0}


def init_matrix(weight: torch.Tensor, init: str, std: float) -> None:
    """Fill ``weight`` in place: ``normal`` = N(0, std) (RecBole/RecSys'23), ``xavier``
    = xavier-normal, ``zeros``."""
    with torch.no_grad():
        if init == "normal":
            weight.normal_(0.0, std)
        elif init == "xavier":
            nn.init.xavier_normal_(weight)
        elif init == "zeros":
            weight.zero_()
        else:
            raise ValueError(f"unknown init {init!r}; allowed: {', '.join(INITS)}")


class ItemEmbedding(nn.Module):
    def __init__(
        self,
        n_items: int,
        dim: int,
        *,
        mode: str = "trainable",
        vectors: torch.Tensor | None = None,
        adapter: str = "linear",
        adapter_hidden: int | None = None,
        trainable_dim: int | None = None,
        init: str = "normal",
        init_std: float = 0.02,
        normalize: bool = False,
        tau: float = 1.0,
        normalize_h: bool = False,
        mask_token: bool = False,
    ) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"unknown ItemEmbedding mode {mode!r}; allowed: {', '.join(MODES)}")
        if mode != "trainable" and vectors is None:
            raise ValueError(f"ItemEmbedding mode {mode!r} needs the given vectors")
        if vectors is not None:
            vectors = torch.as_tensor(vectors, dtype=torch.float32)
            if vectors.ndim != 2 or vectors.shape[0] != n_items:
                raise ValueError(f"vectors must have shape ({n_items}, d), got {tuple(vectors.shape)}")
            if not torch.isfinite(vectors).all():
                raise ValueError("vectors contain NaN or Inf")
            if mode != "adapter" and vectors.shape[1] != dim:
                raise ValueError(f"mode {mode!r} needs {dim}-d vectors, got {vectors.shape[1]}-d")
        trainable_dim = dim if trainable_dim is None else int(trainable_dim)
        if not 0 < trainable_dim <= dim:
            raise ValueError(f"trainable_dim must be in 1..{dim}, got {trainable_dim}")
        if tau <= 0:
            raise ValueError(f"tau must be positive, got {tau}")
        self.n_items, self.dim, self.mode = n_items, dim, mode
        self.normalize, self.tau, self.normalize_h = normalize, float(tau), normalize_h
        self.has_mask_token = mask_token

        # Frozen inputs are buffers: saved with the state dict, moved with .to(), never
        # handed to the optimizer.
        self.weight: nn.Parameter | None = None  # the trainable (n_items, d) part
        self.adapter: nn.Module | None = None
        if mode == "trainable":
            self.weight = nn.Parameter(torch.empty(n_items, dim))
            if vectors is None:
                init_matrix(self.weight, init, init_std)
            else:
                with torch.no_grad():
                    self.weight.copy_(vectors)
        elif mode == "adapter":
            self.register_buffer("frozen", vectors.clone())
            self.adapter = _make_adapter(adapter, vectors.shape[1], dim, adapter_hidden)
        else:  # frozen_plus_trainable
            self.register_buffer("frozen", vectors.clone())
            self.weight = nn.Parameter(torch.empty(n_items, trainable_dim))
            init_matrix(self.weight, init, init_std)
        self.mask_vector = nn.Parameter(torch.empty(1, dim)) if mask_token else None
        if self.mask_vector is not None:
            init_matrix(self.mask_vector, "normal", init_std)

    # ------------------------------------------------------------------ ids
    @property
    def padding_id(self) -> int:
        return 0

    @property
    def mask_id(self) -> int:
        if not self.has_mask_token:
            raise AttributeError("this ItemEmbedding has no [MASK] row (mask_token=False)")
        return self.n_items + 1

    # ------------------------------------------------------------------ tables
    def item_vectors(self) -> torch.Tensor:
        """The effective (n_items, d) vectors of items 1..n_items (normalised if asked)."""
        if self.mode == "trainable":
            items = self.weight
        elif self.mode == "adapter":
            items = self.adapter(self.frozen)
        elif self.weight.shape[1] == self.dim:
            items = self.frozen + self.weight
        else:  # trainable part in the last coordinates only
            items = self.frozen + F.pad(self.weight, (self.dim - self.weight.shape[1], 0))
        return F.normalize(items, dim=-1) if self.normalize else items

    def table(self) -> torch.Tensor:
        """The full (n_items + 1 [+ 1], d) matrix: padding row, items, [MASK] row."""
        items = self.item_vectors()
        parts = [items.new_zeros(1, self.dim), items]
        if self.mask_vector is not None:
            parts.append(F.normalize(self.mask_vector, dim=-1) if self.normalize else self.mask_vector)
        return torch.cat(parts, dim=0)

    # ------------------------------------------------------------------ use
    def lookup(self, item_seq: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor:
        """(B, L) ids -> (B, L, d) vectors; padding gives zeros."""
        return F.embedding(item_seq, self.table() if table is None else table)

    def scoring_operands(
        self, h: torch.Tensor, table: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(h', M) with logits of items 1..n_items = ``h' @ M.T``.

        ``M`` is the (n_items, d) item block of the table; ``h'`` carries the optional
        normalisation and the 1/tau temperature. The loss works on these operands so
        that it never forms a padding or [MASK] column.
        """
        items = (self.table() if table is None else table)[1 : self.n_items + 1]
        if self.normalize:
            if self.normalize_h:
                h = F.normalize(h, dim=-1)
            if self.tau != 1.0:
                h = h / self.tau
        return h, items

    def scores(self, h: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor:
        """(..., d) -> (..., n_items + 1) logits; column = item id, column 0 is -inf."""
        h, items = self.scoring_operands(h, table)
        logits = h @ items.T
        pad = logits.new_full((*logits.shape[:-1], 1), -math.inf)
        return torch.cat([pad, logits], dim=-1)

    def extra_repr(self) -> str:
        return (
            f"n_items={self.n_items}, dim={self.dim}, mode={self.mode}, normalize={self.normalize}, "
            f"tau={self.tau}, normalize_h={self.normalize_h}, mask_token={self.has_mask_token}"
        )


def _make_adapter(kind: str, d_in: int, d_out: int, hidden: int | None) -> nn.Module:
    if kind == "linear":
        return nn.Linear(d_in, d_out)
    if kind in ("mlp", "linear2"):
        hidden = hidden or max(d_out, min(d_in, 4 * d_out))
        between = nn.GELU() if kind == "mlp" else nn.Identity()
        return nn.Sequential(nn.Linear(d_in, hidden), between, nn.Linear(hidden, d_out))
    raise ValueError(f"unknown adapter {kind!r}; allowed: {', '.join(ADAPTERS)}")
