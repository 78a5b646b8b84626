"""Degenerate item vectors are refused, where they are written and where they are read.

A vector file that holds no information about the items (every row the same, rows of
zeros, NaN) still trains and still yields metrics; those numbers would be silently wrong.
:func:`check_item_vectors` refuses such an array with a message that names the file, the
model that made it and the setting that likely caused it; :func:`write_item_vectors`
checks before it writes (atomically), so a refused output leaves nothing behind.

The checks (documented constants, see the README's "Trust" section):

* every value finite;
* no all-zero row;
* not all rows identical, and at most :data:`MAX_DUPLICATE_SHARE` of the rows a copy of
  another row (items with the same text may share a vector, most items may not);
* the spread of the rows around their mean, relative to their mean squared norm,
  ``mean ||x_i - mean||^2 / mean ||x_i||^2``, at least :data:`MIN_RELATIVE_SPREAD`
  (1 for centred vectors; a text cut to its first token gives ~1e-12).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

#: smallest allowed spread of the rows around their mean, relative to their squared norm
MIN_RELATIVE_SPREAD = 1e-6
#: largest allowed share of rows that repeat an earlier row
MAX_DUPLICATE_SHARE = 0.5


class DegenerateVectorsError(ValueError):
    """The item vectors carry (almost) no information about the items."""


def vector_problems(x: np.ndarray) -> list[str]:
    """What is degenerate about ``x`` (an items x dim array), in words; [] if nothing."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        return [f"expected a non-empty 2-d array (items x dim), got shape {x.shape}"]
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if bad.size:
        return [f"{bad.size} of {len(x)} rows hold NaN or infinite values (first rows {bad[:5].tolist()})"]
    problems = []
    x64 = x.astype(np.float64)
    zero = np.flatnonzero(~x64.any(axis=1))
    if zero.size:
        problems.append(f"{zero.size} of {len(x)} rows are all zero (first rows {zero[:5].tolist()})")
    if len(x) > 1:
        rows = np.ascontiguousarray(x).view(np.dtype((np.void, x.dtype.itemsize * x.shape[1]))).ravel()
        distinct = len(np.unique(rows))
        if distinct == 1:
            problems.append(f"all {len(x)} rows are identical")
        elif (len(x) - distinct) / len(x) > MAX_DUPLICATE_SHARE:
            problems.append(
                f"only {distinct} of {len(x)} rows are distinct (more than {MAX_DUPLICATE_SHARE:.0%} "
                "repeat another row)"
            )
        mean_sq = float((x64**2).sum(axis=1).mean())
        spread = float(((x64 - x64.mean(axis=0)) ** 2).sum(axis=1).mean())
        relative = spread / mean_sq if mean_sq > 0 else 0.0
        if distinct > 1 and relative < MIN_RELATIVE_SPREAD:
            problems.append(
                f"the rows have collapsed onto one point: relative spread {relative:.3g} "
                f"< {MIN_RELATIVE_SPREAD:g}"
            )
    return problems


def check_item_vectors(x: np.ndarray, where: Any, made_by: str = "", likely_cause: str = "") -> None:
    """Raise :class:`DegenerateVectorsError` naming ``where`` (the file), ``made_by`` (the
    model or method) and ``likely_cause`` (the settings to look at) if ``x`` is degenerate."""
    problems = vector_problems(x)
    if not problems:
        return
    message = f"{where}: degenerate item vectors"
    if made_by:
        message += f" ({made_by})"
    message += ": " + "; ".join(problems)
    if likely_cause:
        message += f". Likely cause: {likely_cause}"
    raise DegenerateVectorsError(message)


def write_item_vectors(path: str | os.PathLike, x: np.ndarray, made_by: str = "", likely_cause: str = "") -> None:
    """Check ``x`` (see :func:`check_item_vectors`), then save it as ``.npy`` atomically; a
    refused array leaves no file behind (and removes a stale one at ``path``)."""
    from . import io

    try:
        check_item_vectors(x, path, made_by, likely_cause)
    except DegenerateVectorsError as err:
        if os.path.exists(path):
            os.remove(path)
        raise DegenerateVectorsError(f"{err}; nothing was written") from None
    io.write_npy(path, x)
