"""Adam as ``torch.optim.Adam(fused=True)`` computes it, without ``torch.optim``.

Why: creating any ``torch.optim`` optimizer, and every ``step()``, imports
``torch._dynamo`` (for ``torch.compile``, which we never use): about 2 s per training
process on a laptop CPU, more than a third of a short run's start-up. This class calls
the same fused kernel (``torch._fused_adam_``) with the same state (a float32 step
counter, first and second moments, created at a parameter's first step with a gradient),
so its updates are bit-identical to torch's (tests/test_training.py checks that).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


class FusedAdam:
    """Adam (L2 weight decay, no amsgrad) over one list of parameters."""

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.betas, self.eps, self.weight_decay = float(lr), betas, float(eps), float(weight_decay)
        self.state: dict[int, dict[str, torch.Tensor]] = {}  # parameter index -> moments

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        groups: dict[tuple, list[int]] = {}
        for index, p in enumerate(self.params):
            if p.grad is None:
                continue
            if index not in self.state:
                self.state[index] = {
                    "step": torch.zeros((), dtype=torch.float32, device=p.device),
                    "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                    "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format),
                }
            groups.setdefault((p.device, p.dtype), []).append(index)
        for indices in groups.values():
            states = [self.state[i] for i in indices]
            steps = [s["step"] for s in states]
            torch._foreach_add_(steps, 1)
            torch._fused_adam_(
                [self.params[i] for i in indices],
                [self.params[i].grad for i in indices],
                [s["exp_avg"] for s in states],
                [s["exp_avg_sq"] for s in states],
                [],
                steps,
                amsgrad=False,
                lr=self.lr,
                beta1=self.betas[0],
                beta2=self.betas[1],
                weight_decay=self.weight_decay,
                eps=self.eps,
                maximize=False,
                grad_scale=None,
                found_inf=None,
            )

    def state_dict(self) -> dict:
        return {
            "state": {i: {k: v.detach().clone() for k, v in s.items()} for i, s in self.state.items()},
            "hyper": {"lr": self.lr, "betas": list(self.betas), "eps": self.eps, "weight_decay": self.weight_decay},
        }

    def load_state_dict(self, saved: dict) -> None:
        for index, moments in saved["state"].items():
            device = self.params[int(index)].device
            self.state[int(index)] = {k: v.to(device) for k, v in moments.items()}
