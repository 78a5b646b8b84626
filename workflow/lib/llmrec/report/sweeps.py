"""The sweeps table: every point of each method's sweeps and combinations, per dataset x
backbone, with the mean validation metric a choice on validation compares (the point
:mod:`.selection` would pick is marked) and, beside it, what the point does on test.

The test columns are for reading, never for choosing: they show whether the point
validation picks also wins on test, and by how much the settings matter.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import collect, render, selection

TEST_METRICS = ("ndcg@10", "recall@10")
LABELS = {f"{name}@{k}": f"{label}@{k}" for name, label in (("ndcg", "NDCG"), ("recall", "Recall"), ("mrr", "MRR")) for k in (5, 10, 20, 50)}


def sweeps_frame(
    cells: list[dict], candidates: dict[str, list[str]], labels: dict[str, str], runs_root: str | Path, metric: str
) -> pd.DataFrame:
    """One row per dataset x backbone x method x point (planned order): its setting, seeds
    found, validation ``metric`` mean and std over seeds, test NDCG@10 / Recall@10 mean and
    std, and whether validation chooses it (``chosen``)."""
    planned = collect.cells_from(cells)
    valid = selection.load_valid(planned, runs_root, metric)
    test, _ = collect.load_metrics(planned, runs_root)
    chosen = selection.choose(valid, candidates)
    picked = {(r.dataset, r.backbone, r.chosen) for r in chosen.itertuples()}
    settings = list(dict.fromkeys((c.dataset, c.backbone) for c in planned))
    rows = []
    for dataset, backbone in settings:
        for method, ids in candidates.items():
            for point in ids:
                row = {"dataset": dataset, "backbone": backbone, "method": method, "point": point, "setting": labels[point]}
                here = valid[(valid["dataset"] == dataset) & (valid["backbone"] == backbone) & (valid["method"] == point)]
                row["n_seeds"] = len(here)
                row["valid_mean"] = here["value"].mean() if len(here) else float("nan")
                row["valid_std"] = here["value"].std(ddof=1) if len(here) > 1 else float("nan")
                for name in TEST_METRICS:
                    values = test[
                        (test["dataset"] == dataset) & (test["backbone"] == backbone)
                        & (test["method"] == point) & (test["metric"] == name)
                    ]["value"] if not test.empty else pd.Series(dtype=float)  # fmt: skip
                    row[f"test_{name}_mean"] = values.mean() if len(values) else float("nan")
                    row[f"test_{name}_std"] = values.std(ddof=1) if len(values) > 1 else float("nan")
                row["chosen"] = (dataset, backbone, point) in picked
                rows.append(row)
    return pd.DataFrame(rows)


def display(frame: pd.DataFrame, metric: str):
    def build(style: render.Style) -> pd.DataFrame:
        rows = []
        for r in frame.to_dict("records"):
            rows.append(
                {
                    "Dataset": r["dataset"],
                    "Backbone": r["backbone"],
                    "Method": r["method"],
                    "Setting": r["setting"],
                    "Seeds": r["n_seeds"],
                    f"Valid {LABELS.get(metric, metric)}": render.mean_std(
                        r["valid_mean"], r["valid_std"], style, place=1 if r["chosen"] else None
                    ),
                    **{
                        f"Test {LABELS[name]}": render.mean_std(r[f"test_{name}_mean"], r[f"test_{name}_std"], style)
                        for name in TEST_METRICS
                    },
                    "Chosen": style.bold.format("✓") if r["chosen"] else "",
                }
            )
        return pd.DataFrame(rows) if rows else pd.DataFrame(columns=["Dataset", "Backbone", "Method", "Setting"])

    return build


def build(
    cells: list[dict],
    candidates: dict[str, list[str]],
    labels: dict[str, str],
    runs_root: str | Path,
    metric: str,
    outputs: dict[str, str],
) -> pd.DataFrame:
    """Write the sweeps table (``outputs``: csv, md, tex) and return its tidy frame."""
    frame = sweeps_frame(cells, candidates, labels, runs_root, metric)
    notes = [
        f"Valid: mean ± sample std over seeds of the validation {metric} at the best epoch; "
        "✓ marks the point with the best mean among those with the most seeds (ties: the "
        "configured setting), the one report.select: validation puts in the main table.",
        "Test: the same runs' test metrics, shown for reading only; no choice uses them.",
        "Setting: what the point changes in the method's config section (configured: the main run).",
    ]
    render.write_table(
        frame,
        display(frame, metric),
        notes,
        csv=outputs["csv"],
        md=outputs["md"],
        tex=outputs["tex"],
        caption="Sweeps: each setting on validation (which chooses) and on test (which does not).",
    )
    return frame
