"""The paper's qualitative claims as verdicts, per dataset x backbone, from the run folders.

Each claim compares a method with another on one quantity in a stated direction
(``higher`` or ``lower``). Operational definitions (reconstructions; README "Do the
claims hold?"):

* ``train_loss``: history.csv's ``train_loss`` at the last epoch both runs of a seed
  pair have (early stopping ends runs at different epochs), per seed.
* ``rho``: the mean of history.csv's ``rho`` over the last ``k`` epochs both runs have
  (epochs e-k+1..e, e the last common epoch), per seed.
* ``ndcg@10`` / ``recall@10``: the test metric of metrics.json (best validation epoch),
  per seed; and per user from test_ranks.npy.

Test across seeds: paired t-test of the per-seed values over the seeds both methods have
(``significance.seed_test``). Test across users (per-user quantities only): the per-user
values averaged over those seeds, paired by user (``significance.user_test``). The
verdict uses the test across seeds (a seed is one replication of the whole training):
*holds* when the mean paired difference is in the claimed direction with p < alpha,
*contradicted* when it is in the opposite direction with p < alpha, otherwise
*inconclusive*, always with the reason in ``why`` (fewer than 2 common seeds, missing
runs, p >= alpha, an undefined test).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import collect, render, significance
from .collect import Cell

LLM_BASELINES = ("LLMInit", "LLM-ESR", "LLMEmb", "LLM2Rec", "AlphaFuse", "WhitenRec")
# the runs whose item rows are unit-normalised and whose scores are <h, e_i> / tau
NORMALISED = ("TF-LLMER", "TF-LLMER-wo-RecPCA")
HISTORY_QUANTITIES = ("train_loss", "rho")
USER_QUANTITIES = ("ndcg@10", "recall@10")
HOLDS, CONTRADICTED, INCONCLUSIVE = "holds", "contradicted", "inconclusive"
QUANTITY_LABELS = {
    "train_loss": "training loss",
    "rho": "ρ",
    "ndcg@10": "NDCG@10",
    "recall@10": "Recall@10",
}

COLUMNS = [
    "claim",
    "statement",
    "dataset",
    "backbone",
    "method",
    "versus",
    "quantity",
    "expected",
    "epochs",
    "method_value",
    "versus_value",
    "difference",
    "seeds_n",
    "seeds_t",
    "seeds_p",
    "users_n",
    "users_mean_diff",
    "users_test",
    "users_p",
    "verdict",
    "why",
    "note",
]


@dataclass(frozen=True)
class Claim:
    """``method`` has a ``expected`` (higher | lower) ``quantity`` than ``versus``."""

    claim: str  # a, b, c, d or control
    statement: str
    method: str
    versus: str
    quantity: str
    expected: str


def paper_claims(methods: list[str]) -> list[Claim]:
    """Every claim whose two methods are both in ``methods``, in the paper's order."""
    present = set(methods)
    claims = []

    def add(claim, statement, method, versus, quantities, expected):
        if method in present and versus in present:
            claims.extend(Claim(claim, statement, method, versus, q, expected) for q in quantities)

    for baseline in LLM_BASELINES:
        add(
            "a",
            "LLM-enhanced baseline trains to a higher loss than RandInit",
            baseline,
            "RandInit",
            ["train_loss"],
            "higher",
        )
    for method, versus in (
        ("TF-LLMER", "TF-LLMER-wo-norm"),
        ("TF-LLMER-wo-RecPCA", "TF-LLMER-wo-both"),
    ):
        add(
            "b",
            "normalisation lowers the training loss",
            method,
            versus,
            ["train_loss"],
            "lower",
        )
    for method, versus in (
        ("TF-LLMER-wo-norm", "TF-LLMER-wo-both"),
        ("TF-LLMER", "TF-LLMER-wo-RecPCA"),
    ):
        add(
            "c",
            "Rec-PCA lowers ρ and the loss against vanilla PCA",
            method,
            versus,
            ["rho", "train_loss"],
            "lower",
        )
    for versus in ("RandInit", *LLM_BASELINES):
        add(
            "d",
            "TF-LLMER beats RandInit and every LLM-enhanced baseline",
            "TF-LLMER",
            versus,
            list(USER_QUANTITIES),
            "higher",
        )
    add(
        "control",
        "TF-LLMER beats RandomFeat (the gain is due to the text)",
        "TF-LLMER",
        "RandomFeat",
        list(USER_QUANTITIES),
        "higher",
    )
    return claims


