"""Minimal LoRA: a frozen ``nn.Linear`` plus a trainable low-rank update B·A·(alpha/r).

As peft's defaults: A is Kaiming-uniform initialised and B is zero, so the wrapped model
starts out identical to the base; dropout acts on the LoRA branch's input only.
"""

from __future__ import annotations

import math
from typing import Iterable

import torch
from torch import nn

# LLMEmb's targets: every linear projection of a Llama/Qwen2 decoder block.
ALL_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class LoRALinear(nn.Module):
    def __init__(self, base: nn.Linear, r: int, alpha: float, dropout: float):
        super().__init__()
        self.base = base
        self.scale = alpha / r
        self.dropout = nn.Dropout(dropout)
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features, device=base.weight.device))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r, device=base.weight.device))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        base.weight.requires_grad_(False)
        if base.bias is not None:
            base.bias.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        update = self.dropout(x) @ self.lora_A.t().to(x.dtype) @ self.lora_B.t().to(x.dtype)
        return self.base(x) + update * self.scale

    def merged(self) -> nn.Linear:
        """The base layer with the update folded into its weight."""
        with torch.no_grad():
            delta = (self.lora_B @ self.lora_A) * self.scale
            self.base.weight += delta.to(self.base.weight.dtype)
        return self.base


def apply_lora(model: nn.Module, r: int, alpha: float, dropout: float,
               targets: Iterable[str] = ALL_PROJECTIONS) -> list[str]:
    """Freeze ``model`` and wrap every ``nn.Linear`` whose name ends in a target suffix.

    Returns the wrapped module names; raises if none matched (a wrong target list would
    otherwise train nothing).
    """
    targets = tuple(targets)
    model.requires_grad_(False)
    wrapped = []
    for name, module in list(model.named_modules()):
        if isinstance(module, nn.Linear) and name.split(".")[-1] in targets:
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, child, LoRALinear(module, r, alpha, dropout))
            wrapped.append(name)
    if not wrapped:
        raise ValueError(f"no nn.Linear module name ends in any of {targets}")
    return wrapped


def lora_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The LoRA weights only (names as in ``model.state_dict()``), on the CPU."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()
            if k.endswith((".lora_A", ".lora_B"))}


def merge_lora(model: nn.Module) -> nn.Module:
    """Replace every LoRALinear by its merged nn.Linear (in place); returns ``model``."""
    for name, module in list(model.named_modules()):
        if isinstance(module, LoRALinear):
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, child, module.merged())
    return model
