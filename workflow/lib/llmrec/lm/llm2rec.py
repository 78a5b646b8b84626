"""LLM2Rec (KDD'25): CSFT -> MNTP -> SimCSE -> bidirectional mean-pooled title vectors.

Follows HappyPointer/LLM2Rec (``run_csft.py``, ``run_mntp.py``,
``run_unsupervised_SimCSE.py``, ``extract_llm_embedding.py``); README, "LLM2Rec and
LLMEmb fine-tuning". Every stage is a full fine-tune of the causal LM and writes a
plain model folder that the next stage loads.

1. **CSFT** (causal): input = the user's history titles joined by ", " (no
   instruction), target = next title + "\\n" + EOS; cross-entropy on the target tokens
   only. Examples: every position of each user's *training* sequence (validation and
   test items are never seen), history = the last ``max_history`` items.
2. **MNTP** (bidirectional): ``mask_ratio`` of the title tokens replaced by
   ``mask_token`` ("_", llm2vec's ``blank``); each masked token is predicted from the
   hidden state of the position before it (llm2vec's shifted labels).
3. **SimCSE** (bidirectional, unsupervised): each title encoded twice with attention
   dropout ``dropout``; mean pooling; in-batch cross-entropy over cosine similarities
   times ``scale`` (10, i.e. temperature 0.1).
4. **encode**: mean pooling of the bidirectional model over each item's title.

Our choices (the originals' code does not fix them here): right padding; the prompt and
target token lists are concatenated as tokenised separately; a prompt too long for
``max_tokens`` loses its oldest tokens; the first token of a title is never masked in
MNTP (it has no previous position to be predicted from); no early stopping in CSFT.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
import torch.nn.functional as F

from llmrec import io
from llmrec.checks import write_item_vectors
from llmrec.encoders.encode import check_vectors, texts_digest
from llmrec.lm import data as lm_data
from llmrec.lm import loop
from llmrec.lm.model import (
    embed_token_rows,
    hidden_states,
    load_causal_lm,
    pad_batch,
    pad_id,
    pooled,
    save_model_folder,
    set_attention_dropout,
    source_identity,
    token_rows,
)
from llmrec.training.runtime import resolve_device, seed_everything
from llmrec.training.state import data_fingerprint

log = logging.getLogger(__name__)

STAGES = ("csft", "mntp", "simcse")

# The originals' settings (LLM2Rec scripts and llm2vec configs); config.yaml `llm2rec:`.
DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "device": "auto",
    "dtype": "float32",  # float32 | bfloat16 (autocast; the originals train in bf16)
    "max_history": 10,
    "csft": {**loop.LOOP_DEFAULTS, "steps": 10000, "batch_size": 128, "micro_batch_size": 4,
             "lr": 3e-4, "warmup": 200, "max_tokens": 1024, "save_every": 500},
    "mntp": {**loop.LOOP_DEFAULTS, "steps": 1000, "batch_size": 32, "lr": 5e-5, "warmup": 0,
             "max_tokens": 512, "mask_ratio": 0.2, "mask_token": "_", "save_every": 200},
    "simcse": {**loop.LOOP_DEFAULTS, "steps": 1000, "batch_size": 256, "lr": 2e-4, "warmup": 300,
               "max_tokens": 512, "dropout": 0.2, "scale": 10.0, "save_every": 200},
    "encode": {"batch_size": 64, "max_tokens": 512},
}


def settings_of(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """``DEFAULTS`` updated with ``settings`` (a config ``llm2rec:`` section; ``model`` ignored)."""
    return loop.resolve(DEFAULTS, {k: v for k, v in (settings or {}).items() if k != "model"})


def csft_examples(train_sequences, max_history: int) -> list[tuple[np.ndarray, int]]:
    """(history, next item) at every position of every training sequence."""
    examples = []
    for sequence in train_sequences:
        for t in range(1, len(sequence)):
            examples.append((sequence[max(0, t - max_history) : t], int(sequence[t])))
    return examples


def next_token_loss(model, input_ids, padding_mask, targets, predict, bidirectional: bool):
    """Mean cross-entropy of ``targets`` at the positions ``predict`` (batch, tokens),
    each predicted from the hidden state of the position before it; the LM head is only
    applied there (a 150k-token vocabulary times every position would not fit)."""
    hidden = hidden_states(model, input_ids, padding_mask, bidirectional)
    chosen = predict[:, 1:]
    if not chosen.any():  # nothing to predict in this batch (e.g. no token masked)
        return hidden.sum() * 0.0
    logits = model.get_output_embeddings()(hidden[:, :-1][chosen])
    return F.cross_entropy(logits.float(), targets[:, 1:][chosen])


def csft(data_dir, source, out_dir, settings=None, *, state_dir=None) -> dict[str, Any]:
    """Stage 1: fine-tune ``source`` (model folder or spec) on history -> next title."""
    settings = settings_of(settings)
    data, preprocess = lm_data.load(data_dir)
    titles = lm_data.item_titles(data, preprocess)
    examples = csft_examples(data.train_sequences(), int(settings["max_history"]))
    stage = settings["csft"]
    tokenizer, model, device, pad = _start(settings, source)

    def step_loss(indices, rng):
        prompts = [", ".join(titles[i - 1] for i in examples[k][0]) for k in indices]
        answers = [titles[examples[k][1] - 1] + "\n" for k in indices]
        answers = token_rows(tokenizer, answers, stage["max_tokens"], eos=True)
        prompts = [p[max(0, len(p) - (stage["max_tokens"] - len(a))):]  # keep the newest
                   for p, a in zip(token_rows(tokenizer, prompts, None), answers)]
        ids, mask = pad_batch([p + a for p, a in zip(prompts, answers)], pad, device)
        position = torch.arange(ids.shape[1], device=device)
        prompt_length = torch.tensor([len(p) for p in prompts], device=device)
        predict = (position >= prompt_length[:, None]) & mask.bool()
        return next_token_loss(model, ids, mask, ids, predict, bidirectional=False)

    return _train(model, tokenizer, "csft", step_loss, len(examples), settings, data, source,
                  out_dir, state_dir)


def mntp(data_dir, source, out_dir, settings=None, *, state_dir=None) -> dict[str, Any]:
    """Stage 2: masked next-token prediction on item titles with bidirectional attention."""
    settings = settings_of(settings)
    data, preprocess = lm_data.load(data_dir)
    stage = settings["mntp"]
    tokenizer, model, device, pad = _start(settings, source)
    rows = token_rows(tokenizer, lm_data.item_titles(data, preprocess), stage["max_tokens"])
    mask_id = single_token_id(tokenizer, stage["mask_token"])

    def step_loss(indices, rng):
        ids, mask = pad_batch([rows[k] for k in indices], pad, device)
        eligible = mask.bool()
        eligible[:, 0] = False
        draw = torch.from_numpy(rng.random(tuple(ids.shape))).to(device)
        masked = eligible & (draw < stage["mask_ratio"])
        inputs = ids.masked_fill(masked, mask_id)
        return next_token_loss(model, inputs, mask, ids, masked, bidirectional=True)

    return _train(model, tokenizer, "mntp", step_loss, len(rows), settings, data, source,
                  out_dir, state_dir)


def simcse(data_dir, source, out_dir, settings=None, *, state_dir=None) -> dict[str, Any]:
    """Stage 3: unsupervised SimCSE on item titles (dropout views, in-batch negatives)."""
    settings = settings_of(settings)
    data, preprocess = lm_data.load(data_dir)
    stage = {**settings["simcse"], "micro_batch_size": None}  # in-batch negatives: one pass
    settings["simcse"] = stage
    tokenizer, model, device, pad = _start(settings, source)
    rows = token_rows(tokenizer, lm_data.item_titles(data, preprocess), stage["max_tokens"])
    config_dropout = set_attention_dropout(model, stage["dropout"])

    def step_loss(indices, rng):
        ids, mask = pad_batch([rows[k] for k in indices], pad, device)
        anchors = pooled(model, ids, mask, bidirectional=True)  # two passes, two dropout masks
        positives = pooled(model, ids, mask, bidirectional=True)
        scores = F.cosine_similarity(anchors[:, None], positives[None], dim=-1) * stage["scale"]
        return F.cross_entropy(scores, torch.arange(len(indices), device=device))

    def restore_dropout():  # the saved model keeps the original config
        set_attention_dropout(model, config_dropout)

    return _train(model, tokenizer, "simcse", step_loss, len(rows), settings, data, source,
                  out_dir, state_dir, before_save=restore_dropout)


def encode(data_dir, source, out_npy, settings=None, *, info_json=None) -> dict[str, Any]:
    """Stage 4: item vectors = bidirectional mean pooling over each title -> float32 .npy."""
    settings = settings_of(settings)
    data, preprocess = lm_data.load(data_dir)
    started = time.perf_counter()
    tokenizer, model, device, pad = _start(settings, source)
    titles = lm_data.item_titles(data, preprocess)
    rows = token_rows(tokenizer, titles, settings["encode"]["max_tokens"])
    vectors = embed_token_rows(model, rows, pad, bidirectional=True, dtype=settings["dtype"],
                               batch_size=settings["encode"]["batch_size"])
    check_vectors(vectors, data.n_items, model.config.hidden_size)
    record = {
        "method": "LLM2Rec", "model": str(source), "pooling": "mean", "attention": "bidirectional",
        "text": "title", "n_items": data.n_items, "shape": list(vectors.shape),
        "seconds": round(time.perf_counter() - started, 2), "device": str(device),
        "settings": settings, "texts_digest": texts_digest(titles),
        "norm_mean": float(np.linalg.norm(vectors, axis=1).mean()),
    }
    write_item_vectors(
        out_npy, vectors, f"LLM2Rec encoding of {source}",
        f"llm2rec.encode.max_tokens={settings['encode']['max_tokens']}, or too few/too many "
        "fine-tuning steps (llm2rec.csft, llm2rec.mntp, llm2rec.simcse)",
    )  # fmt: skip
    io.write_json(info_json or Path(out_npy).with_suffix(".json"), record)
    return record


def single_token_id(tokenizer, token: str) -> int:
    ids = tokenizer(token, add_special_tokens=False)["input_ids"]
    if len(ids) != 1:
        raise ValueError(f"mask token {token!r} is {len(ids)} tokens for this tokenizer, not one")
    return int(ids[0])


def _start(settings, source):
    """Seed, pick the device, load the model: (tokenizer, model, device, pad id)."""
    seed_everything(int(settings["seed"]))
    device = resolve_device(settings["device"])
    tokenizer, model = load_causal_lm(source, device)
    return tokenizer, model, device, pad_id(tokenizer)


def _train(model, tokenizer, stage, step_loss, n_examples, settings, data, source, out_dir,
           state_dir, before_save=None) -> dict[str, Any]:
    """Run one full-fine-tuning stage, save the model folder, drop the checkpoint."""
    stage_settings = settings[stage]
    shared = {k: settings[k] for k in ("seed", "dtype", "max_history")}
    fingerprint = loop.fingerprint(
        stage=stage, shared=shared, device=model.device.type, data=data_fingerprint(data),
        settings={k: v for k, v in stage_settings.items() if k not in loop.NOT_FINGERPRINTED},
        source=source_identity(source),
    )
    log.info("LLM2Rec %s: %d examples, %d steps of %d on %s", stage, n_examples,
             stage_settings["steps"], stage_settings["batch_size"], model.device)
    result = loop.run_steps(model, step_loss, n_examples, stage_settings, seed=int(settings["seed"]),
                            dtype=settings["dtype"], state_dir=state_dir,
                            state_fingerprint=fingerprint, name=f"LLM2Rec {stage}")
    if before_save is not None:
        before_save()
    record = {
        "method": "LLM2Rec", "stage": stage, "source": str(source), "n_examples": n_examples,
        "device": str(model.device), "settings": {**shared, stage: stage_settings},
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        **result.summary(),
    }
    save_model_folder(model, tokenizer, out_dir, record)
    loop.clear_state(state_dir)
    return record
