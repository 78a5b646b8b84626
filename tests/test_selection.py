"""report.select: validation: the main table shows, per setting, each swept method's point
with the best mean validation metric; test metrics never choose."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from llmrec.report import paper_tables, selection
from llmrec.report.collect import Cell

pytestmark = pytest.mark.unit

IDS = ["TF-LLMER", "TF-LLMER~alpha=0.0", "TF-LLMER~alpha=1.0"]


def valid_frame(values: dict[str, list[float]], backbone="SASRec") -> pd.DataFrame:
    rows = [
        {"dataset": "d", "backbone": backbone, "method": m, "seed": s, "value": v}
        for m, vs in values.items()
        for s, v in enumerate(vs)
    ]
    return pd.DataFrame(rows)


def test_best_mean_validation_wins_and_incomplete_points_do_not_compete():
    valid = valid_frame({IDS[0]: [0.05, 0.05, 0.05], IDS[1]: [0.06, 0.04, 0.08], IDS[2]: [0.09, 0.09]})
    chosen = selection.choose(valid, {"TF-LLMER": IDS})
    row = chosen.iloc[0]
    # alpha=1.0 has the best mean but one seed fewer: it does not compete
    assert row["chosen"] == IDS[1] and row["n_seeds"] == 3 and row["n_points"] == 2
    assert row["valid_mean"] == pytest.approx(0.06)


def test_ties_go_to_the_main_run_and_each_setting_chooses_alone():
    valid = pd.concat(
        [valid_frame({IDS[0]: [0.05], IDS[1]: [0.05]}), valid_frame({IDS[0]: [0.01], IDS[2]: [0.02]}, "GRU4Rec")]
    )
    chosen = selection.choose(valid, {"TF-LLMER": IDS}).set_index("backbone")["chosen"]
    assert chosen["SASRec"] == "TF-LLMER" and chosen["GRU4Rec"] == IDS[2]


def write_run(root, backbone, method, seed, valid, ranks):
    folder = Cell("d", backbone, method, seed).folder(root)
    folder.mkdir(parents=True)
    test = {"ndcg@10": float(np.mean(np.where(ranks <= 10, 1 / np.log2(ranks + 1), 0.0))), "recall@10": 0.1,
            "ndcg@20": 0.1, "recall@20": 0.1}  # fmt: skip
    record = {"dataset": "d", "backbone": backbone, "method": method, "seed": seed, "valid": {"ndcg@10": valid},
              "test": test}  # fmt: skip
    (folder / "metrics.json").write_text(json.dumps(record))
    np.save(folder / "test_ranks.npy", ranks.astype(np.int64))
    return test["ndcg@10"]


@pytest.mark.parametrize("mode", ["default", "validation"])
def test_main_table_shows_the_point_chosen_on_validation(tmp_path, mode):
    """alpha=0.0 has the better validation but the worse test metric than the main run: in
    validation mode it stands for TF-LLMER (its test mean, its ranks in the significance
    table, a footnote naming it); in default mode the main run does."""
    rng = np.random.default_rng(0)
    root = tmp_path / "runs"
    test = {m: [] for m in ["RandInit", *IDS]}
    for seed in range(3):
        for method, valid, p in [("RandInit", 0.03, 0.05), (IDS[0], 0.04, 0.20), (IDS[1], 0.07, 0.08),
                                 (IDS[2], 0.05, 0.30)]:  # fmt: skip
            if method == IDS[2] and seed == 2:
                continue  # incomplete point: never chosen
            test[method].append(write_run(root, "SASRec", method, seed, valid, rng.geometric(p, 200)))
    cells = [{"dataset": "d", "backbone": "SASRec", "method": m, "seed": s} for m in ["RandInit", "TF-LLMER"]
             for s in range(3)]  # fmt: skip
    select = None
    if mode == "validation":
        points = [{"dataset": "d", "backbone": "SASRec", "method": m, "seed": s} for m in IDS for s in range(3)]
        select = {"cells": points, "candidates": {"TF-LLMER": IDS}, "metric": "ndcg@10"}
    outputs = {f"{t}_{e}": str(tmp_path / f"{t}.{e}") for t in ("main", "ablation", "significance", "cost")
               for e in ("csv", "md", "tex")}  # fmt: skip
    paper_tables.build_all(
        cells=cells, runs_root=root, main_methods=["RandInit", "TF-LLMER"], ablation_methods=["RandInit", "TF-LLMER"],
        target="TF-LLMER", baselines=["RandInit"], benchmarks={}, outputs=outputs, base_dir=tmp_path,
        settings={"alpha": 0.05, "user_test": "wilcoxon", "confidence": 0.95}, select=select,
    )  # fmt: skip
    main = pd.read_csv(outputs["main_csv"])
    row = main[(main["method"] == "TF-LLMER") & (main["metric"] == "ndcg@10")].iloc[0]
    shown = IDS[1] if mode == "validation" else IDS[0]
    assert row["mean"] == pytest.approx(np.mean(test[shown]))
    md = (tmp_path / "main.md").read_text()
    assert ("TF-LLMER~alpha=0.0 (valid 0.0700, 3 seed(s), best of 2 point(s))" in md) == (mode == "validation")
    sig = pd.read_csv(outputs["significance_csv"])
    diff = sig[(sig["baseline"] == "RandInit") & (sig["metric"] == "ndcg@10")]["seeds_mean_diff"].iloc[0]
    assert diff == pytest.approx(np.mean(test[shown]) - np.mean(test["RandInit"]))
    ablation = pd.read_csv(outputs["ablation_csv"])  # the ablation keeps the main run
    arow = ablation[(ablation["method"] == "TF-LLMER") & (ablation["metric"] == "ndcg@10")].iloc[0]
    assert arow["mean"] == pytest.approx(np.mean(test[IDS[0]]))


def test_the_report_plan_lists_every_sweep_point_of_the_main_methods():
    from helpers import load_config, make_plan
    from llmrec.report.outputs import ReportPlan

    config = load_config()
    assert ReportPlan(make_plan(config)).selection() is None  # report.select: default
    config["report"]["select"] = "validation"
    report = ReportPlan(make_plan(config))
    select = report.selection()
    assert select["candidates"] == {"TF-LLMER": IDS + ["TF-LLMER~K=5", "TF-LLMER~K=9"]}
    assert select["metric"] == config["training"]["valid_metric"]
    exp = config["experiments"]["embedded"]
    assert len(select["cells"]) == 5 * len(exp["backbones"]) * len(exp["seeds"])
    assert len(report.selection_inputs()) == len(select["cells"])


def test_the_sweeps_table_marks_the_validation_choice_and_shows_test_beside_it(tmp_path):
    """alpha=0.0 wins on validation and loses on test: it is marked chosen all the same;
    alpha=1.0 (one seed missing) is shown with the seeds it has and never chosen."""
    from llmrec.report import sweeps

    rng = np.random.default_rng(1)
    root = tmp_path / "runs"
    test = {m: [] for m in IDS}
    valid = {IDS[0]: [0.04, 0.05, 0.06], IDS[1]: [0.07, 0.06, 0.08], IDS[2]: [0.2, 0.2]}
    for method, p in [(IDS[0], 0.2), (IDS[1], 0.05), (IDS[2], 0.3)]:
        for seed, v in enumerate(valid[method]):
            test[method].append(write_run(root, "SASRec", method, seed, v, rng.geometric(p, 100)))
    cells = [{"dataset": "d", "backbone": "SASRec", "method": m, "seed": s} for m in IDS for s in range(3)]
    labels = {IDS[0]: "configured", IDS[1]: "alpha=0.0", IDS[2]: "alpha=1.0"}
    outputs = {e: str(tmp_path / f"sweeps.{e}") for e in ("csv", "md", "tex")}
    frame = sweeps.build(cells, {"TF-LLMER": IDS}, labels, root, "ndcg@10", outputs).set_index("point")
    assert frame["chosen"].tolist() == [False, True, False]
    assert frame.loc[IDS[1], "valid_mean"] == pytest.approx(0.07)
    assert frame.loc[IDS[1], "valid_std"] == pytest.approx(np.std(valid[IDS[1]], ddof=1))
    assert frame.loc[IDS[0], "test_ndcg@10_mean"] == pytest.approx(np.mean(test[IDS[0]]))
    assert frame.loc[IDS[0], "test_ndcg@10_mean"] > frame.loc[IDS[1], "test_ndcg@10_mean"]
    assert frame.loc[IDS[2], "n_seeds"] == 2
    md = (tmp_path / "sweeps.md").read_text()
    assert "| alpha=0.0 |" in md and "**✓**" in md
    assert pd.read_csv(outputs["csv"])["chosen"].sum() == 1
