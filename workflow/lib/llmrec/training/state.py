"""Resumable training state: one file, rewritten atomically after every epoch.

The state directory is chosen by the caller and lives outside the Snakemake outputs, so a
killed job resumes where it stopped instead of starting over. A state is only reused when
its fingerprint (settings + method + method inputs + data) matches the current run.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import io

log = logging.getLogger(__name__)

STATE_FILE = "state.pt"
STATE_VERSION = 1


def data_fingerprint(data) -> str:
    """Hash of a SequenceData's item count and every user's sequence."""
    digest = hashlib.sha1(str(data.n_items).encode())
    for seq in data.sequences:
        digest.update(np.asarray(seq, dtype=np.int64).tobytes())
        digest.update(b"|")
    return digest.hexdigest()


def _value_fingerprint(value: Any) -> Any:
    if isinstance(value, (np.ndarray, torch.Tensor)):
        array = np.ascontiguousarray(value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value)
        return f"{array.dtype}{array.shape}:" + hashlib.sha1(array.tobytes()).hexdigest()
    if isinstance(value, dict):
        return {str(k): _value_fingerprint(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_value_fingerprint(v) for v in value]
    return value if isinstance(value, (int, float, str, bool, type(None))) else repr(value)


def run_fingerprint(settings: dict, method: str, method_inputs: dict | None, data, device: str) -> str:
    """One hash for everything that determines a run's results."""
    content = {
        "settings": _value_fingerprint(settings),
        "method": method,
        "method_inputs": _value_fingerprint(method_inputs or {}),
        "data": data_fingerprint(data),
        "device": device,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def save(state_dir: str | Path, state: dict[str, Any]) -> None:
    with io.atomic_path(Path(state_dir) / STATE_FILE) as tmp:
        torch.save({"version": STATE_VERSION, **state}, tmp)


def load(state_dir: str | Path | None, fingerprint: str) -> dict[str, Any] | None:
    """The saved state if there is one for this exact run, else None."""
    if state_dir is None:
        return None
    path = Path(state_dir) / STATE_FILE
    if not path.exists():
        return None
    # our own file: it holds numpy RNG states, which the weights-only loader refuses
    state = torch.load(path, map_location="cpu", weights_only=False)
    if state.get("version") != STATE_VERSION or state.get("fingerprint") != fingerprint:
        log.warning("%s belongs to other settings or data; starting from scratch", path)
        return None
    return state
