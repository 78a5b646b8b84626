"""One resumable optimisation loop shared by every fine-tuning stage.

AdamW, linear warm-up then linear decay to zero (the Hugging Face Trainer's default
schedule), gradient clipping, optional gradient accumulation over micro-batches, and a
checkpoint of the trainable weights + optimizer + RNG + step every ``save_every`` steps.

Determinism and resuming: the examples of step ``k`` are a slice of a permutation drawn
from ``(seed, epoch)``, and each step's own randomness (masking, views) from
``(seed, k)``; only dropout draws from torch's global RNG, whose state is checkpointed.
So a run killed and resumed from its last checkpoint ends with the same weights as an
uninterrupted one (on the CPU).
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import nn

from llmrec.lm.model import autocast
from llmrec.training import state as state_io
from llmrec.training.runtime import capture_rng, restore_rng

log = logging.getLogger(__name__)

# Keys of every stage's step loop, with defaults; a stage adds its own keys.
LOOP_DEFAULTS: dict[str, Any] = {
    "steps": 100,
    "batch_size": 8,
    "micro_batch_size": None,  # None: the whole batch in one forward pass
    "lr": 1e-4,
    "warmup": 0,
    "weight_decay": 0.0,
    "grad_clip": 1.0,  # max gradient norm (null: no clipping)
    "save_every": 100,  # checkpoint interval in steps (null or 0: never)
}
# Keys that do not change the result, left out of the checkpoint fingerprint.
NOT_FINGERPRINTED = ("save_every",)
LOG_INTERVAL_S = 30.0

StepLoss = Callable[[np.ndarray, np.random.Generator], torch.Tensor]


@dataclass
class LoopResult:
    losses: list[float] = field(default_factory=list)  # one per step
    seconds: float = 0.0  # training time, summed over resumed attempts
    resumed_from: int = 0  # step the last attempt started at

    def summary(self) -> dict[str, Any]:
        tenth = max(1, len(self.losses) // 10)
        head, tail = self.losses[:tenth], self.losses[-tenth:]
        return {
            "steps": len(self.losses),
            "loss_first": float(np.mean(head)) if self.losses else None,
            "loss_last": float(np.mean(tail)) if self.losses else None,
            "losses": [round(x, 5) for x in self.losses],
            "train_seconds": round(self.seconds, 2),
            "seconds_per_step": round(self.seconds / max(1, len(self.losses)), 3),
            "resumed_from_step": self.resumed_from,
        }


def resolve(defaults: Mapping[str, Any], settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """``defaults`` updated by ``settings``, nested dicts merged; unknown keys raise."""
    merged = copy.deepcopy(dict(defaults))
    for key, value in (settings or {}).items():
        if key not in merged:
            raise ValueError(f"unknown setting {key!r}; known: {sorted(merged)}")
        if isinstance(merged[key], dict) and isinstance(value, Mapping):
            merged[key] = resolve(merged[key], value)
        else:
            merged[key] = value
    return merged


def fingerprint(**content: Any) -> str:
    """sha256 of everything that determines a stage's result (settings, inputs)."""
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def lr_factor(step: int, warmup: int, steps: int) -> float:
    """Linear warm-up over ``warmup`` steps, then linear decay to zero at ``steps``."""
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (steps - step) / max(1, steps - warmup))


