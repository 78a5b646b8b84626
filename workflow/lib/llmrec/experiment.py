"""One grid cell end to end: load data, build the method's item table, train with the
epoch diagnostics, and write metrics, history, settings and the initial item norms."""

from __future__ import annotations

import logging
import platform
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import diagnostics, graph, io, metrics, provenance
from .data import processed
from .training import train_and_evaluate

log = logging.getLogger(__name__)


def training_graph_laplacian(data: processed.SequenceData, options: dict) -> Any:
    """Laplacian of the training co-occurrence graph that the alignment score uses."""
    a = graph.build_graph(
        data.train_sequences(),
        data.n_items,
        k=int(options["graph_K"]),
        k_mode=options["graph_k_mode"],
        window=int(options["graph_window"]),
    )
    return graph.laplacian(a, options["laplacian"])


def initial_item_norms(model) -> np.ndarray:
    """Norms of the item rows a freshly built model starts from, before any forward-pass
    normalisation."""
    emb = model.item_embedding
    normalize, emb.normalize = emb.normalize, False
    try:
        with torch.no_grad():
            return emb.item_vectors().norm(dim=1).cpu().numpy()
    finally:
        emb.normalize = normalize


def run(
    data_dir: str | Path,
    settings: dict[str, Any],
    method_inputs: dict[str, str],
    state_dir: str | Path,
    outputs: dict[str, str],
    negatives_path: str | None = None,
) -> dict:
    """Train and evaluate one cell; write ``outputs`` (metrics, history, settings,
    initial_norms, test_ranks, item_vectors) atomically. Returns the metrics record.
    ``settings``: the run's, complete (``llmrec.plan.Plan.run(...).settings``)."""
    data = processed.load(data_dir)
    method = settings["method"]
    diag_options = settings["diagnostics"]
    negatives = metrics.load_negatives(negatives_path, data) if negatives_path else None

    # the processed data files this run reads: their content is part of the state's
    # fingerprint, and every consumed file's digest is recorded in settings.json
    data_files = {name: str(Path(data_dir) / name) for name in processed.FILES if (Path(data_dir) / name).is_file()}
    if negatives_path:
        data_files["negatives"] = str(negatives_path)
    norms = []  # from the model the run trains, before its first step
    hook = diagnostics.EpochDiagnostics(
        data.train_sequences(),
        data.n_items,
        sample_size=int(diag_options["rho_sample_size"]),
        hard_negatives=int(diag_options["rho_hard_negatives"]),
        renorm=bool(diag_options["rho_renorm"]),
        seed=int(settings["seed"]),
        laplacian=training_graph_laplacian(data, diag_options),
    )
    result = train_and_evaluate(
        data,
        method,
        settings,
        state_dir,
        method_inputs=method_inputs,
        negatives=negatives,
        epoch_hooks=[hook],
        extra_inputs=data_files,
        on_model_built=lambda model: norms.append(initial_item_norms(model)),
    )
    norms = norms[0]
    record = {
        "dataset": settings["dataset"],
        "backbone": settings["backbone"],
        "method": method,
        "method_id": settings["method_id"],
        "seed": int(settings["seed"]),
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history),
        "valid": result.valid_metrics,
        "test": result.test_metrics,
    }
    resolved = {
        **result.settings,
        "diagnostics": diag_options,
        "method_inputs": method_inputs,
        "inputs": provenance.input_digests({**data_files, **method_inputs}),
        "code_digest": provenance.code_digest(),
        "n_users": data.n_users,
        "n_items": data.n_items,
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "device": str(next(result.model.parameters()).device),
        },
    }
    io.write_npy(outputs["initial_norms"], norms.astype(np.float32))
    # 1-based rank of each test user's target: per-user metrics and paired tests
    io.write_npy(outputs["test_ranks"], (np.asarray(result.test_ranks) + 1).astype(np.int64))
    with torch.no_grad():  # the best epoch's effective item vectors (LLMEmb aligns to them)
        final_items = result.model.item_embedding.item_vectors().cpu().numpy()
    io.write_npy(outputs["item_vectors"], final_items.astype(np.float32))
    io.write_table(outputs["history"], result.history)
    io.write_json(outputs["settings"], resolved)
    io.write_json(outputs["metrics"], record)  # last: its presence means the run is complete
    log.info("best epoch %d; test %s", result.best_epoch, result.test_metrics)
    return record
