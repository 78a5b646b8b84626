"""Reading what a method receives from earlier stages (``inputs``): item vectors, tables."""

from __future__ import annotations

import os

import numpy as np


def load_array(inputs: dict | None, key: str, method: str, n_rows: int | None = None) -> np.ndarray:
    """``inputs[key]`` as an array: a ``.npy`` path (from the rule) or an array (tests).

    ``n_rows``: the number of rows it must have (one per item or per user); a mismatch
    names the method, the input and the file.
    """
    if not inputs or key not in inputs:
        raise ValueError(f"{method} needs inputs[{key!r}]")
    value = inputs[key]
    array = np.load(value) if isinstance(value, (str, os.PathLike)) else np.asarray(value)
    if n_rows is not None and array.shape[0] != n_rows:
        source = value if isinstance(value, (str, os.PathLike)) else "the given array"
        raise ValueError(f"{method}: inputs[{key!r}] ({source}) has {array.shape[0]} rows, expected {n_rows}")
    return array


def load_vectors(inputs: dict | None, key: str, method: str, n_items: int) -> np.ndarray:
    """Float32 item vectors (row k = item k + 1), checked for shape and finiteness."""
    vectors = load_array(inputs, key, method, n_items).astype(np.float32)
    if vectors.ndim != 2 or not np.isfinite(vectors).all():
        raise ValueError(f"{method}: inputs[{key!r}] must be a finite 2-d array, got shape {vectors.shape}")
    return vectors
