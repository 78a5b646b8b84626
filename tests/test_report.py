"""The paper's tables, significance tests, figures and the Snakemake report, on a small
synthetic results folder (2 backbones, 2 seeds, ablations, sweeps, one missing run, one
run without test ranks, a method with no runs, benchmark files with one missing)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from conftest import snakemake
from llmrec.report import aggregate, collect, figures, paper_tables, runs_table
from llmrec.report.collect import Cell
from llmrec.report.significance import per_user_metric

DATASET, BACKBONES, SEEDS = "ml-100k", ["GRU4Rec", "SASRec"], [0, 1]
ABLATIONS = ["TF-LLMER-wo-both", "TF-LLMER-wo-RecPCA", "TF-LLMER-wo-norm"]
METHODS = ["RandInit", "LLM-ESR", "LLM2Rec", "TF-LLMER", *ABLATIONS]
SWEEP = ["TF-LLMER~K=3", "TF-LLMER~alpha=0.3"]
# how good each method is: P(rank = 1) of a geometric distribution of the test rank
QUALITY = {
    "RandInit": 0.05,
    "LLM-ESR": 0.07,
    "TF-LLMER": 0.14,
    "TF-LLMER-wo-both": 0.06,
    "TF-LLMER-wo-RecPCA": 0.09,
    "TF-LLMER-wo-norm": 0.08,
    "TF-LLMER~K=3": 0.12,
    "TF-LLMER~alpha=0.3": 0.10,
}
NO_RUNS = "LLM2Rec"  # planned, never run (as a failed or pending method)
MISSING_RUN = Cell(DATASET, "SASRec", "TF-LLMER-wo-RecPCA", 1)
NO_RANKS = Cell(DATASET, "GRU4Rec", "LLM-ESR", 1)
N_USERS, N_ITEMS, EPOCHS = 300, 60, 6
TRAIN_SECONDS = 10.0  # benchmark s of a training job: TRAIN_SECONDS * (seed + 1)


def planned(methods=METHODS + SWEEP) -> list[Cell]:
    return [Cell(DATASET, b, m, s) for b in BACKBONES for m in methods for s in SEEDS]


def write_benchmark(path: Path, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"s\th:m:s\tmax_rss\n{seconds}\t0:00:{seconds:.0f}\t123.4\n")


def build_results(base: Path) -> Path:
    """Run folders under base/results/runs and benchmark files under base/benchmarks."""
    rng = np.random.default_rng(7)
    root = base / "results" / "runs"
    for cell in planned():
        if cell.method == NO_RUNS or cell == MISSING_RUN:
            continue
        folder = cell.folder(root)
        folder.mkdir(parents=True)
        ranks = np.minimum(rng.geometric(QUALITY[cell.method], N_USERS), N_ITEMS)
        test = {
            f"{n}@{k}": float(per_user_metric(ranks, f"{n}@{k}").mean())
            for n in ("recall", "ndcg", "mrr")
            for k in (10, 20)
        }
        record = {
            **cell.__dict__,
            "method_id": cell.method,
            "best_epoch": 3,
            "epochs_run": EPOCHS,
            "valid": test,
            "test": test,
        }
        (folder / "metrics.json").write_text(json.dumps(record))
        epochs = np.arange(1, EPOCHS + 1)
        pd.DataFrame(
            {
                "epoch": epochs,
                "train_loss": 8 / epochs + QUALITY[cell.method],
                "rho": 50 / epochs + rng.random(EPOCHS),
            }
        ).to_csv(folder / "history.csv", index=False)
        settings = {"method": cell.method.split("~")[0]}
        if cell.method == "LLM-ESR":
            settings["substitutions"] = {"text_encoder": "all-MiniLM-L6-v2 instead of ada-002"}
        (folder / "settings.json").write_text(json.dumps(settings))
        np.save(folder / "initial_item_norms.npy", rng.gamma(2.0, size=N_ITEMS).astype("f4"))
        if cell != NO_RANKS:
            np.save(folder / "test_ranks.npy", ranks.astype(np.int64))
        bench = f"benchmarks/train/{cell.dataset}/{cell.backbone}/{cell.method}/seed{cell.seed}"
        write_benchmark(base / f"{bench}.tsv", TRAIN_SECONDS * (cell.seed + 1))
    write_benchmark(base / f"benchmarks/encode_items/{DATASET}/llm.tsv", 30.0)
    write_benchmark(base / f"benchmarks/rec_pca/{DATASET}/llm/d8_alpha0.5_K5.tsv", 4.0)
    write_benchmark(base / f"benchmarks/llm2rec/{DATASET}/csft.tsv", 100.0)
    write_benchmark(base / f"benchmarks/llm2rec/{DATASET}/iem.tsv", 200.0)
    return root


BENCHMARKS = {
    "RandInit": {"training": ["benchmarks/train/{dataset}/{backbone}/{method}/seed{seed}.tsv"]},
    "TF-LLMER": {
        "training": ["benchmarks/train/{dataset}/{backbone}/{method}/seed{seed}.tsv"],
        "embedding": ["benchmarks/encode_items/{dataset}/llm.tsv"],
        "rec_pca": ["benchmarks/rec_pca/{dataset}/llm/d8_alpha0.5_K5.tsv"],
    },
    "TF-LLMER-wo-both": {"rec_pca": ["benchmarks/rec_pca/{dataset}/llm/d8_alpha0_K0.tsv"]},
    "LLM2Rec": {"llm_finetune": ["benchmarks/llm2rec/{dataset}/*.tsv"]},
}
SETTINGS = {"alpha": 0.05, "user_test": "wilcoxon", "confidence": 0.95}
MAIN = ["RandInit", "LLM-ESR", "LLM2Rec", "TF-LLMER"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The synthetic folder and every table built from it."""
    base = tmp_path_factory.mktemp("report")
    root = build_results(base)
    outputs = {
        f"{t}_{ext}": str(base / f"tables/{t}.{ext}")
        for t in ("main", "ablation", "significance", "cost")
        for ext in ("csv", "md", "tex")
    }
    paper_tables.build_all(
        cells=[c.__dict__ for c in planned(METHODS)],
        runs_root=root,
        main_methods=MAIN,
        ablation_methods=["RandInit", *ABLATIONS, "TF-LLMER"],
        target="TF-LLMER",
        baselines=MAIN[:-1],
        pending=[NO_RUNS],
        substitutions={"LLM-ESR": {"text_encoder": "all-MiniLM-L6-v2 instead of ada-002"}},
        benchmarks=BENCHMARKS,
        settings=SETTINGS,
        outputs=outputs,
        base_dir=base,
    )
    return base, root


