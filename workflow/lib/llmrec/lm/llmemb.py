"""LLMEmb (AAAI'25): SCFT (LoRA + contrastive on attribute-dropout views) -> PCA'd vectors.

Follows Applied-Machine-Learning-Lab/LLMEmb (``llm/llama.py``, ``llm/data_processor``,
``results/convert.ipynb``); README, "LLM2Rec and LLMEmb fine-tuning".

- Prompt: ``"The item has the following attributes: \\n "`` + ``"key is value; ..."``
  (the item text of ``items.tsv``, whose fields are the attributes; the original's
  domain word is left out), tokenised without special tokens, cut to ``max_tokens - 1``
  and closed by EOS; causal attention; mean pooling over all real tokens, EOS included.
- Views (``dropout_feature``): two independently shuffled copies of the attribute list,
  each dropping ``floor(attr_drop * n_attributes)`` attributes from its end.
- Loss (``Contrastive_Loss``) on the unnormalised pooled views X, Y with a trainable
  temperature tau (initialised to ``tau_init`` = 3): logits = X Y^T / tau, soft targets
  T = softmax_rows(((X X^T + Y Y^T) / 2) * tau), loss = mean over rows of
  (CE(logits, T) + CE(logits^T, T^T)) / 2. ``loss: info_nce`` replaces T by the identity
  (plain symmetric InfoNCE on the same logits).
- LoRA (r 8, alpha 32, dropout 0.1) on every linear projection of the decoder; the LM
  head is not used. The output of SCFT is the LoRA weights (plus tau); ``encode``
  merges them into the base model, pools the unaugmented prompts and reduces the
  vectors to ``pca_dim`` dimensions by PCA (the original: 4096 -> 1536).
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from llmrec import io
from llmrec.losses import ContrastiveLoss  # noqa: F401 (SCFT's loss; re-exported)
from llmrec.checks import write_item_vectors
from llmrec.encoders.encode import check_vectors, texts_digest
from llmrec.lm import data as lm_data
from llmrec.lm import loop
from llmrec.lm.lora import ALL_PROJECTIONS, apply_lora, lora_state, merge_lora
from llmrec.lm.model import (
    embed_token_rows,
    load_causal_lm,
    pad_batch,
    pad_id,
    pooled,
    source_identity,
    token_rows,
)
from llmrec.training.runtime import resolve_device, seed_everything
from llmrec.training.state import data_fingerprint

log = logging.getLogger(__name__)

PROMPT_PREFIX = "The item has the following attributes: \n "
LORA_WEIGHTS = "lora.safetensors"
LORA_RECORD = "lora.json"

DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "device": "auto",
    "dtype": "float32",
    "scft": {**loop.LOOP_DEFAULTS, "steps": 4000, "batch_size": 64, "lr": 2e-4, "warmup": 0,
             "max_tokens": 1024, "save_every": 500, "attr_drop": 0.4, "loss": "soft_contrastive",
             "tau_init": 3.0, "learn_tau": True,
             "lora": {"r": 8, "alpha": 32, "dropout": 0.1, "targets": list(ALL_PROJECTIONS)}},
    "encode": {"batch_size": 32, "max_tokens": 1024, "pca_dim": 1536},
}
LOSSES = ("soft_contrastive", "info_nce")


def settings_of(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """``DEFAULTS`` updated with ``settings`` (a config ``llmemb:`` section; ``model`` ignored)."""
    merged = loop.resolve(DEFAULTS, {k: v for k, v in (settings or {}).items() if k != "model"})
    if merged["scft"]["loss"] not in LOSSES:
        raise ValueError(f"llmemb scft.loss must be one of {LOSSES}")
    return merged


def prompt(attributes: Sequence[str]) -> str:
    return PROMPT_PREFIX + lm_data.FIELD_SEPARATOR.join(attributes)


def attribute_view(attributes: Sequence[str], drop: float, rng: np.random.Generator) -> list[str]:
    """A shuffled copy of the attributes without its last ``floor(drop * n)`` entries."""
    shuffled = [attributes[i] for i in rng.permutation(len(attributes))]
    return shuffled[: len(shuffled) - math.floor(drop * len(shuffled))]


def scft(data_dir, source, out_dir, settings=None, *, state_dir=None) -> dict[str, Any]:
    """SCFT: LoRA-tune ``source`` on two attribute-dropout views per item; writes the LoRA
    weights (``lora.safetensors``) and a record (``lora.json``) into ``out_dir``."""
    from safetensors.torch import save_file

    settings = settings_of(settings)
    stage = settings["scft"] = {**settings["scft"], "micro_batch_size": None}  # in-batch negatives
    data, _ = lm_data.load(data_dir)
    attributes = [lm_data.item_attributes(t) for t in data.item_texts]
    seed_everything(int(settings["seed"]))
    device = resolve_device(settings["device"])
    tokenizer, model = load_causal_lm(source, device)
    check_pca_dim(int(settings["encode"]["pca_dim"]), data.n_items, model.config.hidden_size)
    encoder = model.base_model  # the decoder stack; LLMEmb pools it, the LM head is unused
    lora = stage["lora"]
    wrapped = apply_lora(encoder, lora["r"], lora["alpha"], lora["dropout"], lora["targets"])
    loss_fn = ContrastiveLoss(stage["tau_init"], stage["learn_tau"], stage["loss"]).to(device)
    trainable = nn.ModuleDict({"encoder": encoder, "loss": loss_fn})
    pad = pad_id(tokenizer)

    def step_loss(indices, rng):
        views = [[prompt(attribute_view(attributes[k], stage["attr_drop"], rng)) for k in indices]
                 for _ in range(2)]
        x, y = (pooled(encoder, *pad_batch(token_rows(tokenizer, v, stage["max_tokens"], eos=True),
                                           pad, device), bidirectional=False) for v in views)
        return loss_fn(x, y)

    fingerprint = loop.fingerprint(
        stage="scft", seed=settings["seed"], dtype=settings["dtype"], device=device.type,
        data=data_fingerprint(data), source=source_identity(source),
        settings={k: v for k, v in stage.items() if k not in loop.NOT_FINGERPRINTED},
    )
    log.info("LLMEmb scft: %d items, LoRA on %d modules, %d steps of %d on %s", data.n_items,
             len(wrapped), stage["steps"], stage["batch_size"], device)
    result = loop.run_steps(trainable, step_loss, data.n_items, stage, seed=int(settings["seed"]),
                            dtype=settings["dtype"], state_dir=state_dir,
                            state_fingerprint=fingerprint, name="LLMEmb scft")
    record = {
        "method": "LLMEmb", "stage": "scft", "source": str(source), "n_items": data.n_items,
        "device": str(device), "settings": {k: settings[k] for k in ("seed", "dtype", "scft")},
        "lora_modules": len(wrapped), "tau": float(loss_fn.tau.detach()),
        "trainable_parameters": sum(p.numel() for p in trainable.parameters() if p.requires_grad),
        **result.summary(),
    }
    with io.atomic_dir(out_dir) as tmp:
        save_file(lora_state(encoder), str(tmp / LORA_WEIGHTS))
        (tmp / LORA_RECORD).write_text(json.dumps(record, indent=2, default=str) + "\n")
    loop.clear_state(state_dir)
    return record


def check_pca_dim(dim: int, n_items: int, hidden_size: int) -> None:
    """SCFT calls this before training: a PCA size the model cannot give must not
    surface only after hours of fine-tuning, at the encode step."""
    if not 1 <= dim <= min(n_items, hidden_size):
        raise ValueError(
            f"llmemb encode.pca_dim {dim} must be between 1 and min(items {n_items}, "
            f"model hidden size {hidden_size}) = {min(n_items, hidden_size)}"
        )


def pca(vectors: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(centred vectors projected on the top-``dim`` principal axes, explained variance
    ratios); sklearn's PCA up to the sign, which is fixed: each axis's largest-magnitude
    loading is positive."""
    check_pca_dim(dim, *vectors.shape)
    x = vectors.astype(np.float64)
    x -= x.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(x.T @ x / max(1, len(x) - 1))
    top = np.argsort(eigenvalues)[::-1][:dim]
    axes = eigenvectors[:, top]
    axes *= np.sign(axes[np.abs(axes).argmax(axis=0), np.arange(dim)])
    ratios = eigenvalues[top] / eigenvalues.clip(min=0).sum()
    return (x @ axes).astype(np.float32), ratios


