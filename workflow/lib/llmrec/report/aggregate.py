"""The main, ablation and cost tables from the collected runs."""

from __future__ import annotations

import glob
import math
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from .collect import CELL_KEYS, Cell
from .render import Style, is_missing, mean_std

MAIN_METRICS = ["recall@10", "recall@20", "ndcg@10", "ndcg@20"]
METRIC_LABELS = {"recall": "R", "ndcg": "N", "mrr": "M"}
USER_MARK, SEED_MARK, FEW_SEEDS_MARK = "†", "‡", "*"
SETTING = ["dataset", "backbone", "method"]
STAGES = {
    "llm_finetune": "LLM fine-tuning",
    "embedding": "Embedding",
    "rec_pca": "Rec-PCA",
    "training": "Training",
}


def metric_label(metric: str) -> str:
    name, k = metric.split("@")
    return f"{METRIC_LABELS.get(name, name)}@{k}"


def _planned_settings(planned: list[Cell], methods: list[str]) -> pd.DataFrame:
    """dataset, backbone, method, n_planned (seeds) in planning order."""
    frame = pd.DataFrame([asdict(c) for c in planned if c.method in methods], columns=SETTING)
    counts = frame.groupby(SETTING, sort=False).size().rename("n_planned").reset_index()
    counts["method"] = pd.Categorical(counts["method"], categories=methods)
    return counts


def summarise(
    metrics: pd.DataFrame, planned: list[Cell], methods: list[str], metric_names: list[str]
) -> pd.DataFrame:
    """Mean and std (over seeds) of every planned dataset x backbone x method x metric;
    a setting without any run keeps NaN, and n_seeds says how many seeds it has."""
    settings = _planned_settings(planned, methods)
    grid = settings.merge(pd.DataFrame({"metric": metric_names}), how="cross")
    found = metrics[metrics["method"].isin(methods) & metrics["metric"].isin(metric_names)]
    stats = (
        found.groupby(SETTING + ["metric"])["value"]
        .agg(mean="mean", std="std", n_seeds="count")
        .reset_index()
    )
    stats["method"] = pd.Categorical(stats["method"], categories=methods)
    out = grid.merge(stats, on=SETTING + ["metric"], how="left")
    out["n_seeds"] = out["n_seeds"].fillna(0).astype(int)
    return out


def add_places(summary: pd.DataFrame) -> pd.DataFrame:
    """place = 1 for the best mean per dataset x backbone x metric, 2 for the second."""
    rank = summary.groupby(["dataset", "backbone", "metric"], sort=False)["mean"].rank(
        ascending=False, method="first"
    )
    return summary.assign(place=rank.where(rank <= 2))


def improvements(summary: pd.DataFrame, target: str, baselines: list[str]) -> pd.DataFrame:
    """Relative improvement (%) of ``target`` over the best of ``baselines`` (by mean),
    per dataset x backbone x metric."""
    rows = []
    for (dataset, backbone, metric), group in summary.groupby(
        ["dataset", "backbone", "metric"], sort=False
    ):
        means = dict(zip(group["method"].astype(str), group["mean"]))
        candidates = {m: v for m, v in means.items() if m in baselines and not is_missing(v)}
        best = max(candidates, key=candidates.get) if candidates else None
        ours = means.get(target, math.nan)
        base = candidates.get(best, math.nan)
        gain = 100.0 * (ours - base) / base if best and not is_missing(ours) and base else math.nan
        rows.append(
            {
                "dataset": dataset,
                "backbone": backbone,
                "metric": metric,
                "best_baseline": best,
                "improvement_pct": gain,
            }
        )
    return pd.DataFrame(rows)


def significance_marks(
    significance: pd.DataFrame, best: pd.DataFrame, alpha: float
) -> dict[tuple, str]:
    """{(dataset, backbone, metric): marks} for the target against the best baseline:
    † significantly better across users, ‡ across seeds (p < alpha)."""
    marks = {}
    if significance is None or significance.empty:
        return marks
    tests = significance.set_index(["dataset", "backbone", "metric", "baseline"])
    for row in best.dropna(subset=["best_baseline"]).itertuples(index=False):
        key = (row.dataset, row.backbone, row.metric, row.best_baseline)
        if key not in tests.index:
            continue
        test = tests.loc[key]
        text = ""
        if test["users_p"] < alpha and test["users_mean_diff"] > 0:
            text += USER_MARK
        if test["seeds_p"] < alpha and test["seeds_mean_diff"] > 0:
            text += SEED_MARK
        marks[key[:3]] = text
    return marks