def history_value(history: pd.DataFrame, quantity: str, epoch: int, last_k: int) -> float:
    """train_loss at ``epoch``, or the mean rho over epochs epoch-last_k+1..epoch."""
    rows = history.set_index("epoch")
    if quantity == "train_loss":
        return float(rows.loc[epoch, "train_loss"])
    window = rows.loc[(rows.index > epoch - last_k) & (rows.index <= epoch), "rho"]
    return float(window.mean())


def last_common_epoch(a: pd.DataFrame, b: pd.DataFrame) -> int | None:
    common = set(a["epoch"].astype(int)) & set(b["epoch"].astype(int))
    return max(common) if common else None


def verdict(expected: str, seeds: dict, alpha: float) -> tuple[str, str]:
    """(verdict, why) from a ``significance.seed_test`` result."""
    n = seeds["seeds_n"]
    if n < 2:
        return INCONCLUSIVE, f"fewer than 2 common seeds (n={n}): no test across seeds"
    p, diff = seeds["seeds_p"], seeds["seeds_mean_diff"]
    if render.is_missing(p):
        return INCONCLUSIVE, "test across seeds undefined (identical differences)"
    sign = 1 if expected == "higher" else -1
    if p >= alpha:
        return INCONCLUSIVE, f"p = {p:.3g} >= {alpha} across {n} seeds"
    if sign * diff > 0:
        return HOLDS, f"{expected} with p = {p:.3g} < {alpha} across {n} seeds"
    return CONTRADICTED, f"the opposite with p = {p:.3g} < {alpha} across {n} seeds"


def _tau(cells: list[Cell], root) -> str:
    """tau of the normalised runs, from their settings.json ('?' where none says)."""
    values = set()
    for cell in cells:
        path = cell.folder(root) / "settings.json"
        if path.exists():
            tau = json.loads(path.read_text()).get("tau")
            if tau is not None:
                values.add(f"{float(tau):g}")
    return ", ".join(sorted(values)) or "?"


def loss_note(claim: Claim, cells: list[Cell], root) -> str:
    """'scale differs (tau=...)' where one run is normalised and the other is not."""
    if claim.quantity != "train_loss":
        return ""
    normalised = [m in NORMALISED for m in (claim.method, claim.versus)]
    if normalised[0] == normalised[1]:
        return ""
    runs = [c for c in cells if c.method in NORMALISED]
    return f"scale differs (tau={_tau(runs, root)})"


