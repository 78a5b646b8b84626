"""Building blocks shared by the backbones: fast dropout, self-attention, transformer blocks."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# Dropout keep/drop decisions are made from random bytes: one RNG call yields 8 of them.
_BYTE_LEVELS = 256


def dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Inverted dropout; on CPU from random bytes instead of ``bernoulli_``.

    Why: on CPU torch draws each ``bernoulli_``/``rand`` number with one serial call of its
    Mersenne twister, so a dropout mask costs ~8 ns per element, more than the layer's
    matrix products (measured on ml-100k with SASRec's shapes). Drawing int64 words and reading them as
    bytes needs one call per 8 elements (about 5x faster per mask here). The drop
    probability is rounded to a multiple of 1/256 (0.2 -> 51/256 = 0.199); the mask is
    drawn from torch's global generator, so ``torch.manual_seed`` makes it reproducible.
    On GPU the stock kernel is already fast and is used as is.
    """
    if not training or p <= 0.0:
        return x
    if x.device.type != "cpu":
        return F.dropout(x, p, True)
    threshold = round(p * _BYTE_LEVELS)
    if threshold >= _BYTE_LEVELS:
        return torch.zeros_like(x)
    n = x.numel()
    words = torch.empty((n + 7) // 8, dtype=torch.int64, device=x.device)
    words.random_(-(2**63), 2**63 - 1)  # full 64-bit range: every byte uniform
    random_bytes = words.view(torch.uint8)[:n].view(x.shape)
    keep = (random_bytes >= threshold).to(x.dtype).mul_(_BYTE_LEVELS / (_BYTE_LEVELS - threshold))
    return x * keep


class Dropout(nn.Module):
    """``nn.Dropout`` replacement using :func:`dropout`."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU}


def attention_bias(item_seq: torch.Tensor, causal: bool) -> torch.Tensor:
    """Additive (B, 1, L, L) attention bias: 0 where query i may attend key j, else -inf.

    Keys at padding positions are hidden; with ``causal`` so are keys after the query.
    Every query may always see itself, so rows of padding queries are never all -inf
    (their outputs are never used, but NaNs would spread through the backward pass).
    """
    length = item_seq.shape[1]
    allowed = (item_seq > 0)[:, None, None, :]  # (B, 1, 1, L) valid keys
    if causal:
        allowed = allowed & torch.ones(length, length, dtype=torch.bool, device=item_seq.device).tril()
    allowed = allowed | torch.eye(length, dtype=torch.bool, device=item_seq.device)
    zeros = torch.zeros((), device=item_seq.device)
    return torch.where(allowed, zeros, -math.inf)


class MultiHeadAttention(nn.Module):
    """Multi-head attention with separate query and key/value inputs (pmixer's pre-LN
    SASRec feeds LayerNorm(x) as query and x as keys/values)."""

    def __init__(self, hidden: int, n_heads: int, attn_dropout: float) -> None:
        super().__init__()
        if hidden % n_heads:
            raise ValueError(f"hidden size {hidden} is not divisible by n_heads {n_heads}")
        self.n_heads, self.head_dim = n_heads, hidden // n_heads
        self.query = nn.Linear(hidden, hidden)
        self.key_value = nn.Linear(hidden, 2 * hidden)
        self.output = nn.Linear(hidden, hidden)
        self.attn_dropout = Dropout(attn_dropout)

    def forward(self, query: torch.Tensor, context: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        batch, length, hidden = query.shape
        heads = (batch, length, self.n_heads, self.head_dim)
        q = self.query(query).view(heads).transpose(1, 2)  # (B, H, L, hd)
        k, v = self.key_value(context).view(batch, length, 2, self.n_heads, self.head_dim).unbind(2)
        k, v = k.transpose(1, 2), v.transpose(1, 2)
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.head_dim) + bias, dim=-1)
        mixed = self.attn_dropout(weights) @ v  # (B, H, L, hd)
        return self.output(mixed.transpose(1, 2).reshape(batch, length, hidden))


class FeedForward(nn.Module):
    """Position-wise Linear -> activation -> dropout -> Linear."""

    def __init__(self, hidden: int, inner: int, dropout_p: float, activation: str) -> None:
        super().__init__()
        self.expand = nn.Linear(hidden, inner)
        self.activation = ACTIVATIONS[activation]()
        self.dropout = Dropout(dropout_p)
        self.project = nn.Linear(inner, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(self.dropout(self.activation(self.expand(x))))


class TransformerBlock(nn.Module):
    """One attention + feed-forward block, in one of two layouts.

    ``"post"`` (RecBole/BERT): x = LN(x + drop(attn(x))); x = LN(x + drop(ffn(x))).
    ``"pre"`` (pmixer/SASRec.pytorch, RecSys'23): q = LN(x); x = q + drop(attn(q, x));
    x = x + drop(ffn(LN(x))); the encoder adds a final LayerNorm.
    """

    def __init__(self, hidden, n_heads, inner, dropout_p, attn_dropout, activation, norm) -> None:
        super().__init__()
        if norm not in ("pre", "post"):
            raise ValueError(f"unknown norm layout {norm!r}; allowed: 'pre', 'post'")
        self.norm = norm
        self.attention = MultiHeadAttention(hidden, n_heads, attn_dropout)
        self.attention_norm = nn.LayerNorm(hidden, eps=1e-12 if norm == "post" else 1e-8)
        self.feed_forward = FeedForward(hidden, inner, dropout_p, activation)
        self.feed_forward_norm = nn.LayerNorm(hidden, eps=1e-12 if norm == "post" else 1e-8)
        self.dropout = Dropout(dropout_p)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        if self.norm == "post":
            x = self.attention_norm(x + self.dropout(self.attention(x, x, bias)))
            return self.feed_forward_norm(x + self.dropout(self.feed_forward(x)))
        query = self.attention_norm(x)
        x = query + self.dropout(self.attention(query, x, bias))
        return x + self.dropout(self.feed_forward(self.feed_forward_norm(x)))


class TransformerEncoder(nn.Module):
    def __init__(
        self, hidden, n_layers, n_heads, inner, dropout_p, attn_dropout, activation, norm
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            TransformerBlock(hidden, n_heads, inner, dropout_p, attn_dropout, activation, norm)
            for _ in range(n_layers)
        )
        # the pre-LN layout leaves the residual stream un-normalised: close it with one LN
        self.final_norm = nn.LayerNorm(hidden, eps=1e-8) if norm == "pre" else nn.Identity()

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, bias)
        return self.final_norm(x)


def init_weights(module: nn.Module, std: float) -> None:
    """RecBole/BERT init for Linear and LayerNorm; recurrent and item tables are left alone."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            m.weight.data.normal_(0.0, std)
            if m.bias is not None:
                m.bias.data.zero_()
        elif isinstance(m, nn.LayerNorm):
            m.weight.data.fill_(1.0)
            m.bias.data.zero_()


@torch.no_grad()
def init_xavier(module: nn.Module) -> None:
    """Xavier-normal weights and zero biases for every Linear (the baselines' adapters)."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_normal_(m.weight)
            if m.bias is not None:
                m.bias.zero_()
