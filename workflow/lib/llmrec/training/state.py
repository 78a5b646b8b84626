"""Resumable training state: one file, rewritten atomically after every epoch.

The state directory is chosen by the caller and lives outside the Snakemake outputs, so a
killed job resumes where it stopped instead of starting over. A state is resumed only
when

* it can be read (a corrupt ``state.pt`` is discarded with a warning),
* its fingerprint matches the current run: the settings, the method, the *content*
  (sha256) of every input file, the training data, the device, the torch version and the
  library code a run executes (``provenance.code_digest``), and
* the run it holds had not finished. A job that runs although its run had finished was
  scheduled by Snakemake because its outputs are out of date or forced (``-F``,
  ``--forcerun train``): it retrains from scratch. Only a killed run resumes.

Anything else starts fresh, and the log says why, e.g.
``discarding state at results/state/.../state.pt: inputs changed (item_vectors digest
1a2b3c4d5e6f -> 0f9e8d7c6b5a)``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import io, provenance

log = logging.getLogger(__name__)

STATE_FILE = "state.pt"
STATE_VERSION = 2


def data_fingerprint(data) -> str:
    """Hash of a SequenceData's item count and every user's sequence."""
    digest = hashlib.sha1(str(data.n_items).encode())
    for seq in data.sequences:
        digest.update(np.asarray(seq, dtype=np.int64).tobytes())
        digest.update(b"|")
    return digest.hexdigest()


def _value_fingerprint(value: Any) -> Any:
    """A JSON-able stand-in for ``value``: arrays by their bytes, files by their content."""
    if isinstance(value, (np.ndarray, torch.Tensor)):
        array = np.ascontiguousarray(value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value)
        return f"{array.dtype}{array.shape}:" + hashlib.sha1(array.tobytes()).hexdigest()
    if isinstance(value, dict):
        return {str(k): _value_fingerprint(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_value_fingerprint(v) for v in value]
    if isinstance(value, os.PathLike) or (isinstance(value, str) and os.path.isfile(value)):
        if os.path.isfile(value):
            return "sha256:" + provenance.file_sha256(value)
        return str(value)
    return value if isinstance(value, (int, float, str, bool, type(None))) else repr(value)


def fingerprint_components(
    settings: dict, method: str, method_inputs: dict | None, data, device: str, extra_inputs: dict | None = None
) -> dict[str, Any]:
    """Everything that determines a run's results, by part (for the log's reasons)."""
    return {
        "settings": _value_fingerprint(settings),
        "method": method,
        "inputs": _value_fingerprint({**(extra_inputs or {}), **(method_inputs or {})}),
        "data": data_fingerprint(data),
        "device": device,
        "torch": torch.__version__,
        "code": provenance.code_digest(),
    }


def fingerprint_of(components: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(components, sort_keys=True, default=str).encode()).hexdigest()


def run_fingerprint(
    settings: dict, method: str, method_inputs: dict | None, data, device: str, extra_inputs: dict | None = None
) -> str:
    """One hash for everything that determines a run's results."""
    return fingerprint_of(fingerprint_components(settings, method, method_inputs, data, device, extra_inputs))


def _short(value: Any) -> str:
    text = str(value)
    return text.split(":", 1)[-1][:12] if isinstance(value, str) and len(text) > 24 else repr(value)


def mismatch_reason(old: dict[str, Any] | None, new: dict[str, Any]) -> str:
    """Why a saved state's components differ from the current ones, in words."""
    if not isinstance(old, dict):
        return "it was written by an older version of the workflow"
    reasons = []
    old_inputs, new_inputs = old.get("inputs", {}), new["inputs"]
    changed = [
        f"{name.replace('_', ' ')} digest {_short(old_inputs.get(name))} -> {_short(new_inputs.get(name))}"
        for name in sorted(set(old_inputs) | set(new_inputs))
        if old_inputs.get(name) != new_inputs.get(name)
    ]
    if changed:
        reasons.append(f"inputs changed ({'; '.join(changed)})")
    old_settings, new_settings = old.get("settings", {}), new["settings"]
    keys = sorted(k for k in set(old_settings) | set(new_settings) if old_settings.get(k) != new_settings.get(k))
    if keys:
        reasons.append(f"settings changed ({', '.join(keys)})")
    for part, words in (("method", "method"), ("data", "training data"), ("device", "device"),
                        ("torch", "torch version"), ("code", "library code")):  # fmt: skip
        if old.get(part) != new[part]:
            reasons.append(f"{words} changed ({_short(old.get(part))} -> {_short(new[part])})")
    return "; ".join(reasons) or "fingerprint differs"


def save(state_dir: str | Path, state: dict[str, Any]) -> None:
    path = Path(state_dir) / STATE_FILE
    try:
        with io.atomic_path(path) as tmp:
            torch.save({"version": STATE_VERSION, **state}, tmp)
    except RuntimeError as err:  # torch's writer reports a full disk as a RuntimeError
        raise OSError(f"could not write the training state {path}: {err} (is the disk full?)") from err


def load(state_dir: str | Path | None, fingerprint: str, components: dict | None = None) -> dict[str, Any] | None:
    """The saved state if there is one to resume for this exact run, else None.

    None (start fresh, with a warning saying why) for an unreadable file, a state of other
    inputs, settings, data or code, and a run that had finished (see the module doc).
    """
    if state_dir is None:
        return None
    path = Path(state_dir) / STATE_FILE
    if not path.exists():
        return None
    try:
        # our own file: it holds numpy RNG states, which the weights-only loader refuses
        state = torch.load(path, map_location="cpu", weights_only=False)
        if not isinstance(state, dict):
            raise TypeError(f"holds a {type(state).__name__}, not a state")
    except Exception as err:  # noqa: BLE001 - any unreadable file is discarded the same way
        log.warning("discarding state at %s: the file is unreadable (%s: %s); starting fresh",
                    path, type(err).__name__, err)  # fmt: skip
        return None
    if state.get("version") != STATE_VERSION or state.get("fingerprint") != fingerprint:
        reason = mismatch_reason(state.get("components"), components) if components else "fingerprint differs"
        log.warning("discarding state at %s: %s; starting fresh", path, reason)
        return None
    if state.get("finished"):
        log.warning(
            "discarding state at %s: its run had finished, and Snakemake scheduled this job "
            "again (outputs out of date or forced); retraining from scratch", path,
        )  # fmt: skip
        return None
    return state