def encode(data_dir, source, scft_dir, out_npy, settings=None, *, info_json=None) -> dict[str, Any]:
    """Item vectors: the SCFT-tuned model (LoRA merged) mean-pools each item's unaugmented
    prompt; PCA to ``encode.pca_dim`` -> float32 (n_items, pca_dim) ``.npy`` + record."""
    from safetensors.torch import load_file

    settings = settings_of(settings)
    options = settings["encode"]
    data, _ = lm_data.load(data_dir)
    started = time.perf_counter()
    device = resolve_device(settings["device"])
    tokenizer, model = load_causal_lm(source, device)
    encoder = model.base_model
    trained = json.loads((Path(scft_dir) / LORA_RECORD).read_text())
    lora = trained["settings"]["scft"]["lora"]
    apply_lora(encoder, lora["r"], lora["alpha"], lora["dropout"], lora["targets"])
    missing, unexpected = encoder.load_state_dict(load_file(str(Path(scft_dir) / LORA_WEIGHTS)), strict=False)
    if unexpected or any(k.endswith((".lora_A", ".lora_B")) for k in missing):
        raise ValueError(f"{scft_dir}: LoRA weights do not fit the model ({unexpected or missing})")
    merge_lora(encoder)
    prompts = [prompt(lm_data.item_attributes(t)) for t in data.item_texts]
    rows = token_rows(tokenizer, prompts, options["max_tokens"], eos=True)
    raw = embed_token_rows(encoder, rows, pad_id(tokenizer), bidirectional=False,
                           batch_size=options["batch_size"], dtype=settings["dtype"])
    check_vectors(raw, data.n_items, model.config.hidden_size)
    vectors, ratios = pca(raw, int(options["pca_dim"]))
    check_vectors(vectors, data.n_items, int(options["pca_dim"]))
    record = {
        "method": "LLMEmb", "model": str(source), "scft": str(scft_dir), "pooling": "mean",
        "attention": "causal", "text": "attribute prompt", "n_items": data.n_items,
        "hidden_size": model.config.hidden_size, "shape": list(vectors.shape),
        "pca_explained_variance": float(ratios.sum()), "seconds": round(time.perf_counter() - started, 2),
        "device": str(device), "settings": settings, "texts_digest": texts_digest(prompts),
    }
    write_item_vectors(
        out_npy, vectors, f"LLMEmb encoding of {source}",
        f"llmemb.encode.max_tokens={options['max_tokens']}, llmemb.encode.pca_dim={options['pca_dim']}, "
        "or the fine-tuning steps (llmemb.scft)",
    )  # fmt: skip
    io.write_json(info_json or Path(out_npy).with_suffix(".json"), record)
    return record

