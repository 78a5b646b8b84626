"""All tables of the paper from the run folders: main results, ablation, significance and
cost, each as CSV (tidy, full precision), Markdown and LaTeX with footnotes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import aggregate, collect, render, selection, significance
from .aggregate import FEW_SEEDS_MARK, MAIN_METRICS, SEED_MARK, USER_MARK
from .collect import Cell


def _p_value(p) -> str:
    if render.is_missing(p):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _common_notes(methods, planned, missing, pending, substitutions) -> list[str]:
    """Missing runs and the substitutions of the runs of ``methods``."""
    planned = [c for c in planned if c.method in methods]
    lines = collect.describe_missing([c for c in missing if c.method in methods], planned, pending)
    notes = []
    if lines:
        notes.append(
            f"Missing runs ({render.MISSING}: no seed finished; {FEW_SEEDS_MARK}: mean over "
            "the seeds that did): " + "; ".join(lines) + "."
        )
    for method in methods:
        for what, text in substitutions.get(method, {}).items():
            notes.append(f"{method}: {what}: {text}.")
    return notes


def _seeds_note(planned: list[Cell]) -> str:
    n = len({c.seed for c in planned})
    return f"Mean ± std over {n} seed{'s' if n != 1 else ''} (std left out with one seed)."


def improvement_note(metrics: pd.DataFrame, target: str, baselines: list[str]) -> str:
    """Which baselines the Improv. column is against and how many of them had runs."""
    ran = set(metrics["method"]) if not metrics.empty else set()
    present = [b for b in baselines if b in ran]
    names = ", ".join(present) if present else "none"
    return (
        f"Improv.: relative improvement of {target} over the baseline named in 'vs', the "
        "best mean per dataset, backbone and metric among the baselines with runs "
        f"({len(present)} of {len(baselines)} planned: {names}; ablations excluded), "
        "not necessarily the best baseline of the paper."
    )


def significance_display(frame: pd.DataFrame, confidence: float):
    def display(style: render.Style) -> pd.DataFrame:
        rows = []
        for r in frame.itertuples(index=False):
            ci = (
                "n/a"
                if render.is_missing(r.users_ci_low)
                else f"[{r.users_ci_low:+.4f}, {r.users_ci_high:+.4f}]"
            )
            rows.append(
                {
                    "Dataset": r.dataset,
                    "Backbone": r.backbone,
                    "Metric": aggregate.metric_label(r.metric),
                    "Baseline": r.baseline,
                    "Seeds": r.seeds_n,
                    "Δ (seeds)": f"{r.seeds_mean_diff:+.4f}",
                    "p (seeds)": _p_value(r.seeds_p),
                    "Users": "n/a" if render.is_missing(r.users_n) else f"{int(r.users_n)}",
                    "Δ (users)": (
                        "n/a"
                        if render.is_missing(r.users_mean_diff)
                        else f"{r.users_mean_diff:+.4f}"
                    ),
                    f"{confidence:.0%} CI (users)": ci,
                    "p (users)": _p_value(r.users_p),
                    "Note": r.note,
                }
            )
        columns = ["Dataset", "Backbone", "Metric", "Baseline"]
        return pd.DataFrame(rows, columns=columns) if not rows else pd.DataFrame(rows)

    return display


def cost_notes(per_run: pd.DataFrame) -> list[str]:
    """One line per method x stage with missing benchmark files (count and an example)."""
    lacking = per_run[per_run["missing_files"] != ""]
    lines = []
    for (method, stage), group in lacking.groupby(["method", "stage"], sort=False):
        total = ((per_run["method"] == method) & (per_run["stage"] == stage)).sum()
        example = group["missing_files"].iloc[0].split("; ")[0]
        lines.append(f"{method} {stage}: {len(group)} of {total} runs lack a file (e.g. {example})")
    if not lines:
        return []
    return [f"Missing benchmark files ({render.MISSING}): " + "; ".join(lines) + "."]


def build_all(
    cells: list[dict],
    runs_root: str | Path,
    main_methods: list[str],
    ablation_methods: list[str],
    target: str,
    baselines: list[str],
    benchmarks: dict[str, dict[str, list[str]]],
    settings: dict,
    outputs: dict[str, str],
    substitutions: dict[str, dict[str, str]] | None = None,
    pending: list[str] = (),
    base_dir: str | Path = ".",
    select: dict | None = None,
) -> None:
    """Write every table; ``outputs`` has {main,ablation,significance,cost}_{csv,md,tex}.
    ``substitutions``: {method: {what: text}} from the plan (a footnote each).
    ``select`` (report.select: validation): {"cells": every sweep point's cells,
    "candidates": {method: its method ids}, "metric": the validation metric}; the main and
    significance tables then show each such method's point chosen on validation
    (:mod:`.selection`), the ablation table its main run."""
    planned = collect.cells_from(cells)
    metrics, missing = collect.load_metrics(planned, runs_root)
    substitutions = substitutions or {}
    alpha, confidence = settings["alpha"], settings["confidence"]
    main_metrics, main_missing, main_ranks = metrics, missing, None
    selection_notes = []
    if select is not None:
        valid = selection.load_valid(collect.cells_from(select["cells"]), runs_root, select["metric"])
        chosen = selection.choose(valid, select["candidates"])
        read, stands_for = selection.substitute(planned, chosen)
        found, absent = collect.load_metrics(read, runs_root)
        main_metrics, main_missing = selection.relabel(found, stands_for), [stands_for[c] for c in absent]
        main_ranks = {stands_for[c]: r for c, r in collect.load_test_ranks(read, runs_root).items()}
        selection_notes = [selection.note(chosen, select["metric"])]
    if main_ranks is None:
        main_ranks = collect.load_test_ranks(planned, runs_root)

    def files(name):
        return {ext: outputs[f"{name}_{ext}"] for ext in ("csv", "md", "tex")}

    tests = significance.significance_frame(
        main_metrics,
        main_ranks,
        target,
        baselines if target in main_methods else [],
        MAIN_METRICS,
        settings["user_test"],
        confidence,
    )

    summary = aggregate.summarise(main_metrics, planned, main_methods, MAIN_METRICS)
    tidy, display = aggregate.method_table(summary, main_methods, target, baselines, tests, alpha)
    notes = [
        _seeds_note(planned),
        *selection_notes,
        "Bold: best; underlined: second best per dataset, backbone and metric.",
        improvement_note(main_metrics, target, baselines),
        f"{USER_MARK} / {SEED_MARK}: {target} significantly better than that baseline "
        f"(p < {alpha}) across users ({settings['user_test']} on per-user values from the "
        "test ranks) / across seeds (paired t-test); see the significance table.",
        *_common_notes(main_methods, planned, main_missing, pending, substitutions),
    ]
    render.write_table(
        tidy,
        display,
        notes,
        **files("main"),
        caption="Test results (full ranking) of every method per dataset and backbone.",
    )

    summary = aggregate.summarise(metrics, planned, ablation_methods, MAIN_METRICS)
    tidy, display = aggregate.method_table(summary, ablation_methods)
    notes = [
        _seeds_note(planned),
        "Bold: best; underlined: second best per dataset, backbone and metric.",
        "wo-norm: Rec-PCA init without normalisation; wo-RecPCA: vanilla PCA init with "
        "normalisation; wo-both: vanilla PCA init without normalisation.",
        *_common_notes(ablation_methods, planned, missing, pending, substitutions),
    ]
    render.write_table(
        tidy,
        display,
        notes,
        **files("ablation"),
        caption=f"Ablation of {target}: normalisation and Rec-PCA.",
    )

    notes = [
        *selection_notes,
        f"{target} minus baseline. Seeds: paired t-test over the seeds both have (n/a with "
        f"fewer than 2). Users: per-user metric from test_ranks.npy (averaged over those "
        f"seeds), {settings['user_test']} over users, {confidence:.0%} t-interval of the "
        "mean per-user difference.",
        *_common_notes(baselines, planned, main_missing, pending, {}),
    ]
    render.write_table(
        tests,
        significance_display(tests, confidence),
        notes,
        **files("significance"),
        caption=f"Paired significance tests of {target} against each baseline.",
    )

    methods = list(dict.fromkeys(c.method for c in planned))
    per_run = aggregate.cost_per_run(planned, benchmarks, base_dir)
    tidy, display = aggregate.cost_table(per_run)
    notes = [
        "Wall-clock time from the Snakemake benchmark files; training: mean over seeds. "
        "Embedding and Rec-PCA run once per dataset and are shared by backbones, seeds "
        "and methods that use the same vectors. n/a: the method has no such stage.",
        *cost_notes(per_run),
        *_common_notes(methods, planned, [], pending, substitutions),
    ]
    render.write_table(
        tidy,
        display,
        notes,
        **files("cost"),
        caption="Cost of every method: LLM fine-tuning, embedding, Rec-PCA and training.",
    )
