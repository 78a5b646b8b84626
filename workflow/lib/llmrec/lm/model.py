"""Causal language models for the fine-tuning stages.

Loading (from a model folder or spec, through :mod:`llmrec.encoders.sources`), a tiny
randomly initialised stand-in for tests, the direction of attention (causal or
bidirectional), token batches, pooled text vectors, and saving a model folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from llmrec import io
from llmrec.encoders.pooling import mean_pool
from llmrec.encoders.sources import ModelLocation, as_location, load_pretrained, serialisable_copy

RECORD_FILE = "llmrec_stage.json"  # what a stage wrote into its output folder, and how


def load_causal_lm(source: ModelLocation | Mapping[str, Any] | str | os.PathLike, device="cpu"):
    """(tokenizer, causal LM with its LM head) in float32 on ``device``, in train mode.

    ``source``: a model folder, a model spec (``config.yaml`` ``models.<name>.spec``) or a
    :class:`ModelLocation`. Weights stay float32 (bfloat16 is applied by autocast, so the
    optimizer keeps full-precision weights, as the originals' mixed-precision training).
    """
    tokenizer, model = load_pretrained(as_location(source, kind="causal"), "float32")
    return tokenizer, model.to(device).train()


def tiny_causal_lm(vocab_size: int, seed: int = 0, **config: Any):
    """A 2-layer Llama (hidden 32) with ``vocab_size`` tokens, for tests; ``config`` overrides."""
    from transformers import LlamaConfig, LlamaForCausalLM

    sizes = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                 tie_word_embeddings=True)
    torch.manual_seed(seed)
    return LlamaForCausalLM(LlamaConfig(vocab_size=vocab_size, **{**sizes, **config}))


def attention_mask(padding_mask: torch.Tensor, bidirectional: bool, model) -> torch.Tensor:
    """The attention mask to hand ``model`` for a (batch, tokens) 0/1 padding mask.

    Causal: the padding mask itself (the model adds the causal part). Bidirectional: a
    4-D (batch, 1, query, key) mask letting every position see every real token.
    transformers passes a 4-D mask through unchanged and an explicit mask switches off
    SDPA's ``is_causal``, so no model class needs patching (llm2vec patches the classes).
    Eager attention adds the mask to the scores, the other kernels take a boolean one.
    """
    if not bidirectional:
        return padding_mask
    n_tokens = padding_mask.shape[1]
    visible = padding_mask.bool()[:, None, None, :].expand(-1, 1, n_tokens, n_tokens)
    if model.config._attn_implementation != "eager":
        return visible
    blocked = torch.zeros(visible.shape, dtype=model.dtype, device=visible.device)
    return blocked.masked_fill(~visible, torch.finfo(model.dtype).min)


def hidden_states(model, ids: torch.Tensor, padding_mask: torch.Tensor, bidirectional: bool):
    """Last-layer hidden states (batch, tokens, hidden) of the decoder stack (no LM head)."""
    network = model.base_model  # LlamaForCausalLM -> LlamaModel; a LlamaModel is its own
    mask = attention_mask(padding_mask, bidirectional, network)
    return network(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state


def pooled(model, ids, padding_mask, bidirectional: bool) -> torch.Tensor:
    """Mean of the last hidden states over the real (non-padding) tokens, in float32."""
    return mean_pool(hidden_states(model, ids, padding_mask, bidirectional).float(), padding_mask)


def pad_batch(rows: Sequence[Sequence[int]], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded (ids, padding mask). Right padding keeps the default positions 0..n-1."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.as_tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return ids.to(device), mask.to(device)


def pad_id(tokenizer) -> int:
    # Decoder tokenizers often lack a pad token; padding is masked out, so any id will do.
    for token_id in (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id):
        if token_id is not None:
            return int(token_id)
    return 0


def token_rows(tokenizer, texts: Sequence[str], max_tokens: int | None, eos: bool = False):
    """Token ids of each text without special tokens, cut to ``max_tokens`` (EOS included)."""
    limit = None if max_tokens is None else int(max_tokens) - int(eos)
    rows = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    rows = [list(r[:limit]) + ([tokenizer.eos_token_id] if eos else []) for r in rows]
    for text, row in zip(texts, rows):
        if not row:
            raise ValueError(f"text {text!r} gives no tokens")
    return rows


def set_attention_dropout(model, p: float) -> float:
    """Set the attention dropout of every attention module (and the config); returns the old."""
    old = float(getattr(model.config, "attention_dropout", 0.0) or 0.0)
    model.config.attention_dropout = p
    for module in model.modules():
        if hasattr(module, "attention_dropout"):
            module.attention_dropout = p
    return old


def autocast(device: torch.device, dtype: str):
    """bfloat16 / float16 autocast on the model's device, or nothing for float32."""
    if dtype == "float32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=getattr(torch, dtype))


@torch.no_grad()
def embed_token_rows(model, rows, pad, *, bidirectional, batch_size, dtype="float32") -> np.ndarray:
    """Pooled float32 vectors (len(rows), hidden) in eval mode, longest rows batched first."""
    was_training = model.training
    model.eval()
    device = model.device
    order = sorted(range(len(rows)), key=lambda i: -len(rows[i]))
    vectors = np.empty((len(rows), model.config.hidden_size), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        chosen = order[start : start + batch_size]
        ids, mask = pad_batch([rows[i] for i in chosen], pad, device)
        with autocast(device, dtype):
            vectors[chosen] = pooled(model, ids, mask, bidirectional).cpu().numpy()
    model.train(was_training)
    return vectors


def save_model_folder(model, tokenizer, folder: str | os.PathLike, record: Mapping[str, Any]) -> None:
    """Write model + tokenizer + the stage record as a plain model folder, atomically."""
    with io.atomic_dir(folder) as tmp:
        serialisable_copy(model).save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / RECORD_FILE).write_text(json.dumps(record, indent=2, default=str) + "\n")


def folder_identity(folder: str | os.PathLike) -> str:
    """A cheap digest of a model folder: its config, records, and weight-file sizes.

    Enough to tell a resumable state that its input model changed (a rerun upstream
    rewrites the record), without hashing gigabytes of weights.
    """
    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.suffix == ".json" and path.name != "tokenizer.json":
            digest.update(path.name.encode() + path.read_bytes())
        elif path.suffix in (".safetensors", ".bin", ".gguf"):
            digest.update(f"{path.name}:{path.stat().st_size}".encode())
    return digest.hexdigest()


def source_identity(source) -> str:
    """:func:`folder_identity` of a model folder, or the spec itself (for fingerprints)."""
    if isinstance(source, (str, os.PathLike)) and Path(source).is_dir():
        return folder_identity(source)
    return json.dumps(source, sort_keys=True, default=str)
