"""Paired significance tests of one method (TF-LLMER) against each baseline.

* Across seeds: the test metric of the two methods paired by seed, paired t-test
  (``scipy.stats.ttest_rel``); n/a with fewer than two common seeds.
* Across users: the per-user metric computed from ``test_ranks.npy`` (1-based rank of
  each test user's target among all items), averaged over the seeds both methods have,
  paired by user; Wilcoxon signed-rank (default) or paired t-test, and a t-interval of
  the mean per-user difference. Skipped (and said so) where a run has no test_ranks.npy.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from .collect import Cell

COLUMNS = [
    "dataset",
    "backbone",
    "metric",
    "method",
    "baseline",
    "seeds_n",
    "seeds_mean_diff",
    "seeds_t",
    "seeds_p",
    "users_n",
    "users_mean_diff",
    "users_ci_low",
    "users_ci_high",
    "users_test",
    "users_statistic",
    "users_p",
    "note",
]


def per_user_metric(ranks: np.ndarray, metric: str) -> np.ndarray:
    """Recall@k, NDCG@k or MRR@k of every user from the 1-based rank of the target."""
    name, k = metric.split("@")
    ranks = np.asarray(ranks, dtype=float)
    hit = ranks <= int(k)
    if name == "recall":
        return hit.astype(float)
    if name == "ndcg":
        return np.where(hit, 1.0 / np.log2(ranks + 1.0), 0.0)
    if name == "mrr":
        return np.where(hit, 1.0 / ranks, 0.0)
    raise ValueError(f"unknown metric {metric!r}")


def seed_test(target: dict[int, float], baseline: dict[int, float]) -> dict:
    """Paired t-test over the seeds both methods have ({seed: value} each)."""
    seeds = sorted(set(target) & set(baseline))
    a = np.array([target[s] for s in seeds])
    b = np.array([baseline[s] for s in seeds])
    out = {"seeds_n": len(seeds), "seeds_mean_diff": float(np.mean(a - b)) if seeds else math.nan}
    if len(seeds) < 2:
        return {**out, "seeds_t": math.nan, "seeds_p": math.nan}
    with warnings.catch_warnings():  # two nearly equal seeds: scipy warns of precision loss
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_rel(a, b)
    return {**out, "seeds_t": float(result.statistic), "seeds_p": float(result.pvalue)}


def user_test(
    target: np.ndarray, baseline: np.ndarray, test: str = "wilcoxon", confidence: float = 0.95
) -> dict:
    """Paired test over users of two per-user metric arrays, and a t-interval of the
    mean difference (target - baseline)."""
    if target.shape != baseline.shape:
        raise ValueError(f"different numbers of users: {target.shape} vs {baseline.shape}")
    diff = target - baseline
    n = len(diff)
    mean = float(diff.mean())
    sem = float(diff.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    if n > 1 and sem > 0:
        low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=sem)
    else:
        low = high = mean
    out = {
        "users_n": n,
        "users_mean_diff": mean,
        "users_ci_low": float(low),
        "users_ci_high": float(high),
        "users_test": test,
    }
    if not np.any(diff):
        return {**out, "users_statistic": math.nan, "users_p": 1.0}
    if test == "wilcoxon":
        result = stats.wilcoxon(target, baseline)
    elif test == "ttest":
        result = stats.ttest_rel(target, baseline)
    else:
        raise ValueError(f"unknown test {test!r}; use 'wilcoxon' or 'ttest'")
    return {**out, "users_statistic": float(result.statistic), "users_p": float(result.pvalue)}


def _user_values(ranks: dict[Cell, np.ndarray], cells: list[Cell], metric: str) -> np.ndarray:
    return np.mean([per_user_metric(ranks[c], metric) for c in cells], axis=0)


def significance_frame(
    metrics: pd.DataFrame,
    ranks: dict[Cell, np.ndarray],
    target: str,
    baselines: list[str],
    metric_names: list[str],
    test: str = "wilcoxon",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """One row per dataset x backbone x metric x baseline: both paired tests of
    ``target`` against ``baseline``. ``metrics`` is the long frame of collect.load_metrics."""
    rows = []
    values = metrics.set_index(["dataset", "backbone", "method", "metric", "seed"])["value"]
    values = values.sort_index()
    settings = metrics[["dataset", "backbone"]].drop_duplicates().itertuples(index=False)
    for dataset, backbone in settings:
        for metric in metric_names:
            for baseline in baselines:
                per_seed = {}
                for method in (target, baseline):
                    key = (dataset, backbone, method, metric)
                    per_seed[method] = values[key].to_dict() if key in values.index else {}
                if not per_seed[target] or not per_seed[baseline]:
                    continue
                row = {
                    "dataset": dataset,
                    "backbone": backbone,
                    "metric": metric,
                    "method": target,
                    "baseline": baseline,
                }
                row.update(seed_test(per_seed[target], per_seed[baseline]))
                seeds = sorted(set(per_seed[target]) & set(per_seed[baseline]))
                cells = {
                    m: [Cell(dataset, backbone, m, s) for s in seeds] for m in (target, baseline)
                }
                notes = [] if len(seeds) >= 2 else ["seeds: n/a (fewer than 2 common seeds)"]
                lacking = [c for m in cells for c in cells[m] if c not in ranks]
                if lacking:
                    notes.append(
                        "users: skipped, no test_ranks.npy for "
                        + ", ".join(f"{c.method} seed {c.seed}" for c in lacking)
                    )
                else:
                    row.update(
                        user_test(
                            _user_values(ranks, cells[target], metric),
                            _user_values(ranks, cells[baseline], metric),
                            test,
                            confidence,
                        )
                    )
                row["note"] = "; ".join(notes)
                rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)
