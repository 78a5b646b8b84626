"""What a method's builder receives: :class:`MethodContext`.

The grid hands every method the same things: the catalogue size, the hidden size, the
run's settings (exactly the training and backbone keys and the method's declared run keys,
from :mod:`llmrec.plan`), the files of earlier stages (``inputs``: paths from the rule, or arrays in tests), whether the backbone
needs a [MASK] row, and the dataset (only its training part may be used).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from ..backbones.item_embedding import ItemEmbedding
from ..checks import check_item_vectors


@dataclass(frozen=True)
class MethodContext:
    method: str
    n_items: int
    hidden_size: int
    settings: Mapping[str, Any] = field(default_factory=dict)
    inputs: Mapping[str, Any] = field(default_factory=dict)
    mask_token: bool = False
    data: Any = None  # SequenceData

    def array(self, key: str, n_rows: int | None = None) -> np.ndarray:
        """``inputs[key]`` as an array, checked to have ``n_rows`` rows (one per item or
        per user); errors name the method, the input and the file."""
        if key not in self.inputs:
            raise ValueError(f"{self.method} needs inputs[{key!r}]")
        value = self.inputs[key]
        from_file = isinstance(value, (str, os.PathLike))
        array = np.load(value) if from_file else np.asarray(value)
        if n_rows is not None and array.shape[0] != n_rows:
            source = value if from_file else "the given array"
            raise ValueError(f"{self.method}: inputs[{key!r}] ({source}) has {array.shape[0]} rows, expected {n_rows}")
        return array

    def vectors(self, key: str = "item_vectors") -> np.ndarray:
        """Float32 item vectors (row k = item k + 1), checked for shape and degeneracy
        (``llmrec.checks``: non-finite, all-zero or identical rows, collapsed spread)."""
        vectors = self.array(key, self.n_items).astype(np.float32)
        value = self.inputs[key]
        source = value if isinstance(value, (str, os.PathLike)) else "the given array"
        check_item_vectors(
            vectors, f"{self.method}: inputs[{key!r}] ({source})", "",
            "the rule that wrote them (see its log and the setting it names)",
        )  # fmt: skip
        return vectors

    def item_embedding(self, **options) -> ItemEmbedding:
        """An :class:`ItemEmbedding` of this catalogue and hidden size (and [MASK] row)."""
        return ItemEmbedding(self.n_items, self.hidden_size, mask_token=self.mask_token, **options)
