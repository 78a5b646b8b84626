"""Losses shared by more than one stage: LLMEmb's soft-target contrastive loss (its SCFT
fine-tuning of the language model and its RAT alignment of the item table use the same
``Contrastive_Loss``; LLM-ESR has it too)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ContrastiveLoss(nn.Module):
    """LLMEmb's soft-target contrastive loss (or plain InfoNCE) between paired rows.

    For unnormalised X, Y (B x D): logits = X Y^T / tau; targets
    T = softmax_row(((X X^T + Y Y^T) / 2) * tau) (multiplied, not divided, by tau, as in
    the code); loss = mean_i (CE(logits_i, T_i) + CE(logits^T_i, T^T_i)) / 2. ``kind =
    "info_nce"`` uses the identity as targets. tau is a parameter, trainable with
    ``learn_tau`` (SCFT: initialised to 3 and trained; RAT: fixed at 2).
    """

    def __init__(self, tau_init: float = 3.0, learn_tau: bool = True, kind: str = "soft_contrastive"):
        super().__init__()
        if kind not in ("soft_contrastive", "info_nce"):
            raise ValueError(f"unknown contrastive loss {kind!r}; allowed: 'soft_contrastive', 'info_nce'")
        self.tau = nn.Parameter(torch.tensor(float(tau_init)), requires_grad=learn_tau)
        self.kind = kind

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        logits = x @ y.T / self.tau
        if self.kind == "info_nce":
            targets = torch.eye(len(x), dtype=logits.dtype, device=logits.device)
        else:
            targets = F.softmax((x @ x.T + y @ y.T) / 2 * self.tau, dim=-1)
        x_loss = -(targets * F.log_softmax(logits, dim=-1)).sum(dim=1)
        y_loss = -(targets.T * F.log_softmax(logits.T, dim=-1)).sum(dim=1)
        return ((x_loss + y_loss) / 2).mean()
