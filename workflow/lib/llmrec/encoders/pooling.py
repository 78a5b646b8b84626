"""Pooling token hidden states (batch, tokens, hidden) into one vector per text."""

from __future__ import annotations

import torch

POOLINGS = ("mean", "last")


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean of the hidden states of the attended (non-padding) tokens of each row."""
    keep = attention_mask.bool().unsqueeze(-1)
    # torch.where rather than a multiplication: a padding position's hidden state may be
    # NaN/inf in some attention kernels, and NaN * 0 is still NaN.
    summed = torch.where(keep, hidden, torch.zeros((), dtype=hidden.dtype)).sum(dim=1)
    counts = keep.sum(dim=1).clamp(min=1).to(hidden.dtype)
    return summed / counts


def last_token_index(attention_mask: torch.Tensor) -> torch.Tensor:
    """Position of the last attended token of each row; right or left padding alike."""
    n_positions = attention_mask.shape[1]
    # argmax returns the first maximum: in the flipped mask that is the last attended token.
    return n_positions - 1 - attention_mask.flip(-1).to(torch.int32).argmax(dim=-1)


def last_token_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Hidden state of the last attended token of each row (the usual causal-LM summary)."""
    rows = torch.arange(hidden.shape[0], device=hidden.device)
    return hidden[rows, last_token_index(attention_mask)]


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: str) -> torch.Tensor:
    if pooling == "mean":
        return mean_pool(hidden, attention_mask)
    if pooling == "last":
        return last_token_pool(hidden, attention_mask)
    raise ValueError(f"pooling must be one of {POOLINGS}, not {pooling!r}")