def claims_frame(
    planned: list[Cell],
    root: str | Path,
    alpha: float = 0.05,
    last_k: int = 3,
    user_test: str = "wilcoxon",
) -> pd.DataFrame:
    """One row per claim x dataset x backbone (x quantity) of the planned runs."""
    methods = list(dict.fromkeys(c.method for c in planned))
    metrics, _ = collect.load_metrics(planned, root)
    histories, _ = collect.load_histories(planned, root)
    ranks = collect.load_test_ranks(planned, root)
    settings = list(dict.fromkeys((c.dataset, c.backbone) for c in planned))
    rows = []
    for dataset, backbone in settings:
        for claim in paper_claims(methods):
            pair = (claim.method, claim.versus)
            cells = [c for c in planned if (c.dataset, c.backbone) == (dataset, backbone)]
            cells = [c for c in cells if c.method in pair]
            row = {
                "claim": claim.claim,
                "statement": claim.statement,
                "dataset": dataset,
                "backbone": backbone,
                "method": claim.method,
                "versus": claim.versus,
                "quantity": claim.quantity,
                "expected": claim.expected,
                "epochs": "",
                "note": loss_note(claim, cells, root),
            }
            if claim.quantity in HISTORY_QUANTITIES:
                per_seed, epochs, problem = _history_values(
                    histories, dataset, backbone, claim, last_k
                )
            else:
                per_seed, problem = _metric_values(metrics, dataset, backbone, claim)
                epochs = []
            row.update(_compare(per_seed, claim, alpha))
            if epochs:
                low, high = min(epochs), max(epochs)
                row["epochs"] = str(low) if low == high else f"{low}-{high}"
            if problem:  # a missing run or column
                row["why"] = problem + ("; " + row["why"] if row["why"] else "")
            if claim.quantity in USER_QUANTITIES and row["seeds_n"] > 0:
                row.update(_users(ranks, dataset, backbone, claim, per_seed, user_test))
            rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def _history_values(histories, dataset, backbone, claim, last_k):
    """{method: {seed: value}}, the common epochs used, and a problem (or '')."""
    if histories.empty:
        return {claim.method: {}, claim.versus: {}}, [], "no history.csv"
    here = histories[(histories["dataset"] == dataset) & (histories["backbone"] == backbone)]
    if claim.quantity not in here.columns:
        return {claim.method: {}, claim.versus: {}}, [], f"no {claim.quantity} column"
    by_run = {(m, s): g for (m, s), g in here.groupby(["method", "seed"])}
    per_seed = {claim.method: {}, claim.versus: {}}
    epochs, unrecorded = [], []
    seeds = sorted(
        {s for m, s in by_run if m == claim.method} & {s for m, s in by_run if m == claim.versus}
    )
    for seed in seeds:
        a, b = by_run[(claim.method, seed)], by_run[(claim.versus, seed)]
        epoch = last_common_epoch(a, b)
        if epoch is None:
            continue
        values = [history_value(h, claim.quantity, epoch, last_k) for h in (a, b)]
        if any(math.isnan(v) for v in values):
            unrecorded.append(seed)
            continue
        per_seed[claim.method][seed], per_seed[claim.versus][seed] = values
        epochs.append(epoch)
    problem = _missing(by_run, claim)
    if unrecorded:
        seeds_text = ", ".join(str(s) for s in unrecorded)
        problem = "; ".join(p for p in (problem, f"no {claim.quantity} for seed {seeds_text}") if p)
    return per_seed, epochs, problem


def _metric_values(metrics, dataset, backbone, claim):
    per_seed = {claim.method: {}, claim.versus: {}}
    by_run = {}
    if not metrics.empty:
        here = metrics[
            (metrics["dataset"] == dataset)
            & (metrics["backbone"] == backbone)
            & (metrics["metric"] == claim.quantity)
        ]
        for r in here.itertuples(index=False):
            if r.method in per_seed:
                per_seed[r.method][int(r.seed)] = float(r.value)
                by_run[(r.method, int(r.seed))] = True
    return per_seed, _missing(by_run, claim)


def _missing(by_run, claim) -> str:
    lacking = [m for m in (claim.method, claim.versus) if not any(k[0] == m for k in by_run)]
    return f"no run of {', '.join(lacking)}" if lacking else ""


def _compare(per_seed, claim, alpha) -> dict:
    a, b = per_seed[claim.method], per_seed[claim.versus]
    seeds = significance.seed_test(a, b)
    common = sorted(set(a) & set(b))
    verdict_, why = verdict(claim.expected, seeds, alpha)
    return {
        "method_value": float(np.mean([a[s] for s in common])) if common else math.nan,
        "versus_value": float(np.mean([b[s] for s in common])) if common else math.nan,
        "difference": seeds["seeds_mean_diff"],
        "seeds_n": seeds["seeds_n"],
        "seeds_t": seeds["seeds_t"],
        "seeds_p": seeds["seeds_p"],
        "users_n": math.nan,
        "users_mean_diff": math.nan,
        "users_test": "",
        "users_p": math.nan,
        "verdict": verdict_,
        "why": why,
    }


