"""Settings chosen on validation: which sweep point stands for a method in the main table.

With ``report.select: validation`` every method that has sweep points (its main run
included) is represented, per dataset x backbone, by the point with the best mean
validation metric (``training.valid_metric``, the early-stopping one) over its seeds;
test metrics never take part. Only points with as many seeds as the most complete point
of that setting compete, so that a point is not chosen for having fewer, luckier seeds.
Ties go to the main run, then to the first point in the plan's order.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd

from .collect import Cell, read_cells

SELECTION_COLUMNS = ["dataset", "backbone", "method", "chosen", "valid_mean", "n_seeds", "n_points"]


def load_valid(cells: list[Cell], root: str | Path, metric: str) -> pd.DataFrame:
    """dataset, backbone, method (id), seed, value: the validation ``metric`` of each run."""

    def reader(path: Path) -> pd.DataFrame:
        valid = json.loads(path.read_text())["valid"]
        if metric not in valid:
            raise KeyError(f"{path}: no validation metric {metric!r} (has {sorted(valid)})")
        return pd.DataFrame({"value": [float(valid[metric])]})

    frame, _ = read_cells(cells, root, "metrics.json", reader)
    return frame


def choose(valid: pd.DataFrame, candidates: dict[str, list[str]]) -> pd.DataFrame:
    """One row per dataset x backbone x method of ``candidates`` ({method: its method ids,
    the main run first}) that has runs: the chosen method id and its mean validation value."""
    rows = []
    if valid.empty:
        return pd.DataFrame(columns=SELECTION_COLUMNS)
    for (dataset, backbone), runs in valid.groupby(["dataset", "backbone"], sort=False):
        for method, ids in candidates.items():
            stats = runs[runs["method"].isin(ids)].groupby("method")["value"].agg(["mean", "count"])
            if stats.empty:
                continue
            complete = stats[stats["count"] == stats["count"].max()]
            order = [i for i in ids if i in complete.index]  # plan order: ties -> main run
            best = max(order, key=lambda i: (complete.loc[i, "mean"], -order.index(i)))
            rows.append(
                {
                    "dataset": dataset,
                    "backbone": backbone,
                    "method": method,
                    "chosen": best,
                    "valid_mean": float(complete.loc[best, "mean"]),
                    "n_seeds": int(complete.loc[best, "count"]),
                    "n_points": len(order),
                }
            )
    return pd.DataFrame(rows, columns=SELECTION_COLUMNS)


def substitute(planned: list[Cell], selection: pd.DataFrame) -> tuple[list[Cell], dict[Cell, Cell]]:
    """The cells to read instead of ``planned`` (a chosen point's cells in place of its
    method's main run), and {cell read: the planned cell it stands for}."""
    chosen = {(r.dataset, r.backbone, r.method): r.chosen for r in selection.itertuples()}
    read, stands_for = [], {}
    for cell in planned:
        source = replace(cell, method=chosen.get(cell.setting, cell.method))
        read.append(source)
        stands_for[source] = cell
    return read, stands_for


def relabel(frame: pd.DataFrame, stands_for: dict[Cell, Cell]) -> pd.DataFrame:
    """Rows of the cells read, renamed to the methods they stand for."""
    if frame.empty:
        return frame
    renames = {(s.dataset, s.backbone, s.method): p.method for s, p in stands_for.items()}
    keys = zip(frame["dataset"], frame["backbone"], frame["method"])
    return frame.assign(method=[renames.get(k, k[2]) for k in keys])


def note(selection: pd.DataFrame, metric: str) -> str:
    """The main table's footnote: which point was picked where."""
    if selection.empty:
        return f"Selected on validation ({metric}): no method with sweep points has runs."
    parts = [
        f"{r.method} on {r.dataset}/{r.backbone}: {r.chosen} (valid {r.valid_mean:.4f}, "
        f"{r.n_seeds} seed(s), best of {r.n_points} point(s))"
        for r in selection.itertuples()
    ]
    return (
        f"Settings chosen on validation (report.select: validation; best mean validation "
        f"{metric} over seeds, test metrics unused): " + "; ".join(parts) + "."
    )
