"""Seeds, devices and random-number-generator state (for determinism and resuming)."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import random
from typing import Any, Iterator

import numpy as np
import torch

log = logging.getLogger(__name__)

_GLIBC_M_TRIM_THRESHOLD = -1
_GLIBC_M_MMAP_THRESHOLD = -3
_allocator_configured = False


def keep_freed_memory(mmap_threshold: int = 2**30) -> bool:
    """Make glibc keep freed tensor buffers for reuse instead of returning them to the OS.

    Why: glibc serves every allocation above its mmap threshold (at most 32 MiB by
    default) with a fresh ``mmap``, so a training step's large tensors (a logits chunk
    is 100+ MiB) are page-faulted and zeroed by the kernel at every step; on the 2-core
    CPU machines this more than doubled the time of a SASRec step. With a high mmap
    threshold and no heap trimming the buffers are recycled. Cost: the process keeps
    its peak memory until it exits. Process-wide, idempotent; a no-op off glibc.
    """
    global _allocator_configured
    if _allocator_configured:
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = mallopt(_GLIBC_M_MMAP_THRESHOLD, int(mmap_threshold)) == 1
    ok = mallopt(_GLIBC_M_TRIM_THRESHOLD, 2**31 - 1) == 1 and ok
    _allocator_configured = ok
    log.debug("glibc allocator configured to keep freed memory: %s", ok)
    return ok


def resolve_device(device: str | None = "auto") -> torch.device:
    """``"auto"``/None: cuda if available, else cpu; anything else is passed to torch."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and every GPU)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def make_generator(seed: int, device: torch.device) -> torch.Generator:
    """A private generator for shuffling and masking, independent of the global one
    (which dropout draws from)."""
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator


def capture_rng(generator: torch.Generator | None = None) -> dict[str, Any]:
    """Every RNG state that training consumes, in a torch.save-able dict."""
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    if generator is not None:
        state["generator"] = generator.get_state()
    return state


def restore_rng(state: dict[str, Any], generator: torch.Generator | None = None) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if generator is not None and "generator" in state:
        generator.set_state(state["generator"])


@contextlib.contextmanager
def preserved_rng() -> Iterator[None]:
    """Run a block (e.g. a diagnostic hook) without disturbing the global RNG streams, so
    that adding diagnostics never changes training results."""
    state = capture_rng()
    try:
        yield
    finally:
        restore_rng(state)