def metric_values(root: Path, backbone: str, method: str, metric: str) -> dict[int, float]:
    out = {}
    for seed in SEEDS:
        path = Cell(DATASET, backbone, method, seed).folder(root) / "metrics.json"
        if path.exists():
            out[seed] = json.loads(path.read_text())["test"][metric]
    return out


def md_row(md: str, backbone: str, label: str) -> dict[str, str]:
    lines = [line for line in md.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[1] == backbone and cells[2] == label:
            return dict(zip(header, cells))
    raise AssertionError(f"no row {backbone} {label}")


def test_main_table_matches_direct_computation(built):
    base, root = built
    table = pd.read_csv(base / "tables/main.csv")
    md = (base / "tables/main.md").read_text()
    for backbone in BACKBONES:
        for metric in aggregate.MAIN_METRICS:
            rows = table[(table["backbone"] == backbone) & (table["metric"] == metric)]
            means = {}
            for method in MAIN:
                values = list(metric_values(root, backbone, method, metric).values())
                row = rows[rows["method"] == method].iloc[0]
                if not values:
                    assert np.isnan(row["mean"]) and row["n_seeds"] == 0
                    continue
                means[method] = np.mean(values)
                assert row["mean"] == pytest.approx(np.mean(values))
                assert row["std"] == pytest.approx(np.std(values, ddof=1))
            ranked = sorted(means, key=means.get, reverse=True)
            places = rows.set_index("method")["place"]
            assert places[ranked[0]] == 1 and places[ranked[1]] == 2
            assert places.drop(ranked[:2]).isna().all()
            best = max((m for m in means if m != "TF-LLMER"), key=means.get)
            gain = 100 * (means["TF-LLMER"] - means[best]) / means[best]
            ours = rows[rows["method"] == "TF-LLMER"].iloc[0]
            assert ours["best_baseline"] == best
            assert ours["improvement_pct"] == pytest.approx(gain)
            cells = md_row(md, backbone, aggregate.metric_label(metric))
            assert cells[ranked[0]].startswith("**") and cells[ranked[1]].startswith("<u>")
            assert cells["Improv."] == f"{gain:+.2f}%" and cells["vs"] == best
            assert cells[NO_RUNS] == "—"
    # the footnote names the baselines with runs and how many were planned
    assert "(2 of 3 planned: RandInit, LLM-ESR;" in md
    tex = (base / "tables/main.tex").read_text()
    assert r"\textbf{" in tex and r"\underline{" in tex and r"\textpm{}" in tex


def test_significance_matches_scipy(built):
    base, root = built
    sig = pd.read_csv(base / "tables/significance.csv").fillna({"note": ""})
    row = sig.query("backbone == 'SASRec' and metric == 'ndcg@10' and baseline == 'RandInit'")
    row = row.iloc[0]
    ours = metric_values(root, "SASRec", "TF-LLMER", "ndcg@10")
    theirs = metric_values(root, "SASRec", "RandInit", "ndcg@10")
    expected = stats.ttest_rel([ours[s] for s in SEEDS], [theirs[s] for s in SEEDS])
    assert row["seeds_p"] == pytest.approx(expected.pvalue)
    assert row["seeds_t"] == pytest.approx(expected.statistic)

    def per_user(method):
        ranks = [
            np.load(Cell(DATASET, "SASRec", method, s).folder(root) / "test_ranks.npy")
            for s in SEEDS
        ]
        values = [np.where(r <= 10, 1 / np.log2(r + 1), 0.0) for r in ranks]
        # the per-user values reproduce each run's own NDCG@10
        own = metric_values(root, "SASRec", method, "ndcg@10")
        assert [v.mean() for v in values] == pytest.approx([own[s] for s in SEEDS])
        return np.mean(values, axis=0)

    a, b = per_user("TF-LLMER"), per_user("RandInit")
    assert row["users_p"] == pytest.approx(stats.wilcoxon(a, b).pvalue)
    low, high = stats.t.interval(0.95, len(a) - 1, loc=(a - b).mean(), scale=stats.sem(a - b))
    assert (row["users_ci_low"], row["users_ci_high"]) == pytest.approx((low, high))
    assert row["users_mean_diff"] == pytest.approx((a - b).mean())
    # a run without test_ranks.npy: per-user test skipped and said so
    skipped = sig.query("backbone == 'GRU4Rec' and baseline == 'LLM-ESR'")
    assert skipped["users_p"].isna().all()
    assert skipped["note"].str.contains("no test_ranks.npy for LLM-ESR seed 1").all()
    # the main table marks TF-LLMER where it is significantly better than the best baseline
    main = pd.read_csv(base / "tables/main.csv").fillna({"marks": ""})
    tests = sig.set_index(["backbone", "metric", "baseline"])
    for r in main[main["method"] == "TF-LLMER"].itertuples():
        test = tests.loc[(r.backbone, r.metric, r.best_baseline)]
        assert ("†" in r.marks) == (test["users_p"] < 0.05 and test["users_mean_diff"] > 0)
        assert ("‡" in r.marks) == (test["seeds_p"] < 0.05 and test["seeds_mean_diff"] > 0)
    assert "†" in main["marks"].str.cat()  # the synthetic TF-LLMER is clearly better


def test_one_seed_is_na_and_user_ttest_matches_scipy():
    from llmrec.report.significance import seed_test, user_test

    result = seed_test({0: 0.3}, {0: 0.2})
    assert result["seeds_n"] == 1 and np.isnan(result["seeds_p"])
    rng = np.random.default_rng(1)
    a, b = rng.random(50), rng.random(50)
    result = user_test(a, b, test="ttest", confidence=0.9)
    assert result["users_p"] == pytest.approx(stats.ttest_rel(a, b).pvalue)
    low, high = stats.t.interval(0.9, 49, loc=(a - b).mean(), scale=stats.sem(a - b))
    assert (result["users_ci_low"], result["users_ci_high"]) == pytest.approx((low, high))
    assert user_test(a, a)["users_p"] == 1.0  # no difference at all


def test_missing_cells_and_substitutions_are_marked(built):
    base, _ = built
    ablation = pd.read_csv(base / "tables/ablation.csv").fillna({"marks": ""})
    partly = ablation.query("backbone == 'SASRec' and method == 'TF-LLMER-wo-RecPCA'")
    assert (partly["n_seeds"] == 1).all() and partly["marks"].str.contains(r"\*").all()
    md = (base / "tables/ablation.md").read_text()
    assert f"{DATASET}/SASRec/TF-LLMER-wo-RecPCA: seed 1 missing" in md
    assert md_row(md, "SASRec", "N@10")["TF-LLMER-wo-RecPCA"].endswith("*")
    main_md = (base / "tables/main.md").read_text()
    assert "LLM2Rec: all runs missing (not implemented yet)" in main_md
    assert "LLM-ESR: text_encoder: all-MiniLM-L6-v2 instead of ada-002" in main_md
    assert r"LLM2Rec: all runs missing" in (base / "tables/main.tex").read_text()


def test_cost_table_sums_benchmarks_and_marks_missing_files(built):
    base, _ = built
    cost = pd.read_csv(base / "tables/cost.csv").set_index(["backbone", "method", "stage"])
    assert cost.loc[("GRU4Rec", "TF-LLMER", "training"), "seconds"] == pytest.approx(
        np.mean([TRAIN_SECONDS * (s + 1) for s in SEEDS])
    )
    assert cost.loc[("GRU4Rec", "TF-LLMER", "embedding"), "seconds"] == pytest.approx(30.0)
    assert cost.loc[("SASRec", "LLM2Rec", "llm_finetune"), "seconds"] == pytest.approx(300.0)
    assert np.isnan(cost.loc[("SASRec", "TF-LLMER-wo-both", "rec_pca"), "seconds"])
    md = (base / "tables/cost.md").read_text()
    assert "TF-LLMER-wo-both rec_pca: 4 of 4 runs lack a file" in md
    row = [line for line in md.splitlines() if "| GRU4Rec | TF-LLMER |" in line][0]
    assert "30.0 s" in row and "4.0 s" in row and "49.0 s" in row  # 15 + 30 + 4


FIGURES = {
    "curves": lambda h, cells, miss, **kw: figures.curves(
        h["history"], cells, miss, "rho", "ρ", log_y=True, **kw
    ),
    "norms": lambda h, cells, miss, **kw: figures.item_norms(h["norms"], cells, miss, **kw),
    "ablation": lambda h, cells, miss, **kw: figures.ablation_bars(
        h["metrics"], cells, miss, "ndcg@10", **kw
    ),
    "sweep": lambda h, cells, miss, **kw: figures.sweep(
        h["metrics"], cells, miss, {5: "TF-LLMER", 3: "TF-LLMER~K=3"}, "K", "ndcg@10", **kw
    ),
}


@pytest.mark.parametrize("kind", FIGURES)
def test_figures_write_readable_png_and_pdf(built, tmp_path, kind):
    import matplotlib.image

    _, root = built
    cells = planned(["RandInit", "TF-LLMER-wo-RecPCA", "TF-LLMER", NO_RUNS, "TF-LLMER~K=3"])
    loaded = {
        "history": collect.load_histories(cells, root)[0],
        "norms": collect.load_initial_norms(cells, root)[0],
        "metrics": collect.load_metrics(cells, root)[0],
    }
    missing = [c for c in cells if not (c.folder(root) / "metrics.json").exists()]
    pdf, png = tmp_path / "fig.pdf", tmp_path / "fig.png"
    FIGURES[kind](loaded, cells, missing, pdf=pdf, png=png, pending=[NO_RUNS], dpi=60)
    image = matplotlib.image.imread(png)
    assert image.ndim == 3 and image.shape[0] > 50 and image.std() > 0
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 1000


def test_report_rules_and_html_report(workdir: Path):
    """The report rules in partial mode on a synthetic results folder, then --report."""
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["experiments"]["embedded"].update(
        datasets=[DATASET],
        backbones=BACKBONES,
        seeds=SEEDS,
        methods=["RandInit", "TF-LLMER", *ABLATIONS],
        sweeps={"TF-LLMER": {"alpha": [0.3], "K": [3]}},
    )
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    build_results(workdir)
    shutil.rmtree(workdir / "benchmarks")  # the cost table must still be built, marked
    targets = [
        *(
            f"results/tables/{t}.{e}"
            for t in ("main_results", "ablation", "significance", "cost", "claims")
            for e in ("csv", "md", "tex")
        ),
        "results/figures/sweep_K.png",
        "results/tables/runs.csv",
    ]
    # the run files are leaves here: no rule may rebuild them
    args = [
        "--config",
        "partial=true",
        "--allowed-rules",
        "paper_tables",
        "claims_table",
        "sweep_figure",
        "runs_table",
        "--",
    ]
    snakemake("--cores", "2", *args, *targets, cwd=workdir)
    md = (workdir / "results/tables/ablation.md").read_text()
    assert "ml-100k/SASRec/TF-LLMER-wo-RecPCA: seed 1 missing" in md
    assert "benchmark files" in (workdir / "results/tables/cost.md").read_text()
    # two seeds: every claim is tested; the synthetic TF-LLMER is far better than RandInit
    claims_csv = pd.read_csv(workdir / "results/tables/claims.csv")
    d = claims_csv[(claims_csv["claim"] == "d") & (claims_csv["versus"] == "RandInit")]
    assert len(d) == 2 * len(BACKBONES) and (d["difference"] > 0).all()
    assert set(claims_csv["claim"]) == {"b", "c", "d"}  # no LLM baseline, no RandomFeat
    assert "CSFT steps" in (workdir / "results/tables/claims.md").read_text()
    # one row per run folder of the experiment (LLM-ESR's folders are not in its grid)
    runs = pd.read_csv(workdir / "results/tables/runs.csv")
    methods = ["RandInit", "TF-LLMER", *ABLATIONS, *SWEEP]
    folders = [c.folder("results/runs") for c in planned(methods)]
    expected = sorted(str(f) for f in folders if (workdir / f / "metrics.json").exists())
    assert sorted(runs["folder"]) == expected and len(expected) == len(folders) - 1
    snakemake("--report", "report.html", *args, *targets, cwd=workdir)
    html = (workdir / "report.html").read_text()
    assert "main_results.csv" in html and "sweep_K.png" in html and "runs.csv" in html
    assert "claims.csv" in html


def test_runs_table_has_one_row_per_run_folder(built, tmp_path):
    base, root = built
    cells = planned()
    out = tmp_path / "runs.csv"
    runs_table.build_runs_table(
        [c.__dict__ for c in cells + cells[:3]], root, out, base_dir=base  # repeats dropped
    )
    frame = pd.read_csv(out, keep_default_na=False, na_values=[""])
    folders = sorted(str(p.parent) for p in root.glob("*/*/*/seed*/metrics.json"))
    assert sorted(frame["folder"]) == folders and len(frame) == len(folders)
    assert len(frame) == len(cells) - len(BACKBONES) * len(SEEDS) - 1  # LLM2Rec, MISSING_RUN
    row = frame.set_index(["backbone", "method_id", "seed"]).loc[("SASRec", "TF-LLMER~K=3", 1)]
    assert (row["method"], row["sweep_param"], row["sweep_value"]) == ("TF-LLMER", "K", 3)
    assert (row["best_epoch"], row["epochs_run"]) == (3, EPOCHS)
    assert row["job_seconds"] == TRAIN_SECONDS * 2 and row["max_rss_mb"] == 123.4
    record = json.loads(
        (Cell(DATASET, "SASRec", "TF-LLMER~K=3", 1).folder(root) / "metrics.json").read_text()
    )
    for metric, value in record["test"].items():
        assert row[f"test_{metric}"] == pytest.approx(value, rel=1e-12)
        assert row[f"valid_{metric}"] == pytest.approx(record["valid"][metric], rel=1e-12)
    main = frame[frame["method_id"] == "RandInit"]
    assert (main["sweep_param"].isna() & main["sweep_value"].isna()).all()
    assert frame.loc[frame["method"] == "LLM-ESR", "substitutions"].str.contains("MiniLM").all()


def test_runs_table_reads_what_the_trainer_writes(tmp_path):
    """train_seconds from history.csv, key settings and the environment from settings.json,
    and empty job columns without a benchmark file."""
    cell = Cell("d", "GRU4Rec", "RandInit", 0)
    folder = cell.folder(tmp_path)
    folder.mkdir(parents=True)
    record = {"method": "RandInit", "best_epoch": 2, "epochs_run": 3}
    record |= {"valid": {"ndcg@10": 0.2}, "test": {"ndcg@10": 0.1}}
    (folder / "metrics.json").write_text(json.dumps(record))
    pd.DataFrame({"epoch": [1, 2, 3], "epoch_seconds": [1.5, 2.0, 2.5]}).to_csv(
        folder / "history.csv", index=False
    )
    settings = {"hidden_size": 64, "lr": 0.001, "cutoffs": [10, 20], "filter_seen": False}
    settings["environment"] = {"device": "cpu", "torch": "2.13.0", "python": "3.11"}
    (folder / "settings.json").write_text(json.dumps(settings))
    frame = runs_table.runs_frame([cell], tmp_path, base_dir=tmp_path)
    (row,) = frame.to_dict("records")
    assert row["train_seconds"] == 6.0 and np.isnan(row["job_seconds"])
    assert (row["hidden_size"], row["lr"], row["filter_seen"]) == (64, 0.001, False)
    assert (row["device"], row["torch"]) == ("cpu", "2.13.0")
    assert list(frame.columns[:7]) == runs_table.LEADING[:7]
    assert runs_table.runs_frame([Cell("d", "GRU4Rec", "LLMInit", 0)], tmp_path).empty


@pytest.mark.parametrize("figure", ["training_loss", "rho_pca"])
def test_captions_render(figure):
    """Every report caption is valid Jinja + reStructuredText for a typical job."""
    from types import SimpleNamespace

    import jinja2
    from docutils.core import publish_parts

    from conftest import ROOT

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    job = SimpleNamespace(
        config=config,
        wildcards=SimpleNamespace(figure=figure, param="K"),
        params=SimpleNamespace(settings=config["report"]),
    )
    for caption in sorted((ROOT / "workflow/report").glob("*.rst")):
        text = jinja2.Template(caption.read_text()).render(snakemake=job)
        html = publish_parts(text, writer="html")["body"]
        assert len(html) > 100 and "{{" not in html, caption.name


def test_recpca_alpha_rule_on_a_processed_dataset(workdir: Path):
    """recpca_alpha_figure from a processed dataset and X alone: both formulations, the
    grid of report.recpca_alphas, alpha 0 is PCA (cosine 1)."""
    from test_llm_finetune import write_processed

    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["training"]["hidden_size"] = 4
    config["alphafuse"]["null_dim"] = 2  # must fit in hidden_size (checked at start)
    config["report"]["recpca_alphas"] = [0, 0.5, 2]
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    write_processed(workdir / "results/data/ml-100k")
    reps = workdir / "results/reps/ml-100k/llm2rec-smollm2.npy"
    reps.parent.mkdir(parents=True)
    np.save(reps, np.random.default_rng(0).normal(size=(16, 10)).astype("f4"))
    target = "results/figures/recpca_alpha_ml-100k.png"
    snakemake("--cores", "1", "--allowed-rules", "recpca_alpha_figure", "--", target, cwd=workdir)
    frame = pd.read_csv(workdir / "results/tables/recpca_alpha_ml-100k.csv")
    assert sorted(set(frame["form"])) == ["raw", "trace_normalized"]
    assert sorted(set(frame["alpha"])) == [0, 0.5, 2] and (frame["d"] == 4).all()
    pca = frame[frame["alpha"] == 0]
    assert np.allclose(pca["mean_principal_cosine"], 1.0, atol=1e-6)
    assert (workdir / "results/figures/recpca_alpha_ml-100k.pdf").stat().st_size > 1000


def test_runs_table_names_every_key_of_a_combination():
    from llmrec.report.runs_table import sweep_point

    assert sweep_point("TF-LLMER") == ("", "")
    assert sweep_point("TF-LLMER~K=3") == ("K", "3")
    assert sweep_point("TF-LLMER~normalize_h=true~tau=1e-05") == ("normalize_h;tau", "true;1e-05")
