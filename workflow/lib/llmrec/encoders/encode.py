"""Texts -> one float32 vector per text, from the hidden states of a pretrained model.

:func:`encode_texts` is the engine; :func:`encode_items` applies it to a processed
dataset's ``items.tsv`` and writes ``<vectors>.npy`` (row ``k`` = item id ``k + 1``) plus a
JSON record of how the vectors were made.

Determinism: eval mode (no dropout), a fixed torch seed, inference mode, and a result
that does not depend on batching (texts are sorted by length for speed, padded within a
batch, pooled over the attended tokens only, and returned in input order).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from llmrec import io
from llmrec.checks import write_item_vectors
from llmrec.encoders.pooling import POOLINGS, pool
from llmrec.encoders.sources import (
    KINDS,
    LoadedModel,
    ModelLocation,
    as_location,
    load_model,
)

log = logging.getLogger(__name__)

# Settings of an encoding run (config key `settings` of a text model), with defaults.
DEFAULT_SETTINGS: dict[str, Any] = {
    "pooling": "mean",  # mean | last (hidden state of the last real token)
    "layer": None,  # None: the last layer's output; an int indexes hidden_states (0 = embeddings)
    "batch_size": 32,
    "max_tokens": 128,  # each item text is cut to this many tokens (None: no cut)
    "prompt_template": None,  # e.g. "Item: {text}. In one word:"; applied after the cut
    "padding_side": "right",  # right | left; both give the same vectors
    "dtype": "float32",  # float32 | bfloat16 | float16 (the output is always float32)
    "device": "auto",  # auto (cuda if available, else cpu) | cpu | cuda | cuda:1 ...
    "seed": 0,
    "progress": True,  # log throughput while encoding
}

PROGRESS_INTERVAL_S = 10.0


class EmbeddingCheckError(ValueError):
    """The vectors are not a finite float32 (n_texts, hidden) array."""


def encode_settings(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """``DEFAULT_SETTINGS`` updated with ``settings``; unknown keys or values raise."""
    settings = dict(settings or {})
    unknown = settings.keys() - DEFAULT_SETTINGS.keys()
    if unknown:
        raise ValueError(
            f"unknown encoder settings {sorted(unknown)}; known: {sorted(DEFAULT_SETTINGS)}"
        )
    merged = {**DEFAULT_SETTINGS, **settings}
    if merged["pooling"] not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, not {merged['pooling']!r}")
    if merged["padding_side"] not in ("left", "right"):
        raise ValueError(f"padding_side must be left or right, not {merged['padding_side']!r}")
    if int(merged["batch_size"]) < 1:
        raise ValueError("batch_size must be at least 1")
    if merged["max_tokens"] is not None and int(merged["max_tokens"]) < 1:
        raise ValueError("max_tokens must be at least 1 (or null for no limit)")
    template = merged["prompt_template"]
    if template is not None and "{text}" not in template:
        raise ValueError(f"prompt_template {template!r} must contain {{text}}")
    return merged


def encode_texts(
    texts: Sequence[str],
    model: LoadedModel | ModelLocation | Mapping[str, Any] | str | os.PathLike,
    *,
    kind: str | None = None,
    pooling: str = DEFAULT_SETTINGS["pooling"],
    layer: int | None = DEFAULT_SETTINGS["layer"],
    batch_size: int = DEFAULT_SETTINGS["batch_size"],
    max_tokens: int | None = DEFAULT_SETTINGS["max_tokens"],
    prompt_template: str | None = DEFAULT_SETTINGS["prompt_template"],
    padding_side: str = DEFAULT_SETTINGS["padding_side"],
    dtype: str = DEFAULT_SETTINGS["dtype"],
    device: str = DEFAULT_SETTINGS["device"],
    seed: int = DEFAULT_SETTINGS["seed"],
    progress: bool = DEFAULT_SETTINGS["progress"],
) -> np.ndarray:
    """Embed ``texts``; returns a float32 array (len(texts), hidden size) in input order.

    ``model`` is a :class:`LoadedModel` (reused as is: ``kind``, ``dtype`` and ``device``
    are then ignored), a :class:`ModelLocation`, a model spec dict, or a model folder.
    See ``DEFAULT_SETTINGS`` for the meaning of the keyword arguments.
    """
    import torch

    encode_settings(dict(pooling=pooling, layer=layer, batch_size=batch_size,
                         max_tokens=max_tokens, prompt_template=prompt_template,
                         padding_side=padding_side, dtype=dtype, device=device))
    texts = list(texts)
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"text at index {index} is {type(text).__name__}, not str")
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if not isinstance(model, LoadedModel):
        model = load_model(as_location(model, kind=kind), dtype=dtype, device=_device(device))
    if not texts:
        return np.zeros((0, model.hidden_size), dtype=np.float32)

    encodings = tokenize(model.tokenizer, texts, max_tokens, prompt_template,
                         _position_limit(model.network.config))
    pad_id = _pad_token_id(model.tokenizer)
    network = model.network.eval()
    run_device = next(network.parameters()).device
    accepted = set(inspect.signature(network.forward).parameters)
    pass_positions = padding_side == "left" and "position_ids" in accepted

    # Longest first: similar lengths share a batch (little padding), and an out-of-memory
    # error shows up in the first batch rather than at the end.
    order = sorted(range(len(texts)), key=lambda i: -len(encodings[i]["input_ids"]))
    vectors = np.empty((len(texts), model.hidden_size), dtype=np.float32)
    meter = _Throughput(len(texts), enabled=progress)
    torch.manual_seed(seed)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            batch = _pad([encodings[i] for i in rows], pad_id, padding_side)
            inputs = {
                k: torch.tensor(v, device=run_device) for k, v in batch.items() if k in accepted
            }
            if pass_positions:
                # Left padding shifts the real tokens to later positions; models with
                # absolute positions need the positions counted from the first real token.
                inputs["position_ids"] = (inputs["attention_mask"].cumsum(-1) - 1).clamp(min=0)
            output = network(**inputs, output_hidden_states=layer is not None)
            hidden = output.last_hidden_state if layer is None else output.hidden_states[layer]
            pooled = pool(hidden.float(), inputs["attention_mask"], pooling)
            vectors[rows] = pooled.cpu().numpy()
            meter.update(len(rows))
    check_vectors(vectors, len(texts), model.hidden_size)
    return vectors


def tokenize(
    tokenizer, texts: Sequence[str], max_tokens: int | None, prompt_template: str | None,
    position_limit: int | None,
) -> list[dict[str, list[int]]]:
    """Token ids (and the tokenizer's other inputs) of every text, unpadded.

    ``max_tokens`` cuts the item text itself, before the prompt template is applied, so a
    template's instruction at the end of the prompt is never cut away. The cut is made at
    a token boundary through the fast tokenizer's character offsets.
    """
    if not getattr(tokenizer, "is_fast", False):
        raise TypeError(f"{type(tokenizer).__name__} is not a fast tokenizer (needed for offsets)")
    if max_tokens is not None:
        cut = tokenizer(list(texts), add_special_tokens=False, truncation=True,
                        max_length=int(max_tokens), return_offsets_mapping=True)
        texts = [
            text[: offsets[-1][1]] if len(offsets) == max_tokens else text
            for text, offsets in zip(texts, cut["offset_mapping"])
        ]
    prompts = [prompt_template.format(text=t) for t in texts] if prompt_template else list(texts)
    encoded = tokenizer(prompts, truncation=position_limit is not None, max_length=position_limit)
    keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoded]
    rows = [{k: encoded[k][i] for k in keys} for i in range(len(prompts))]
    for index, row in enumerate(rows):
        if not row["input_ids"]:
            raise ValueError(f"text at index {index} ({texts[index]!r}) gives no tokens")
    return rows


def _pad(rows: list[dict[str, list[int]]], pad_id: int, side: str) -> dict[str, list[list[int]]]:
    """Pad the rows of one batch to a common length, on the left or the right."""
    width = max(len(r["input_ids"]) for r in rows)
    batch: dict[str, list[list[int]]] = {k: [] for k in rows[0]}
    for row in rows:
        n_pad = width - len(row["input_ids"])
        for key, values in row.items():
            filler = [pad_id if key == "input_ids" else 0] * n_pad
            batch[key].append(filler + values if side == "left" else values + filler)
    return batch


def _pad_token_id(tokenizer) -> int:
    # Decoder tokenizers often have no pad token; the id is masked out, so any id will do.
    for token_id in (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id):
        if token_id is not None:
            return int(token_id)
    return 0


def _position_limit(config) -> int | None:
    return getattr(config, "max_position_embeddings", None)


def _device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class _Throughput:
    """Log progress (items, items/s, ETA) at most every PROGRESS_INTERVAL_S seconds."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.enabled = total, enabled
        self.done = 0
        self.started = self.last_log = time.perf_counter()

    def update(self, n: int) -> None:
        self.done += n
        now = time.perf_counter()
        finished = self.done == self.total
        if not self.enabled or (now - self.last_log < PROGRESS_INTERVAL_S and not finished):
            return
        self.last_log = now
        rate = self.done / max(now - self.started, 1e-9)
        log.info("encoded %d/%d texts (%.1f texts/s, %.0f s left)", self.done, self.total,
                 rate, (self.total - self.done) / rate)


def check_vectors(vectors: np.ndarray, n_texts: int, hidden_size: int) -> None:
    """Raise :class:`EmbeddingCheckError` unless ``vectors`` is finite float32 (n_texts, hidden)."""
    if not isinstance(vectors, np.ndarray) or vectors.dtype != np.float32:
        found = getattr(vectors, "dtype", type(vectors))
        raise EmbeddingCheckError(f"vectors must be a float32 array, got {found}")
    if vectors.shape != (n_texts, hidden_size):
        raise EmbeddingCheckError(
            f"vectors have shape {vectors.shape}, expected {(n_texts, hidden_size)}"
        )
    bad_rows = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
    if bad_rows.size:
        raise EmbeddingCheckError(
            f"{bad_rows.size} vectors are not finite (NaN or inf); first at text index "
            f"{bad_rows[0]}, all: {bad_rows[:20].tolist()}"
        )


def texts_digest(texts: Sequence[str]) -> str:
    """sha256 of the texts (as a JSON list): says which texts a vector file belongs to."""
    return hashlib.sha256(json.dumps(list(texts), ensure_ascii=False).encode("utf-8")).hexdigest()


def read_item_texts(items_tsv: str | os.PathLike) -> list[str]:
    """Item texts of a processed ``items.tsv``, in item-id order (ids must run 1..N)."""
    import pandas as pd

    items = pd.read_csv(items_tsv, sep="\t", keep_default_na=False, dtype={"text": str})
    expected = np.arange(1, len(items) + 1)
    if not np.array_equal(items["item_id"].to_numpy(), expected):
        raise ValueError(f"{items_tsv}: item ids must run 1..{len(items)} in order")
    return items["text"].tolist()


def encode_items(
    items_tsv: str | os.PathLike,
    out_npy: str | os.PathLike,
    spec: Mapping[str, Any],
    settings: Mapping[str, Any] | None = None,
    *,
    model_dir: str | os.PathLike | None = None,
    info_json: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Encode the item texts of ``items_tsv`` into ``out_npy`` (row k = item id k + 1).

    The model is ``model_dir`` (a folder written by :func:`~llmrec.encoders.cache_model`)
    when given, else the one ``spec`` names. A JSON record (spec, settings, shape, norms,
    seconds, texts digest, versions) goes to ``info_json`` (default: ``out_npy`` with a
    ``.json`` suffix). Both files are written atomically. Returns the record.
    """
    import torch
    import transformers

    settings = encode_settings(settings)
    texts = read_item_texts(items_tsv)
    started = time.perf_counter()
    source = as_location(model_dir, kind=spec.get("kind")) if model_dir else as_location(spec)
    model = load_model(source, dtype=settings["dtype"], device=_device(settings["device"]))
    load_seconds = time.perf_counter() - started
    log.info("encoding %d item texts with %s (%s, %s pooling)", len(texts),
             source.describe(), source.kind, settings["pooling"])
    run_settings = {k: v for k, v in settings.items() if k not in ("dtype", "device")}
    vectors = encode_texts(texts, model, **run_settings)
    encode_seconds = time.perf_counter() - started - load_seconds

    write_item_vectors(
        out_npy, vectors, f"model {source.describe()}",
        f"the encoding settings (encode.max_tokens={settings['max_tokens']}, "
        f"encode.pooling={settings['pooling']!r}, encode.layer={settings['layer']}) or the item "
        f"texts in {items_tsv}",
    )  # fmt: skip
    norms = np.linalg.norm(vectors, axis=1)
    info = {
        "spec": dict(spec),
        "model_loaded_from": source.describe(),
        "kind": source.kind,
        "settings": settings,
        "device": str(next(model.network.parameters()).device),
        "n_items": len(texts),
        "dim": int(vectors.shape[1]),
        "rows": "row k holds item id k + 1",
        "texts_sha256": texts_digest(texts),
        "norm": {"min": float(norms.min()), "mean": float(norms.mean()), "max": float(norms.max())},
        "load_seconds": round(load_seconds, 3),
        "encode_seconds": round(encode_seconds, 3),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
    }
    io.write_json(info_json or Path(out_npy).with_suffix(".json"), info)
    log.info("wrote %s %s in %.1f s", out_npy, vectors.shape, encode_seconds)
    return info
