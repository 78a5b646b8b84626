"""Content digests of the files a job consumes, and of the code that decides a run.

A training run's resumable state is valid only for exactly the inputs it was trained on:
:func:`input_digests` gives the sha256 of each input file's content (the path does not
matter, so a moved results folder keeps its states), and :func:`code_digest` the sha256
of the library modules a training run executes. Both go into the state's fingerprint
(``training.state``) and into the run's ``settings.json`` (``inputs``, ``code_digest``),
so that two result folders can be compared down to the first artifact that differs.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Any, Mapping

_CHUNK = 1 << 20
_PACKAGE = Path(__file__).resolve().parent

#: the parts of the library a training run executes (their source is hashed)
TRAINING_CODE = (
    "training",
    "backbones",
    "methods",
    "data/processed.py",
    "experiment.py",
    "metrics.py",
    "losses.py",
    "diagnostics.py",
    "graph.py",
    "checks.py",
)


@functools.lru_cache(maxsize=256)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file's content (cached per path, size and modification time)."""
    stat = os.stat(path)
    return _sha256_cached(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


def input_digests(paths: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """{name: {"path", "sha256"}} of every input that is a file (others are left out)."""
    out = {}
    for name, path in sorted(paths.items()):
        if isinstance(path, (str, os.PathLike)) and Path(path).is_file():
            out[name] = {"path": str(path), "sha256": file_sha256(path)}
    return out


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """sha256 over the source of :data:`TRAINING_CODE` (file names and contents)."""
    digest = hashlib.sha256()
    for part in TRAINING_CODE:
        root = _PACKAGE / part
        files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
        for file in files:
            if file.exists():
                digest.update(str(file.relative_to(_PACKAGE)).encode() + b"\0")
                digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()
