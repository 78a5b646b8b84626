"""The paper's figures: one function per kind on shared helpers (panel grid, colours,
missing-run notes, PDF + PNG output). Every function takes the *planned* cells so that a
missing run is named under the figure (and in its panel) instead of silently dropped."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.ticker  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .. import io  # noqa: E402
from .collect import Cell, describe_missing  # noqa: E402

PANEL_SIZE = (3.4, 2.6)  # inches per panel: readable in print at column width x 2


def _style() -> None:
    sns.set_theme(context="paper", style="whitegrid", font_scale=1.15)
    plt.rcParams.update({"pdf.fonttype": 42, "ps.fonttype": 42, "axes.titleweight": "bold"})


def _axes_of(planned: list[Cell]) -> tuple[list[str], list[str]]:
    """Datasets (rows) and backbones (columns) in planning order."""
    return list(dict.fromkeys(c.dataset for c in planned)), list(
        dict.fromkeys(c.backbone for c in planned)
    )


def _grid(n_rows: int, n_cols: int):
    _style()
    fig, axes = plt.subplots(
        n_rows, n_cols, figsize=(PANEL_SIZE[0] * n_cols, PANEL_SIZE[1] * n_rows), squeeze=False
    )
    return fig, axes


def _colours(series: list[str]) -> dict[str, tuple]:
    """Distinct colours for the series that are drawn (colour-blind safe up to 10)."""
    palette = "colorblind" if len(series) <= 10 else "husl"
    return dict(zip(series, sns.color_palette(palette, max(len(series), 3))))


def _drawn(frame: pd.DataFrame, planned: list[Cell]) -> list[str]:
    """The planned methods with data in ``frame``, in planning order."""
    present = set(frame["method"]) if "method" in frame else set()
    return [m for m in dict.fromkeys(c.method for c in planned) if m in present]


def _panel_note(ax, absent: list[str]) -> None:
    """Name, inside a panel, the series it lacks (left out of the layout)."""
    if absent:
        fig = ax.get_figure()
        width = int(ax.get_position().width * fig.get_figwidth() * 18)  # chars at xx-small
        text = textwrap.fill("missing: " + "; ".join(absent), max(width, 20))
        ax.text(
            0.02,
            0.02,
            text,
            transform=ax.transAxes,
            fontsize="xx-small",
            color="0.35",
            va="bottom",
            ha="left",
            in_layout=False,
        )


def _finish(fig, axes, missing: list[str], pdf: str | Path, png: str | Path, dpi: int) -> None:
    """Lay out the panels, one legend above them and the missing-run note below, then
    save PDF + PNG (bbox "tight" grows the page to hold both)."""
    fig.tight_layout()
    handles = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    if handles:
        fig.legend(
            handles.values(),
            handles.keys(),
            loc="lower center",
            bbox_to_anchor=(0.5, 1.0),
            ncol=min(len(handles), 4),
            frameon=False,
        )
    if missing:
        note = "Missing runs (not drawn): " + "; ".join(missing)
        width = int(fig.get_figwidth() * 16)  # characters per line at this font size
        fig.text(0.01, -0.01, textwrap.fill(note, width), fontsize="x-small", va="top")
    for path, fmt in ((pdf, "pdf"), (png, "png")):
        with io.atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight")
    plt.close(fig)


def _log_axis(ax) -> None:
    """Log scale labelled with plain numbers (20, 0.5); minor ticks are labelled too when
    the data span less than about a decade. Call after plotting."""
    ax.set_yscale("log")
    plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    low, high = ax.get_ylim()
    if high / low < 12:
        ax.yaxis.set_minor_formatter(plain)
        ax.tick_params(axis="y", which="minor", labelsize="x-small")
    else:
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def _label(method: str, labels: dict[str, str] | None) -> str:
    return (labels or {}).get(method, method)


def _method_panels(frame, planned, labels, draw, xlabel, ylabel, log_y, missing, pending, pdf, png, dpi):
    """The shared layout of the per-run figures: rows datasets, columns backbones, in each
    panel ``draw(ax, method, runs, colour, label)`` for every planned method that has
    rows in ``frame`` and a note naming those that have none."""
    datasets, backbones = _axes_of(planned)
    methods = list(dict.fromkeys(c.method for c in planned))
    colours = _colours(_drawn(frame, planned))
    fig, axes = _grid(len(datasets), len(backbones))
    for i, dataset in enumerate(datasets):
        for j, backbone in enumerate(backbones):
            ax = axes[i, j]
            panel = frame[(frame["dataset"] == dataset) & (frame["backbone"] == backbone)]
            absent = []
            for method in methods:
                runs = panel[panel["method"] == method]
                if runs.empty:
                    absent.append(_label(method, labels))
                else:
                    draw(ax, method, runs, colours[method], _label(method, labels))
            _panel_note(ax, absent)
            if log_y:
                _log_axis(ax)
            ax.set_title(f"{dataset} · {backbone}")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
    _finish(fig, axes, describe_missing(missing, planned, pending), pdf, png, dpi)


def curves(
    history: pd.DataFrame,
    planned: list[Cell],
    missing: list[Cell],
    column: str,
    ylabel: str,
    pdf: str | Path,
    png: str | Path,
    labels: dict[str, str] | None = None,
    log_y: bool = False,
    pending=(),
    dpi: int = 200,
) -> None:
    """Per-epoch curves of ``column`` (training loss, rho): rows datasets, columns
    backbones, one line per method (mean over seeds, band = ± std where > 1 seed)."""

    def draw(ax, method, runs, colour, label):
        by_epoch = runs.groupby("epoch")[column].agg(["mean", "std"])
        x, y = by_epoch.index.to_numpy(), by_epoch["mean"].to_numpy()
        ax.plot(x, y, color=colour, label=label, lw=1.6)
        if runs["seed"].nunique() > 1:
            sd = by_epoch["std"].fillna(0).to_numpy()
            ax.fill_between(x, y - sd, y + sd, color=colour, alpha=0.2, lw=0)

    _method_panels(history, planned, labels, draw, "epoch", ylabel, log_y, missing, pending, pdf, png, dpi)


def item_norms(
    norms: pd.DataFrame,
    planned: list[Cell],
    missing: list[Cell],
    pdf: str | Path,
    png: str | Path,
    labels: dict[str, str] | None = None,
    pending=(),
    dpi: int = 200,
) -> None:
    """Initial item-embedding norms sorted in descending order, one line per method:
    rows datasets, columns backbones (one seed per line, the first planned one)."""

    def draw(ax, method, runs, colour, label):
        run = runs[runs["seed"] == runs["seed"].min()]
        ax.plot(run["item_rank"], run["norm"], color=colour, label=label, lw=1.6)

    _method_panels(
        norms, planned, labels, draw, "items (sorted by magnitude)", "initial embedding norm",
        True, missing, pending, pdf, png, dpi,
    )  # fmt: skip


def _mean_std(metrics: pd.DataFrame, metric: str, keys: list[str]) -> pd.DataFrame:
    chosen = metrics[metrics["metric"] == metric]
    return chosen.groupby(keys)["value"].agg(["mean", "std"])


def ablation_bars(
    metrics: pd.DataFrame,
    planned: list[Cell],
    missing: list[Cell],
    metric: str,
    pdf: str | Path,
    png: str | Path,
    labels: dict[str, str] | None = None,
    pending=(),
    dpi: int = 200,
) -> None:
    """Bars of ``metric`` (mean ± std over seeds): one panel per dataset, backbones on
    the x axis, one bar per variant; a variant without runs shows a dash."""
    datasets, backbones = _axes_of(planned)
    methods = list(dict.fromkeys(c.method for c in planned))
    colours = _colours(methods)
    stats = _mean_std(metrics, metric, ["dataset", "backbone", "method"])
    fig, axes = _grid(1, len(datasets))
    width = 0.8 / len(methods)
    for ax, dataset in zip(axes[0], datasets):
        tops = []
        for k, method in enumerate(methods):
            for j, backbone in enumerate(backbones):
                x = j - 0.4 + width * (k + 0.5)
                key = (dataset, backbone, method)
                if key not in stats.index:
                    ax.text(
                        x,
                        0.02,
                        "—",
                        ha="center",
                        va="bottom",
                        color=colours[method],
                        transform=ax.get_xaxis_transform(),
                        fontweight="bold",
                    )
                    continue
                mean, sd = stats.loc[key, "mean"], np.nan_to_num(stats.loc[key, "std"])
                ax.bar(
                    x,
                    mean,
                    width,
                    yerr=sd,
                    color=colours[method],
                    capsize=2,
                    label=_label(method, labels),
                )
                tops.append((mean - sd, mean + sd))
        if tops:  # zoom on the bars, as the paper does: the y axis does not start at 0
            low, high = min(t[0] for t in tops), max(t[1] for t in tops)
            pad = 0.15 * (high - low or high or 1.0)
            ax.set_ylim(max(0.0, low - pad), high + pad)
        ax.set_xticks(range(len(backbones)), backbones)
        ax.set_title(dataset)
        ax.set_ylabel(_metric_axis(metric))
    _finish(fig, axes, describe_missing(missing, planned, pending), pdf, png, dpi)


def sweep(
    metrics: pd.DataFrame,
    planned: list[Cell],
    missing: list[Cell],
    points: dict,
    param: str,
    metric: str,
    pdf: str | Path,
    png: str | Path,
    pending=(),
    dpi: int = 200,
) -> None:
    """``metric`` (mean ± std over seeds) against a hyper-parameter: one panel per
    dataset, one line per backbone. ``points``: {value: method id of that sweep point}."""
    datasets, backbones = _axes_of(planned)
    colours = _colours(backbones)
    # numbers on a numeric axis; booleans and strings (a sweep of any key) as categories
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in points)
    if numeric:
        method_value = {method: float(value) for value, method in points.items()}
        names = {}
    else:
        method_value = {method: float(i) for i, method in enumerate(points.values())}
        names = {float(i): str(value) for i, value in enumerate(points)}
    chosen = metrics[metrics["method"].isin(method_value)]
    chosen = chosen.assign(value_x=chosen["method"].map(method_value))
    stats = _mean_std(chosen, metric, ["dataset", "backbone", "value_x"])
    fig, axes = _grid(1, len(datasets))
    for ax, dataset in zip(axes[0], datasets):
        absent = []
        for backbone in backbones:
            key = (dataset, backbone)
            line = stats.loc[key] if key in stats.index.droplevel(2) else None
            gone = [v for v in sorted(method_value.values()) if line is None or v not in line.index]
            if gone:
                absent.append(f"{backbone} at {param} = {', '.join(names.get(v, f'{v:g}') for v in gone)}")
            if line is None:
                continue
            ax.errorbar(
                line.index,
                line["mean"],
                yerr=line["std"].fillna(0),
                marker="o",
                capsize=2,
                color=colours[backbone],
                label=backbone,
            )
        _panel_note(ax, absent)
        ticks = sorted(method_value.values())
        ax.set_xticks(ticks, [names[t] for t in ticks] if names else None)
        ax.set_xlabel(param)
        ax.set_title(dataset)
        ax.set_ylabel(_metric_axis(metric))
    _finish(fig, axes, describe_missing(missing, planned, pending), pdf, png, dpi)


def _metric_axis(metric: str) -> str:
    name, k = metric.split("@")
    return {"ndcg": "NDCG", "recall": "Recall", "mrr": "MRR"}.get(name, name) + f"@{k}"


RECPCA_PANELS = {
    "mean_principal_cosine": "mean principal cosine to PCA",
    "retained_variance_fraction": "retained variance fraction",
}


def recpca_alpha(frame: pd.DataFrame, pdf: str | Path, png: str | Path, dpi: int = 200) -> None:
    """Rec-PCA against alpha, one line per formulation: the mean principal cosine between
    its subspace and PCA's, and the retained variance fraction (rows: datasets)."""
    datasets = list(dict.fromkeys(frame["dataset"]))
    fig, axes = _grid(len(datasets), len(RECPCA_PANELS))
    colours = _colours(list(dict.fromkeys(frame["form"])))
    for i, dataset in enumerate(datasets):
        here = frame[frame["dataset"] == dataset]
        for j, (column, label) in enumerate(RECPCA_PANELS.items()):
            ax = axes[i, j]
            for form, group in here.groupby("form", sort=False):
                group = group.sort_values("alpha")
                ax.plot(group["alpha"], group[column], "o-", color=colours[form], label=form)
            ax.set_xlabel("α")
            ax.set_ylabel(label)
            ax.set_title(dataset)
    _finish(fig, axes, [], pdf, png, dpi)
