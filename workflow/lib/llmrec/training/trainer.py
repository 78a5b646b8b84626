"""Train a backbone with full-softmax cross-entropy, early-stop on validation, test.

Entry point: :func:`train_and_evaluate`. One settings dict configures the trainer
(:data:`TRAINER_KEYS`), the backbone (its class's ``KEYS``) and the method (whatever keys
the method's builder reads); unknown keys are simply passed along. Every value comes from
config.yaml through :mod:`llmrec.plan` (no defaults here to drift from it).

Objective: SASRec/GRU4Rec predict the next item at every position of each training
window (RecSys'23 SASRec+; ``train_windows="last"`` keeps their one window per user, the
default ``"all"`` also cuts older windows from long users so that no interaction is left
out); BERT4Rec recovers masked items. Logits are only formed for labelled positions, over all items, in chunks when
positions x items exceeds ``max_logit_elements``.

Early stopping: after every epoch the validation split is ranked; the epoch with the best
``valid_metric`` is kept and its weights are used for the test split; training stops
after ``patience`` epochs without a (strict) improvement.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd
import torch

from .. import backbones, methods
from ..methods.context import MethodContext
from ..backbones.base import SequentialBackbone
from . import state as state_io
from .adam import FusedAdam
from .batching import PaddedRows, windows
from .evaluation import EvaluationSet, evaluate, evaluate_ranks
from ..metrics import metrics_from_ranks
from .loss import softmax_cross_entropy
from .runtime import capture_rng, keep_freed_memory, make_generator, preserved_rng, resolve_device, restore_rng, seed_everything

log = logging.getLogger(__name__)

#: the keys the trainer reads (device "auto": cuda if available; train_windows "last": one
#: window per user, "all": also older ones, window_stride apart, None = max_len)
TRAINER_KEYS: tuple[str, ...] = (
    "backbone", "seed", "device", "lr", "weight_decay", "batch_size", "epochs", "patience",
    "train_windows", "window_stride", "max_logit_elements", "eval_batch_size", "eval_protocol",
    "filter_seen", "valid_metric", "cutoffs", "keep_freed_memory",
)  # fmt: skip

EpochHook = Callable[[SequentialBackbone, int], dict]
MethodBuilder = Callable[..., Any]


@dataclass
class RunResult:
    valid_metrics: dict[str, float]  # at the best epoch
    test_metrics: dict[str, float]  # with the best epoch's weights
    history: pd.DataFrame  # one row per epoch
    best_epoch: int  # 1-based
    model: SequentialBackbone = field(repr=False)  # holding the best weights
    settings: dict[str, Any] = field(default_factory=dict)  # everything resolved
    test_ranks: Any = field(default=None, repr=False)  # (users,) 0-based rank of each test target


def resolve_settings(settings: dict[str, Any] | None) -> dict[str, Any]:
    """``settings``, checked to hold every key the trainer and the backbone read (a run's
    settings come complete from the plan: ``llmrec.plan.Plan.run(...).settings``)."""
    settings = dict(settings or {})
    missing = [key for key in TRAINER_KEYS if key not in settings]
    if missing:
        raise KeyError(
            f"training settings lack {', '.join(missing)} (config.yaml's training section "
            "holds them; llmrec.plan gives a run its settings)"
        )
    backbones.get(settings["backbone"]).resolve_settings(settings)  # its keys too
    return settings


def build_model(
    n_items: int,
    settings: dict[str, Any],
    method: str | MethodBuilder = "RandInit",
    method_inputs: dict | None = None,
    data=None,
) -> SequentialBackbone:
    """The method builds the item table; the backbone is built around it; a method that
    changes more than the table (LLM-ESR's second view, LLMEmb's alignment loss) then
    wraps the backbone (``methods.register(name, wrap=...)``).

    ``data`` (the SequenceData) is handed to methods that derive something from the
    training sequences (LLMInit's popular items, LLM-ESR's similar users).
    """
    backbone_cls = backbones.get(settings["backbone"])
    builder = methods.get(method) if isinstance(method, str) else method
    name = method if isinstance(method, str) else getattr(method, "__qualname__", "method")
    ctx = MethodContext(
        name, n_items, int(settings["hidden_size"]), settings, method_inputs or {}, backbone_cls.needs_mask_token, data
    )
    model = backbone_cls(builder(ctx), settings)
    wrap = methods.wrapper(method) if isinstance(method, str) else None
    return wrap(model, ctx) if wrap is not None else model


def train_and_evaluate(
    data,
    method: str | MethodBuilder = "RandInit",
    settings: dict[str, Any] | None = None,
    state_dir: str | Path | None = None,
    *,
    method_inputs: dict | None = None,
    negatives=None,
    epoch_hooks: Sequence[EpochHook] = (),
    extra_inputs: dict | None = None,
    on_model_built: Callable[[SequentialBackbone], None] | None = None,
) -> RunResult:
    """Train on ``data`` (a SequenceData) and return validation/test metrics and history.

    ``method``: a registered method name (``llmrec.methods.available()``) or a builder
    ``(MethodContext) -> ItemEmbedding``.
    ``method_inputs``: what the builder needs besides settings (e.g. item vectors).
    ``negatives``: (n_users, n) array for ``eval_protocol="sampled"``.
    ``state_dir``: where the resumable state lives (None: no checkpointing). Only an
    unfinished state of exactly this run (settings, method, input contents, data, code;
    see ``training.state``) is resumed; a finished one is retrained from scratch.
    ``extra_inputs``: further files (e.g. the processed data) whose content the state's
    fingerprint covers.
    ``epoch_hooks``: ``hook(model, epoch) -> dict`` called after each epoch's validation,
    with the global RNG preserved (diagnostics never change results); returned values are
    added to the history row.
    ``on_model_built``: called once with the freshly built model, before any training or
    resumed state (e.g. to record the initial item norms).
    """
    settings = resolve_settings(settings)
    device = resolve_device(settings["device"])
    method_name = method if isinstance(method, str) else getattr(method, "__qualname__", repr(method))
    components = state_io.fingerprint_components(
        {k: v for k, v in settings.items() if k != "device"}, method_name, method_inputs, data, device.type,
        extra_inputs,
    )  # fmt: skip
    fingerprint = state_io.fingerprint_of(components)
    if device.type == "cpu" and settings["keep_freed_memory"]:
        keep_freed_memory()
    seed = int(settings["seed"])
    seed_everything(seed)
    model = build_model(data.n_items, settings, method, method_inputs, data).to(device)
    if on_model_built is not None:
        on_model_built(model)
    optimizer = make_optimizer(model, settings)
    generator = make_generator(seed, device)

    train_rows = training_rows(data, model, settings["train_windows"], device, settings["window_stride"])
    eval_options = dict(
        protocol=settings["eval_protocol"], filter_seen=settings["filter_seen"], batch_size=settings["eval_batch_size"]
    )
    cutoffs = tuple(settings["cutoffs"])
    valid_set = EvaluationSet.build(*data.valid_split(), model.history_length, device, negatives)
    test_set = EvaluationSet.build(*data.test_split(), model.history_length, device, negatives)
    metric_key = settings["valid_metric"]

    progress = {
        "epoch": 0,
        "history": [],
        "best_metric": -float("inf"),
        "best_epoch": 0,
        "best_weights": _cpu_copy(model.state_dict()),
        "stale_epochs": 0,
        "finished": False,
    }
    saved = state_io.load(state_dir, fingerprint, components)
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        restore_rng(saved["rng"], generator)
        progress.update({key: saved[key] for key in progress})
        log.info("resuming after epoch %d from %s", progress["epoch"], state_dir)

    while not progress["finished"] and progress["epoch"] < settings["epochs"]:
        epoch = progress["epoch"] + 1
        started = time.perf_counter()
        train_loss = train_one_epoch(model, optimizer, train_rows, generator, settings)
        train_seconds = time.perf_counter() - started
        valid = evaluate(model, valid_set, cutoffs=cutoffs, **eval_options)
        row = {"epoch": epoch, "train_loss": train_loss, **{f"valid_{k}": v for k, v in valid.items()}}
        row.update(train_seconds=train_seconds, epoch_seconds=time.perf_counter() - started)
        for hook in epoch_hooks:
            with preserved_rng():
                row.update(hook(model, epoch) or {})
        if valid[metric_key] > progress["best_metric"]:
            progress.update(best_metric=valid[metric_key], best_epoch=epoch, stale_epochs=0)
            progress["best_weights"] = _cpu_copy(model.state_dict())
        else:
            progress["stale_epochs"] += 1
        progress["history"].append(row)
        progress["epoch"] = epoch
        progress["finished"] = progress["stale_epochs"] >= settings["patience"]
        log.info(
            "epoch %d loss %.4f valid %s %.4f (best %.4f @ %d) %.1fs",
            epoch, train_loss, metric_key, valid[metric_key], progress["best_metric"],
            progress["best_epoch"], row["epoch_seconds"],
        )  # fmt: skip
        if state_dir is not None:
            _save(state_dir, (fingerprint, components), model, optimizer, generator, progress)

    model.load_state_dict(progress["best_weights"])
    valid_metrics = evaluate(model, valid_set, cutoffs=cutoffs, **eval_options)
    test_ranks = evaluate_ranks(model, test_set, **eval_options)
    test_metrics = metrics_from_ranks(test_ranks, cutoffs)
    if state_dir is not None and not progress["finished"]:
        progress["finished"] = True  # reached the epoch limit
        _save(state_dir, (fingerprint, components), model, optimizer, generator, progress)
    return RunResult(
        valid_metrics=valid_metrics,
        test_metrics=test_metrics,
        history=pd.DataFrame(progress["history"]),
        best_epoch=progress["best_epoch"],
        model=model,
        settings=settings,
        test_ranks=test_ranks,
    )


def make_optimizer(model: SequentialBackbone, settings: dict[str, Any]) -> FusedAdam:
    # fused: one kernel for all parameters instead of ~10 small ops per parameter tensor;
    # FusedAdam: torch's fused Adam without torch.optim's 2 s import of torch._dynamo
    return FusedAdam(model.parameters(), lr=settings["lr"], weight_decay=settings["weight_decay"])


def training_rows(
    data, model: SequentialBackbone, mode: str, device: torch.device, stride: int | None = None
) -> PaddedRows:
    """The padded training windows of every user's training part (see ``windows``).

    The default stride ``max_len`` makes every item a label once; a smaller stride gives
    overlapping windows, i.e. older items are also trained on with a longer context.
    """
    rows, owners = windows(
        data.train_sequences(),
        width=model.train_window,
        stride=stride or model.max_len,
        min_items=model.train_window - model.max_len + 1,  # causal: 2 items, cloze: 1
        mode=mode,
        return_owners=True,
    )
    return PaddedRows.build(rows, model.train_window, device, owners)


def train_one_epoch(model, optimizer, train_rows: PaddedRows, generator, settings) -> float:
    """One pass over the shuffled training rows; returns the mean loss per labelled position.

    A model's ``auxiliary_loss(inputs, labels, hidden, table, users)`` (part of the
    :class:`~llmrec.backbones.base.Backbone` contract; a wrapped method such as LLM-ESR
    has one) is added to each step's loss where it is not None; the returned mean covers
    the recommendation loss only, comparable across methods.
    """
    model.train()
    model.begin_epoch()  # e.g. LLM-ESR refreshes its per-epoch teacher
    order = torch.randperm(len(train_rows), generator=generator, device=generator.device)
    loss_sum = torch.zeros((), device=train_rows.rows.device)
    n_labels = 0
    min_width = model.train_window - model.max_len + 1
    for start in range(0, len(train_rows), settings["batch_size"]):
        index = order[start : start + settings["batch_size"]]
        batch = train_rows.batch(index, min_width)
        inputs, labels = model.training_pairs(batch, generator)
        table = model.item_embedding.table()  # once per step: lookup and scoring share it
        hidden = model(inputs, table)
        labelled = labels > 0
        queries, items = model.item_embedding.scoring_operands(hidden[labelled], table)
        targets = labels[labelled] - 1  # item id -> row of `items`
        loss = softmax_cross_entropy(queries, items, targets, settings["max_logit_elements"])
        extra = model.auxiliary_loss(inputs, labels, hidden, table, train_rows.owners[index])
        total = loss if extra is None else loss + extra
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        loss_sum += loss.detach() * len(targets)
        n_labels += len(targets)
    return float(loss_sum) / max(n_labels, 1)


def _cpu_copy(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in state_dict.items()}


def _save(state_dir, identity, model, optimizer, generator, progress) -> None:
    fingerprint, components = identity
    state_io.save(
        state_dir,
        {
            "fingerprint": fingerprint,
            "components": components,
            "model": _cpu_copy(model.state_dict()),
            "optimizer": optimizer.state_dict(),
            "rng": capture_rng(generator),
            **progress,
        },
    )