def method_table(
    summary: pd.DataFrame,
    methods: list[str],
    target: str | None = None,
    baselines: list[str] = (),
    significance: pd.DataFrame | None = None,
    alpha: float = 0.05,
):
    """Methods side by side per dataset x backbone x metric, best bold, second underlined;
    with ``target``: its relative improvement over the best baseline and significance marks.

    Returns (tidy frame for the CSV, display(style) -> frame for Markdown/LaTeX)."""
    tidy = add_places(summary)
    marks = {}
    if target is not None and target in methods:
        best = improvements(tidy, target, list(baselines))
        marks = significance_marks(significance, best, alpha)
        tidy = tidy.merge(
            best.assign(method=target).astype({"method": tidy["method"].dtype}),
            on=["dataset", "backbone", "metric", "method"],
            how="left",
        )
        tidy["marks"] = [
            marks.get((r.dataset, r.backbone, r.metric), "") if r.method == target else ""
            for r in tidy.itertuples()
        ]
    else:
        best = None
        tidy["marks"] = ""
    few = (tidy["n_seeds"] > 0) & (tidy["n_seeds"] < tidy["n_planned"])
    tidy["marks"] = tidy["marks"] + np.where(few, FEW_SEEDS_MARK, "")
    tidy = tidy.sort_values(["method"], kind="stable").reset_index(drop=True)

    def display(style: Style) -> pd.DataFrame:
        rows = []
        for (dataset, backbone, metric), group in tidy.groupby(
            ["dataset", "backbone", "metric"], sort=False, observed=True
        ):
            row = {"Dataset": dataset, "Backbone": backbone, "Metric": metric_label(metric)}
            for r in group.itertuples():
                row[str(r.method)] = mean_std(r.mean, r.std, style, r.place, r.marks)
            if best is not None:
                gain = best.set_index(["dataset", "backbone", "metric"]).loc[
                    (dataset, backbone, metric), "improvement_pct"
                ]
                row["Improv."] = style.missing if is_missing(gain) else f"{gain:+.2f}%"
                against = best.set_index(["dataset", "backbone", "metric"]).loc[
                    (dataset, backbone, metric), "best_baseline"
                ]
                row["vs"] = against if isinstance(against, str) else style.missing
            rows.append(row)
        frame = pd.DataFrame(rows)
        columns = ["Dataset", "Backbone", "Metric"] + [m for m in methods if m in frame]
        # reindex: an experiment without these methods gets an empty table, not an error
        return frame.reindex(columns=columns + (["Improv.", "vs"] if best is not None else []))

    return tidy, display


# ---- cost -------------------------------------------------------------------------------


def read_benchmark(path: str | Path) -> tuple[float, float]:
    """(seconds, max_rss in MB) of a Snakemake benchmark TSV (mean over repeats)."""
    frame = pd.read_csv(path, sep="\t")
    rss = pd.to_numeric(frame.get("max_rss", pd.Series(dtype=float)), errors="coerce")
    return float(frame["s"].mean()), float(rss.mean()) if rss.notna().any() else math.nan


def cost_per_run(
    planned: list[Cell], patterns: dict[str, dict[str, list[str]]], base_dir: str | Path = "."
) -> pd.DataFrame:
    """Seconds of every pipeline stage of every planned run, summed over the benchmark
    files of the stage's patterns (``{dataset}``, ``{backbone}``, ``{method}``, ``{seed}``
    are filled in; globs allowed). A pattern without a file makes the stage missing (no
    time and no memory). A run that never trained (no ``training`` benchmark, e.g. in
    partial mode) reports no stage at all: its method's fine-tuning or encoding may have
    run, but no number of this run exists."""
    rows = []
    for cell in planned:
        stages = patterns.get(cell.method, {})
        found_files = {}
        for stage, stage_patterns in stages.items():
            files, lacking = [], []
            for pattern in stage_patterns:
                path = pattern.format(**asdict(cell))
                found = sorted(glob.glob(str(Path(base_dir) / path)))
                files += found
                if not found:
                    lacking.append(path)
            found_files[stage] = files, lacking
        untrained = "training" in found_files and bool(found_files["training"][1])
        for stage, (files, lacking) in found_files.items():
            if untrained:
                lacking = found_files["training"][1]
            measured = [] if lacking else [read_benchmark(f) for f in files]
            rows.append(
                {
                    **asdict(cell),
                    "stage": stage,
                    "seconds": math.nan if lacking else sum(s for s, _ in measured),
                    "max_rss_mb": max((r for _, r in measured), default=math.nan),
                    "missing_files": "; ".join(lacking),
                }
            )
    return pd.DataFrame(
        rows, columns=CELL_KEYS + ["stage", "seconds", "max_rss_mb", "missing_files"]
    )


def cost_table(per_run: pd.DataFrame):
    """Mean seconds over seeds per dataset x backbone x method x stage, and the display
    (rows in planning order).

    Returns (tidy frame, display(style) -> frame)."""
    tidy = (
        per_run.groupby(SETTING + ["stage"], sort=False)
        .agg(
            seconds=("seconds", "mean"),
            max_rss_mb=("max_rss_mb", "max"),
            runs=("seed", "count"),
            runs_missing=("seconds", lambda s: int(s.isna().sum())),
            missing_files=("missing_files", lambda s: "; ".join(x for x in s if x)),
        )
        .reset_index()
    )

    def display(style: Style) -> pd.DataFrame:
        rows = []
        for (dataset, backbone, method), group in tidy.groupby(SETTING, sort=False):
            row = {"Dataset": dataset, "Backbone": backbone, "Method": method}
            stages = group.set_index("stage")
            for stage, label in STAGES.items():
                if stage not in stages.index:
                    row[label] = "n/a"
                    continue
                s = stages.loc[stage]
                partly = 0 < s["runs_missing"] < s["runs"]
                row[label] = _duration(s["seconds"], style) + (
                    style.marks[FEW_SEEDS_MARK] if partly else ""
                )
            total = group["seconds"].sum(min_count=len(group))
            row["Total"] = _duration(total, style)
            rss = group["max_rss_mb"].max()
            row["Peak RSS (MB)"] = style.missing if is_missing(rss) else f"{rss:.0f}"
            rows.append(row)
        return pd.DataFrame(rows)

    return tidy, display


def _duration(seconds, style: Style) -> str:
    if is_missing(seconds):
        return style.missing
    if seconds >= 3600:
        return f"{seconds / 3600:.2f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"