def batch_indices(step: int, n_examples: int, batch_size: int, seed: int) -> np.ndarray:
    """Example indices of ``step``: epochs are seeded permutations, the last partial batch
    of an epoch is dropped (a set smaller than a batch is one batch)."""
    per_epoch = max(1, n_examples // batch_size)
    epoch, slot = divmod(step, per_epoch)
    order = np.random.default_rng([seed, epoch]).permutation(n_examples)
    return order[slot * batch_size : (slot + 1) * batch_size]


def run_steps(
    trainable: nn.Module,
    step_loss: StepLoss,
    n_examples: int,
    settings: Mapping[str, Any],
    *,
    seed: int,
    dtype: str = "float32",
    state_dir: str | Path | None = None,
    state_fingerprint: str = "",
    name: str = "stage",
) -> LoopResult:
    """Optimise the parameters of ``trainable`` that require grad for ``settings["steps"]``.

    ``step_loss(indices, rng)`` returns the mean loss of the examples ``indices``, using
    ``rng`` (a numpy Generator private to the step) for any random choice. With
    ``micro_batch_size`` it is called per micro-batch and the gradients are accumulated,
    weighted by the micro-batch's share of the batch (the loss must be a per-example
    mean that decomposes, i.e. not an in-batch contrastive loss). A checkpoint in
    ``state_dir`` with the same ``state_fingerprint`` is resumed from.
    """
    params = {n: p for n, p in trainable.named_parameters() if p.requires_grad}
    if not params:
        raise ValueError(f"{name}: nothing to train (no parameter requires grad)")
    device = next(iter(params.values())).device
    steps, batch_size = int(settings["steps"]), int(settings["batch_size"])
    micro = int(settings.get("micro_batch_size") or batch_size)
    # fused: one kernel over all tensors (10x faster than the default on the CPU)
    optimizer = torch.optim.AdamW(params.values(), lr=settings["lr"],
                                  weight_decay=settings["weight_decay"], fused=True)
    result = LoopResult()

    saved = state_io.load(state_dir, state_fingerprint)
    if saved is not None:
        with torch.no_grad():
            for n, p in params.items():
                p.copy_(saved["weights"][n])
        optimizer.load_state_dict(saved["optimizer"])
        restore_rng(saved["rng"])
        result = LoopResult(saved["losses"], saved["seconds"], len(saved["losses"]))
        log.info("%s: resuming at step %d of %d from %s", name, result.resumed_from, steps, state_dir)

    trainable.train()
    started, last_log = time.perf_counter(), 0.0
    seconds_before = result.seconds
    for step in range(len(result.losses), steps):
        for group in optimizer.param_groups:
            group["lr"] = settings["lr"] * lr_factor(step, int(settings["warmup"]), steps)
        indices = batch_indices(step, n_examples, batch_size, seed)
        rng = np.random.default_rng([seed, step, 1])
        optimizer.zero_grad(set_to_none=True)
        loss_value = 0.0
        for start in range(0, len(indices), micro):
            chunk = indices[start : start + micro]
            with autocast(device, dtype):
                loss = step_loss(chunk, rng)
            share = len(chunk) / len(indices)
            (loss * share).backward()
            loss_value += float(loss.detach()) * share
        if not math.isfinite(loss_value):
            raise FloatingPointError(f"{name}: loss is {loss_value} at step {step + 1}")
        if settings.get("grad_clip"):
            torch.nn.utils.clip_grad_norm_(params.values(), settings["grad_clip"])
        optimizer.step()
        result.losses.append(loss_value)
        result.seconds = seconds_before + time.perf_counter() - started
        done = step + 1
        if time.perf_counter() - started - last_log > LOG_INTERVAL_S or done in (1, steps):
            last_log = time.perf_counter() - started
            log.info("%s: step %d/%d loss %.4f (%.2f s/step)", name, done, steps, loss_value,
                     (result.seconds - seconds_before) / (done - result.resumed_from))
        every = settings.get("save_every") or 0
        if state_dir is not None and (done == steps or (every and done % every == 0)):
            state_io.save(state_dir, {
                "fingerprint": state_fingerprint,
                "weights": {n: p.detach().cpu().clone() for n, p in params.items()},
                "optimizer": optimizer.state_dict(),
                "rng": capture_rng(),
                "losses": result.losses,
                "seconds": result.seconds,
            })
    return result


def clear_state(state_dir: str | Path | None) -> None:
    """Remove a finished stage's checkpoint (its final output has been written)."""
    if state_dir is not None and Path(state_dir).exists():
        shutil.rmtree(state_dir)
