"""LLM-ESR (NeurIPS'24; ``DualLLMSASRec`` / ``LLMESR_SASRec`` and their GRU4Rec/BERT4Rec
siblings): a dual-view model with retrieval-augmented self-distillation.

* **Semantic view**: the frozen LLM item vectors through a two-layer linear adapter
  (D -> D/2 -> d, no activation).
* **Collaborative view**: a trainable ID table initialised with PCA-d of the same vectors.
* Both views go through the backbone's input layer (scaling, positions, dropout); with
  ``cross_attention`` each view then attends to the other (2 heads, no residual: the
  output replaces the view, as the original's ``Multi_CrossAttention``); the **same**
  backbone encodes both, and the user representation is [h_id ; h_llm] (2d), scored
  against [id_i ; adapter(llm_i)].
* **Self-distillation**: each training row's representation (last position) is pulled
  towards the mean representation of its ``similar_users`` most similar users
  (precomputed by the ``similar_users`` rule from user-history texts, training part only),
  computed without gradient: loss += ``distill_weight`` * MSE. With ``teacher_refresh:
  step`` (the original) the similar users' representations are recomputed at every step
  with the current weights, in training mode: each step then encodes ``similar_users``
  times as many sequences as it trains on. With ``teacher_refresh: epoch`` (our default,
  a deviation for cost) every user's representation is computed once at the start of each
  epoch, in evaluation mode (no dropout), and the steps read their similar users' rows.

Deviation, on purpose: for the causal backbones (SASRec, GRU4Rec) the cross-attention is
causal too. The original masks only padding keys there; with a loss at every position
that lets each position see the items it must predict.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..backbones.item_embedding import ItemEmbedding
from ..backbones.layers import attention_bias, init_xavier
from ..recpca import rec_pca
from ..data.processed import pad_left
from .registry import register
from .context import MethodContext
from .wrapping import WrappedBackbone


class ConcatenatedViews(nn.Module):
    """Two item tables side by side: the item-table interface with rows [id_i ; llm_i]."""

    normalize = False

    def __init__(self, id_view: ItemEmbedding, llm_view: ItemEmbedding) -> None:
        super().__init__()
        self.id_view, self.llm_view = id_view, llm_view
        self.n_items, self.dim = id_view.n_items, id_view.dim + llm_view.dim
        self.has_mask_token = id_view.has_mask_token

    @property
    def mask_id(self) -> int:
        return self.id_view.mask_id

    def item_vectors(self) -> torch.Tensor:
        return torch.cat([self.id_view.item_vectors(), self.llm_view.item_vectors()], dim=1)

    def table(self) -> torch.Tensor:
        return torch.cat([self.id_view.table(), self.llm_view.table()], dim=1)

    def scoring_operands(self, h: torch.Tensor, table: torch.Tensor | None = None):
        table = self.table() if table is None else table
        return h, table[1 : self.n_items + 1]

    def scores(self, h: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor:
        h, items = self.scoring_operands(h, table)
        logits = h @ items.T
        return torch.cat([logits.new_full((*logits.shape[:-1], 1), -math.inf), logits], dim=-1)


class CrossAttention(nn.Module):
    """Queries from one view, keys and values from the other; no residual."""

    def __init__(self, hidden: int, n_heads: int) -> None:
        super().__init__()
        if hidden % n_heads:
            raise ValueError(f"hidden size {hidden} is not divisible by {n_heads} cross-attention heads")
        self.n_heads = n_heads
        self.query = nn.Linear(hidden, hidden, bias=False)
        self.key = nn.Linear(hidden, hidden, bias=False)
        self.value = nn.Linear(hidden, hidden, bias=False)
        self.output = nn.Linear(hidden, hidden)

    def forward(self, queries: torch.Tensor, context: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        batch, length, hidden = queries.shape

        def heads(x):
            return x.view(batch, length, self.n_heads, hidden // self.n_heads).transpose(1, 2)

        q, k, v = heads(self.query(queries)), heads(self.key(context)), heads(self.value(context))
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hidden // self.n_heads) + bias, dim=-1)
        return self.output((weights @ v).transpose(1, 2).reshape(batch, length, hidden))


TEACHER_BATCH = 1024  # users per no-grad pass of teacher_refresh epoch (memory bound only)


class DualView(WrappedBackbone):
    def __init__(
        self,
        backbone,
        llm_view: ItemEmbedding,
        *,
        cross_attention: bool,
        cross_heads: int,
        similar_users: torch.Tensor,
        user_histories: torch.Tensor,
        distill_weight: float,
        teacher_refresh: str,
    ) -> None:
        super().__init__(backbone)
        self.views = ConcatenatedViews(backbone.item_embedding, llm_view)
        hidden = backbone.hidden_size
        self.llm_to_id = CrossAttention(hidden, cross_heads) if cross_attention else None
        self.id_to_llm = CrossAttention(hidden, cross_heads) if cross_attention else None
        self.distill_weight = float(distill_weight)
        if teacher_refresh not in ("step", "epoch"):
            raise ValueError(f"LLM-ESR: teacher_refresh {teacher_refresh!r}; allowed: 'step', 'epoch'")
        self.teacher_refresh = teacher_refresh
        self._user_representations: torch.Tensor | None = None  # teacher_refresh epoch
        # (users, k) indices of similar users; (users, L) their latest training windows
        self.register_buffer("similar_users", similar_users, persistent=False)
        self.register_buffer("user_histories", user_histories, persistent=False)

    @property
    def item_embedding(self) -> ConcatenatedViews:
        return self.views

    def forward(self, item_seq: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor:
        table = self.views.table() if table is None else table
        d = self.backbone.hidden_size
        ids = self.backbone.embed(item_seq, table[:, :d])
        llm = self.backbone.embed(item_seq, table[:, d:])
        if self.llm_to_id is not None:
            bias = attention_bias(item_seq, causal=self.backbone.causal)
            ids, llm = self.llm_to_id(llm, ids, bias), self.id_to_llm(ids, llm, bias)
        return torch.cat([self.backbone.encode(ids, item_seq), self.backbone.encode(llm, item_seq)], dim=-1)

    def _representations(self, histories: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        width = max(int((histories > 0).sum(dim=1).max()), 1)
        return self(histories[:, -width:], table)[:, -1]

    @torch.no_grad()
    def begin_epoch(self) -> None:
        """teacher_refresh epoch: every user's representation with the weights the epoch
        starts from, in evaluation mode, in batches of ``TEACHER_BATCH`` users."""
        if self.distill_weight == 0 or self.teacher_refresh != "epoch":
            return
        was_training = self.training
        self.eval()
        try:
            table = self.views.table()
            self._user_representations = torch.cat(
                [
                    self._representations(self.user_histories[start : start + TEACHER_BATCH], table)
                    for start in range(0, len(self.user_histories), TEACHER_BATCH)
                ]
            )
        finally:
            self.train(was_training)

    def auxiliary_loss(self, inputs, labels, hidden, table, users) -> torch.Tensor:
        """distill_weight * MSE(h_u, mean of the similar users' h, without gradient)."""
        if self.distill_weight == 0:
            return hidden.new_zeros(())
        similar = self.similar_users[users]  # (B, k)
        if self.teacher_refresh == "epoch":
            if self._user_representations is None:
                raise RuntimeError("LLM-ESR: begin_epoch() must run before the epoch's steps")
            teacher = self._user_representations[similar]  # (B, k, 2d)
        else:
            with torch.no_grad():
                teacher = self._representations(self.user_histories[similar.reshape(-1)], table)
            teacher = teacher.view(*similar.shape, -1)
        return self.distill_weight * F.mse_loss(hidden[:, -1], teacher.mean(dim=1))


def pca_init(vectors: np.ndarray, d: int) -> np.ndarray:
    """PCA-d of the (centred, not normalised) vectors: the ID view's initial table."""
    return rec_pca(vectors, None, d, 0.0, pre_l2norm=False, center=True).z


def wrap(backbone, ctx: MethodContext) -> DualView:
    emb, settings, data = backbone.item_embedding, ctx.settings, ctx.data
    vectors = ctx.vectors()
    llm_view = ItemEmbedding(
        emb.n_items,
        emb.dim,
        mode="adapter",
        vectors=torch.from_numpy(vectors),
        adapter="linear2",
        adapter_hidden=max(1, vectors.shape[1] // 2),
        mask_token=emb.has_mask_token,
    )
    if data is None:
        raise ValueError("LLM-ESR needs the dataset (its users' training sequences)")
    k = int(settings["similar_users"])
    similar = ctx.array("similar_users", data.n_users)
    if similar.shape[1] < k:
        raise ValueError(f"LLM-ESR: {ctx.inputs['similar_users']} holds {similar.shape[1]} similar users, need {k}")
    histories = pad_left(data.train_sequences(), backbone.history_length)
    model = DualView(
        backbone,
        llm_view,
        cross_attention=bool(settings["cross_attention"]),
        cross_heads=int(settings["cross_heads"]),
        similar_users=torch.as_tensor(similar[:, :k], dtype=torch.int64),
        user_histories=torch.from_numpy(histories),
        distill_weight=float(settings["distill_weight"]),
        teacher_refresh=settings["teacher_refresh"],
    )
    for module in (llm_view.adapter, model.llm_to_id, model.id_to_llm):
        if module is not None:
            init_xavier(module)
    return model


#: the keys of ``llm_esr`` the similar_users job reads (the run reads the others)
RETRIEVAL_KEYS = ("retrieved_users", "user_domain", "user_text_chars", "user_max_tokens")


def inputs(need, settings) -> dict[str, str]:
    model = need.model(settings["text_encoder"])
    retrieval = {key: settings[key] for key in RETRIEVAL_KEYS}
    return {"item_vectors": need.reps(model), "similar_users": need.similar_users(model, retrieval)}


@register(
    "LLM-ESR",
    wrap=wrap,
    section="llm_esr",
    run_keys=("cross_attention", "cross_heads", "distill_weight", "teacher_refresh", "similar_users"),
    inputs=inputs,
    substitutes="OpenAI text-embedding-ada-002 (a paid service)",
)
def build(ctx: MethodContext) -> ItemEmbedding:
    """The collaborative (ID) view; :func:`wrap` adds the semantic view around the backbone."""
    return ctx.item_embedding(mode="trainable", vectors=torch.from_numpy(pca_init(ctx.vectors(), ctx.hidden_size)))