def _users(ranks, dataset, backbone, claim, per_seed, test) -> dict:
    """Per-user test of the per-user values averaged over the common seeds (pooled)."""
    seeds = sorted(set(per_seed[claim.method]) & set(per_seed[claim.versus]))
    cells = {
        m: [Cell(dataset, backbone, m, s) for s in seeds] for m in (claim.method, claim.versus)
    }
    if any(c not in ranks for cs in cells.values() for c in cs):
        return {"users_test": "skipped (no test_ranks.npy)"}
    values = {
        m: np.mean([significance.per_user_metric(ranks[c], claim.quantity) for c in cs], axis=0)
        for m, cs in cells.items()
    }
    out = significance.user_test(values[claim.method], values[claim.versus], test)
    return {k: out[k] for k in ("users_n", "users_mean_diff", "users_test", "users_p")}


def _number(value, digits=4) -> str:
    return "n/a" if render.is_missing(value) else f"{value:.{digits}f}"


def _p(value) -> str:
    if render.is_missing(value):
        return "n/a"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def display(frame: pd.DataFrame):
    def build(style: render.Style) -> pd.DataFrame:
        rows = []
        for r in frame.itertuples(index=False):
            verdict_ = style.bold.format(r.verdict) if r.verdict != INCONCLUSIVE else r.verdict
            rows.append(
                {
                    "Claim": r.claim,
                    "Dataset": r.dataset,
                    "Backbone": r.backbone,
                    "Compared": f"{r.method} vs {r.versus}",
                    "Quantity": QUANTITY_LABELS.get(r.quantity, r.quantity),
                    "Expected": r.expected,
                    "Epoch": r.epochs or "",
                    "Value": _number(r.method_value),
                    "Value (vs)": _number(r.versus_value),
                    "Δ": ("n/a" if render.is_missing(r.difference) else f"{r.difference:+.4f}"),
                    "Seeds": r.seeds_n,
                    "p (seeds)": _p(r.seeds_p),
                    "p (users)": _p(r.users_p),
                    "Verdict": verdict_,
                    "Why": r.why,
                    "Note": r.note,
                }
            )
        return (
            pd.DataFrame(rows, columns=["Claim", "Dataset", "Backbone", "Compared"])
            if not rows
            else pd.DataFrame(rows)
        )

    return build


def build(
    cells: list[dict],
    runs_root: str | Path,
    settings: dict,
    outputs: dict[str, str],
    source_note: str = "",
) -> pd.DataFrame:
    """Write the claims table (``outputs``: csv, md, tex) and return its tidy frame."""
    planned = collect.cells_from(cells)
    alpha, last_k = settings["alpha"], int(settings["claims_last_epochs"])
    frame = claims_frame(planned, runs_root, alpha, last_k, settings["user_test"])
    n_seeds = len({c.seed for c in planned})
    notes = [
        f"Verdict from the paired t-test across seeds at alpha = {alpha}: holds (claimed "
        "direction, p < alpha), contradicted (opposite direction, p < alpha), inconclusive "
        f"otherwise, and always with fewer than 2 common seeds ({n_seeds} planned).",
        "Training loss: history.csv train_loss at the last epoch both runs of a seed have "
        f"(Epoch; a range over seeds). ρ: mean of history.csv rho over the last {last_k} "
        "epochs both runs have. NDCG@10 / Recall@10: test metric at the best validation "
        "epoch; p (users): "
        f"{settings['user_test']} over users of the per-user values from test_ranks.npy, "
        "averaged over the common seeds (not used for the verdict).",
        "Δ: mean over seeds of (method - vs). 'scale differs (tau=…)': one run scores "
        "<h, e_i>/τ with unit-norm item rows and the other unnormalised logits, so the two "
        "losses are on different scales; the row compares them as trained and its verdict "
        "says nothing about which fits better.",
    ]
    if source_note:
        notes.append(source_note)
    render.write_table(
        frame,
        display(frame),
        notes,
        csv=outputs["csv"],
        md=outputs["md"],
        tex=outputs["tex"],
        caption="Do the paper's claims hold? One verdict per claim, dataset and backbone.",
    )
    return frame
