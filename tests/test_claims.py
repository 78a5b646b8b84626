"""The claims table on a synthetic results folder whose verdicts are known: on SASRec
(3 seeds) a claim that holds, one that is contradicted and one that is inconclusive
(no real difference); on GRU4Rec one seed only, so every verdict is inconclusive."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from llmrec.report import aggregate, claims
from llmrec.report.collect import Cell
from llmrec.report.significance import per_user_metric

DATASET, BACKBONES, SEEDS = "ml-100k", ["SASRec", "GRU4Rec"], [0, 1, 2]
ONE_SEED = "GRU4Rec"  # only seed 0 ran
# final training-loss level, rho level, P(rank = 1) of the geometric test rank, epochs run
RUNS = {
    "RandInit": (5.0, 40.0, 0.05, 6),
    "LLMInit": (5.5, 40.0, 0.06, 8),  # (a) holds: higher loss
    "LLM-ESR": (4.6, 40.0, 0.06, 7),  # (a) contradicted: lower loss
    "TF-LLMER": (5.2, 10.0, 0.25, 6),  # (b) holds against wo-norm; (d) holds vs RandInit
    "TF-LLMER-wo-norm": (5.6, 30.0, 0.10, 6),
    "TF-LLMER-wo-RecPCA": (5.3, 20.0, 0.12, 6),
    "TF-LLMER-wo-both": (5.4, 30.0, 0.09, 6),  # (c) rho: equal to wo-norm, inconclusive
    "RandomFeat": (5.0, 40.0, 0.05, 6),
}
N_USERS, N_ITEMS, LAST_K = 400, 80, 3
SETTINGS = {"alpha": 0.05, "user_test": "wilcoxon", "claims_last_epochs": LAST_K}


def planned() -> list[Cell]:
    return [Cell(DATASET, b, m, s) for b in BACKBONES for m in RUNS for s in SEEDS]


def build_results(base: Path) -> Path:
    rng = np.random.default_rng(11)
    root = base / "results" / "runs"
    for cell in planned():
        if cell.backbone == ONE_SEED and cell.seed != 0:
            continue
        loss, rho, quality, epochs = RUNS[cell.method]
        folder = cell.folder(root)
        folder.mkdir(parents=True)
        ranks = np.minimum(rng.geometric(quality, N_USERS), N_ITEMS)
        np.save(folder / "test_ranks.npy", ranks.astype(np.int64))
        test = {m: float(per_user_metric(ranks, m).mean()) for m in ("ndcg@10", "recall@10")}
        (folder / "metrics.json").write_text(json.dumps({"test": test, "valid": test}))
        e = np.arange(1, epochs + 1)
        pd.DataFrame(
            {
                "epoch": e,
                "train_loss": loss + 3.0 / e + 0.01 * rng.normal(size=epochs),
                "rho": rho + 5.0 / e + rng.normal(size=epochs),
            }
        ).to_csv(folder / "history.csv", index=False)
        settings = {"method": cell.method, "tau": 1.0} if "TF-LLMER" in cell.method else {}
        (folder / "settings.json").write_text(json.dumps(settings))
    return root


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    base = tmp_path_factory.mktemp("claims")
    root = build_results(base)
    outputs = {ext: str(base / f"claims.{ext}") for ext in ("csv", "md", "tex")}
    frame = claims.build([c.__dict__ for c in planned()], root, SETTINGS, outputs, "X: note.")
    return base, root, frame


def row(frame, backbone, method, versus, quantity):
    (found,) = frame[
        (frame["backbone"] == backbone)
        & (frame["method"] == method)
        & (frame["versus"] == versus)
        & (frame["quantity"] == quantity)
    ].to_dict("records")
    return found


def test_claims_present_are_listed_once_per_setting(table):
    _, _, frame = table
    per_setting = claims.paper_claims(list(RUNS))
    # (a) 2 baselines, (b) 2, (c) 2 x 2 quantities, (d) 3 versus x 2, control 2
    assert len(per_setting) == 2 + 2 + 4 + 6 + 2
    assert len(frame) == len(per_setting) * len(BACKBONES)
    assert set(frame["verdict"]) <= {claims.HOLDS, claims.CONTRADICTED, claims.INCONCLUSIVE}
    # a method that is not in the experiment has no claim
    assert not any(c.versus == "WhitenRec" for c in per_setting)


def test_known_verdicts_with_three_seeds(table):
    _, _, frame = table
    holds = row(frame, "SASRec", "LLMInit", "RandInit", "train_loss")
    assert holds["verdict"] == claims.HOLDS and holds["seeds_n"] == 3
    assert holds["difference"] > 0 and holds["seeds_p"] < 0.05
    contradicted = row(frame, "SASRec", "LLM-ESR", "RandInit", "train_loss")
    assert contradicted["verdict"] == claims.CONTRADICTED and contradicted["difference"] < 0
    assert "opposite" in contradicted["why"]
    same = row(frame, "SASRec", "TF-LLMER-wo-norm", "TF-LLMER-wo-both", "rho")
    assert same["verdict"] == claims.INCONCLUSIVE and same["seeds_p"] >= 0.05
    assert ">=" in same["why"]
    better = row(frame, "SASRec", "TF-LLMER", "RandInit", "ndcg@10")
    assert better["verdict"] == claims.HOLDS and better["users_p"] < 0.05


def test_one_seed_is_always_inconclusive_and_says_why(table):
    _, _, frame = table
    one = frame[frame["backbone"] == ONE_SEED]
    assert (one["verdict"] == claims.INCONCLUSIVE).all()
    assert one["why"].str.contains("fewer than 2 common seeds").all()
    assert (one["seeds_n"] == 1).all() and one["seeds_p"].isna().all()
    # the per-user test still runs on the one seed (it is reported, not used for the verdict)
    assert one[one["quantity"] == "ndcg@10"]["users_p"].notna().all()


def test_loss_at_last_common_epoch_and_rho_over_last_k(table):
    _, root, frame = table
    r = row(frame, "SASRec", "LLMInit", "RandInit", "train_loss")
    assert r["epochs"] == "6"  # RandInit ran 6 epochs, LLMInit 8
    diffs, rhos = [], []
    for seed in SEEDS:
        h = {
            m: pd.read_csv(Cell(DATASET, "SASRec", m, seed).folder(root) / "history.csv")
            for m in ("LLMInit", "RandInit", "TF-LLMER-wo-norm", "TF-LLMER-wo-both")
        }
        at6 = {m: f.loc[f["epoch"] == 6, "train_loss"].item() for m, f in h.items()}
        diffs.append(at6["LLMInit"] - at6["RandInit"])
        last = {m: f.loc[f["epoch"].between(6 - LAST_K + 1, 6), "rho"].mean() for m, f in h.items()}
        rhos.append(last["TF-LLMER-wo-norm"] - last["TF-LLMER-wo-both"])
    assert r["difference"] == pytest.approx(np.mean(diffs))
    assert r["seeds_p"] == pytest.approx(stats.ttest_1samp(diffs, 0).pvalue)
    rho = row(frame, "SASRec", "TF-LLMER-wo-norm", "TF-LLMER-wo-both", "rho")
    assert rho["difference"] == pytest.approx(np.mean(rhos))


def test_user_test_pools_the_common_seeds(table):
    _, root, frame = table
    r = row(frame, "SASRec", "TF-LLMER", "RandomFeat", "recall@10")
    values = {
        m: np.mean(
            [
                per_user_metric(
                    np.load(Cell(DATASET, "SASRec", m, s).folder(root) / "test_ranks.npy"),
                    "recall@10",
                )
                for s in SEEDS
            ],
            axis=0,
        )
        for m in ("TF-LLMER", "RandomFeat")
    }
    expected = stats.wilcoxon(values["TF-LLMER"], values["RandomFeat"])
    assert r["users_p"] == pytest.approx(expected.pvalue)
    assert r["users_n"] == N_USERS and r["users_test"] == "wilcoxon"


def test_normalised_against_unnormalised_loss_is_marked(table):
    _, _, frame = table
    b = frame[frame["claim"] == "b"]
    assert (b["note"] == "scale differs (tau=1)").all() and len(b) == 2 * len(BACKBONES)
    same_scale = row(frame, "SASRec", "TF-LLMER", "TF-LLMER-wo-RecPCA", "train_loss")
    assert same_scale["note"] == ""
    assert row(frame, "SASRec", "TF-LLMER-wo-norm", "TF-LLMER-wo-both", "train_loss")["note"] == ""


def test_files_are_written_with_verdicts_and_notes(table):
    base, _, frame = table
    csv = pd.read_csv(base / "claims.csv")
    assert list(csv.columns) == claims.COLUMNS and len(csv) == len(frame)
    md = (base / "claims.md").read_text()
    assert "**holds**" in md and "**contradicted**" in md and "inconclusive" in md
    assert "last epoch both runs of a seed have" in md and "X: note." in md
    tex = (base / "claims.tex").read_text()
    assert r"\begin{table}" in tex and r"\ensuremath{\rho}" in tex


def test_missing_method_runs_are_inconclusive(tmp_path):
    root = build_results(tmp_path)
    cells = planned()
    for cell in cells:
        if cell.method == "LLM-ESR":
            for f in cell.folder(root).glob("*"):
                f.unlink()
    frame = claims.claims_frame(cells, root)
    r = row(frame, "SASRec", "LLM-ESR", "RandInit", "train_loss")
    assert r["verdict"] == claims.INCONCLUSIVE and "no run of LLM-ESR" in r["why"]


def test_improvement_names_its_baseline():
    summary = pd.DataFrame(
        {
            "dataset": ["d"] * 3,
            "backbone": ["b"] * 3,
            "metric": ["ndcg@10"] * 3,
            "method": ["RandInit", "LLMInit", "TF-LLMER"],
            "mean": [0.1, 0.12, 0.15],
        }
    )
    best = aggregate.improvements(summary, "TF-LLMER", ["RandInit", "LLMInit"])
    assert best["best_baseline"].item() == "LLMInit"
    assert best["improvement_pct"].item() == pytest.approx(25.0)


def test_unrecorded_rho_is_said(tmp_path):
    root = build_results(tmp_path)
    path = Cell(DATASET, "SASRec", "TF-LLMER-wo-both", 1).folder(root) / "history.csv"
    history = pd.read_csv(path)
    history["rho"] = np.nan  # diagnostics off
    history.to_csv(path, index=False)
    frame = claims.claims_frame(planned(), root)
    r = row(frame, "SASRec", "TF-LLMER-wo-norm", "TF-LLMER-wo-both", "rho")
    assert r["seeds_n"] == 2 and "no rho for seed 1" in r["why"]
