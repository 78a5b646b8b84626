"""One row per finished run: ``results/tables/runs.csv``.

A run folder counts as finished when its ``metrics.json`` exists (the trainer writes it
last). Each row holds the cell (dataset, backbone, method id, its base method and sweep
point, seed), the training outcome (best epoch, epochs run, wall time), every test and
validation metric at the best epoch, and the settings most often filtered on, so that a
large set of runs can be sorted and filtered without opening the folders.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Iterable

import pandas as pd

from .. import io
from .aggregate import read_benchmark
from .collect import CELL_KEYS, Cell, cells_from

#: settings.json keys copied into the table (absent ones are left empty)
KEY_SETTINGS = (
    "hidden_size",
    "max_len",
    "lr",
    "weight_decay",
    "batch_size",
    "epochs",
    "patience",
    "valid_metric",
    "train_windows",
    "eval_protocol",
    "filter_seen",
    "n_layers",
    "dropout",
    "norm",
    "text_model",
    "llm",
    "alpha",
    "K",
    "n_users",
    "n_items",
)
#: default benchmark file of a training job (Snakemake's ``benchmark:`` of rule train)
TRAIN_BENCHMARK = "benchmarks/train/{dataset}/{backbone}/{method}/seed{seed}.tsv"

LEADING = [
    "dataset",
    "backbone",
    "method_id",
    "method",
    "sweep_param",
    "sweep_value",
    "seed",
    "best_epoch",
    "epochs_run",
    "train_seconds",
    "job_seconds",
    "max_rss_mb",
]


def sweep_point(method_id: str) -> tuple[str, str]:
    """``("K", "3")`` for ``"TF-LLMER~K=3"``, ``("normalize_h;tau", "true;0.1")`` for a
    combination ``"TF-LLMER~normalize_h=true~tau=0.1"``; ``("", "")`` for a main run."""
    pairs = [part.partition("=") for part in method_id.split("~")[1:]]
    return ";".join(k for k, _, _ in pairs), ";".join(v for _, _, v in pairs)


def _flat(provenance: dict) -> dict:
    """One level: the upstream jobs' settings, then the method's, then the top keys."""
    flat: dict = {}
    for job in (provenance.get("upstream") or {}).values():
        flat.update(job)
    flat.update(provenance.get("settings") or {})
    flat.update({k: v for k, v in provenance.items() if k not in ("settings", "upstream")})
    return flat


def _cell_value(value):
    """A scalar for one CSV cell: lists and dicts as compact JSON, None as empty."""
    if value is None:
        return math.nan
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, sort_keys=True)
    return value


def run_row(
    cell: Cell, root: str | Path, benchmark: str | None = TRAIN_BENCHMARK, base_dir=".", provenance=None
) -> dict | None:
    """The row of one run folder, or None when the run has not finished. ``provenance``:
    what the plan says of the run besides its settings (models, substitutions, the
    settings of the jobs upstream of it); a key of settings.json wins."""
    folder = cell.folder(root)
    metrics_path = folder / "metrics.json"
    if not metrics_path.exists():
        return None
    record = json.loads(metrics_path.read_text())
    param, value = sweep_point(cell.method)
    row: dict = {
        "dataset": cell.dataset,
        "backbone": cell.backbone,
        "method_id": cell.method,
        "method": cell.method.split("~", 1)[0],
        "sweep_param": param,
        "sweep_value": value,
        "seed": cell.seed,
        "best_epoch": record.get("best_epoch", math.nan),
        "epochs_run": record.get("epochs_run", math.nan),
        "train_seconds": math.nan,
        "job_seconds": math.nan,
        "max_rss_mb": math.nan,
    }
    history_path = folder / "history.csv"
    if history_path.exists():
        history = pd.read_csv(history_path)
        if "epoch_seconds" in history:
            row["train_seconds"] = float(history["epoch_seconds"].sum())
        if math.isnan(float(row["epochs_run"])):
            row["epochs_run"] = len(history)
    if benchmark is not None:
        bench = Path(base_dir) / benchmark.format(**cell.__dict__)
        if bench.exists():
            row["job_seconds"], row["max_rss_mb"] = read_benchmark(bench)
    for split in ("test", "valid"):
        for metric, number in sorted((record.get(split) or {}).items()):
            row[f"{split}_{metric}"] = float(number)
    settings_path = folder / "settings.json"
    settings = json.loads(settings_path.read_text()) if settings_path.exists() else {}
    settings = {**_flat(provenance or {}), **settings}
    for key in KEY_SETTINGS:
        row[key] = _cell_value(settings.get(key))
    environment = settings.get("environment") or {}
    row["device"] = environment.get("device", "")
    row["torch"] = environment.get("torch", "")
    substitutions = settings.get("substitutions") or {}
    row["substitutions"] = "; ".join(f"{k}: {v}" for k, v in sorted(substitutions.items()))
    row["folder"] = str(folder)
    return row


def runs_frame(
    cells: Iterable[Cell],
    root: str | Path,
    benchmark: str | None = TRAIN_BENCHMARK,
    base_dir: str | Path = ".",
    provenance: dict[str, dict] | None = None,
) -> pd.DataFrame:
    """One row per finished run of ``cells`` (duplicates dropped), in the cells' order;
    ``provenance``: {method id: what the plan says of its runs} (see :func:`run_row`).

    Columns: :data:`LEADING`, then ``test_<metric>`` and ``valid_<metric>`` for every
    metric any run recorded, then :data:`KEY_SETTINGS`, ``device``, ``torch``,
    ``substitutions`` and the run ``folder``. ``train_seconds`` sums the epochs'
    ``epoch_seconds`` of ``history.csv`` (training and validation, over resumptions);
    ``job_seconds`` and ``max_rss_mb`` come from the job's Snakemake benchmark file
    (empty when it is missing).
    """
    rows, seen = [], set()
    for cell in cells:
        if cell in seen:
            continue
        seen.add(cell)
        row = run_row(cell, root, benchmark, base_dir, (provenance or {}).get(cell.method))
        if row is not None:
            rows.append(row)
    metric_columns = sorted(
        {
            k
            for row in rows
            for k in row
            if k.startswith(("test_", "valid_")) and k not in KEY_SETTINGS
        },
        key=lambda k: (not k.startswith("test_"), k),
    )
    columns = [
        *LEADING,
        *metric_columns,
        *KEY_SETTINGS,
        "device",
        "torch",
        "substitutions",
        "folder",
    ]
    return pd.DataFrame(rows, columns=columns)


def build_runs_table(
    cells: Iterable[dict],
    runs_root: str | Path,
    output: str | Path,
    benchmark: str | None = TRAIN_BENCHMARK,
    base_dir: str | Path = ".",
    provenance: dict[str, dict] | None = None,
) -> pd.DataFrame:
    """Write ``runs.csv`` (atomically) for the planned ``cells`` (dicts with
    :data:`~llmrec.report.collect.CELL_KEYS`) and return the frame."""
    frame = runs_frame(cells_from(cells), runs_root, benchmark, base_dir, provenance)
    io.write_table(output, frame)
    return frame


__all__ = ["CELL_KEYS", "KEY_SETTINGS", "build_runs_table", "run_row", "runs_frame"]
