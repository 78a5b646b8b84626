# The paper's tables and figures from the per-run result folders, each marked for
# `snakemake --report report.html`. What each reads and draws: REPORT
# (workflow/lib/llmrec/report/outputs.py); the partial mode (`--config partial=true`):
# common.smk, "report outputs".


rule paper_tables:
    """Main results, ablation, significance and cost tables (csv, md, tex)."""
    input:
        metrics=run_files(REPORT.methods, "metrics.json"),
        # report.select: validation: every sweep point competes for the main table
        sweep_points=[p for p in REPORT.selection_inputs() if not PARTIAL or Path(p).exists()],
    output:
        main_csv=report(
            "results/tables/main_results.csv",
            caption="../report/main_results.rst",
            category="Tables",
        ),
        main_md="results/tables/main_results.md",
        main_tex="results/tables/main_results.tex",
        ablation_csv=report(
            "results/tables/ablation.csv",
            caption="../report/ablation.rst",
            category="Tables",
        ),
        ablation_md="results/tables/ablation.md",
        ablation_tex="results/tables/ablation.tex",
        significance_csv=report(
            "results/tables/significance.csv",
            caption="../report/significance.rst",
            category="Tables",
        ),
        significance_md="results/tables/significance.md",
        significance_tex="results/tables/significance.tex",
        cost_csv=report(
            "results/tables/cost.csv",
            caption="../report/cost.rst",
            category="Tables",
        ),
        cost_md="results/tables/cost.md",
        cost_tex="results/tables/cost.tex",
    log:
        "logs/paper_tables.log",
    conda:
        "../../envs/llmrec.yaml"
    resources:
        mem_mb=8000,
        runtime=wall_time(30),
    params:
        runs_root=lambda wc: RUNS_ROOT,
        cells=REPORT.cells(REPORT.methods),
        main_methods=REPORT.main_methods,
        ablation_methods=REPORT.ablation_methods,
        target=REPORT.target,
        baselines=REPORT.baselines,
        substitutions=PLAN.substitutions(REPORT.methods),
        benchmarks=REPORT.benchmarks(),
        settings=REPORT.settings,
        select=REPORT.selection(),
    script:
        "../scripts/make_tables.py"


rule claims_table:
    """The paper's claims as verdicts (holds / contradicted / inconclusive) per setting."""
    input:
        metrics=run_files(REPORT.claim_methods, "metrics.json"),
        histories=run_files(REPORT.claim_methods, "history.csv"),
        settings=run_files(REPORT.claim_methods, "settings.json"),
    output:
        csv=report(
            "results/tables/claims.csv",
            caption="../report/claims.rst",
            category="Tables",
        ),
        md="results/tables/claims.md",
        tex="results/tables/claims.tex",
    log:
        "logs/claims_table.log",
    conda:
        "../../envs/llmrec.yaml"
    resources:
        mem_mb=4000,
        runtime=wall_time(15),
    params:
        runs_root=lambda wc: RUNS_ROOT,
        cells=REPORT.cells(REPORT.claim_methods),
        settings=REPORT.settings,
        input_note=REPORT.input_note(),
    script:
        "../scripts/make_claims.py"


rule sweep_table:
    """Each sweep and combination point on validation (which chooses) and on test."""
    input:
        metrics=run_files(SWEEP_TABLE["ids"] if SWEEP_TABLE else [], "metrics.json"),
    output:
        csv=report(
            "results/tables/sweeps.csv",
            caption="../report/sweeps.rst",
            category="Tables",
        ),
        md="results/tables/sweeps.md",
        tex="results/tables/sweeps.tex",
    log:
        "logs/sweep_table.log",
    conda:
        "../../envs/llmrec.yaml"
    resources:
        mem_mb=4000,
        runtime=wall_time(15),
    params:
        runs_root=lambda wc: RUNS_ROOT,
        cells=SWEEP_TABLE and SWEEP_TABLE["cells"],
        candidates=SWEEP_TABLE and SWEEP_TABLE["candidates"],
        labels=SWEEP_TABLE and SWEEP_TABLE["labels"],
        metric=PLAN.config["training"]["valid_metric"],
    script:
        "../scripts/make_sweep_table.py"


rule recpca_alpha_figure:
    """Rec-PCA against alpha per formulation: cosine to PCA, retained variance."""
    input:
        vectors=recpca_alpha_vectors,
        interactions="results/data/{dataset}/interactions.tsv",
        item_table="results/data/{dataset}/items.tsv",
        summary="results/data/{dataset}/summary.json",
    output:
        csv="results/tables/recpca_alpha_{dataset}.csv",
        pdf="results/figures/recpca_alpha_{dataset}.pdf",
        png=report(
            "results/figures/recpca_alpha_{dataset}.png",
            caption="../report/recpca_alpha.rst",
            category="Figures",
            subcategory="Ablation and sensitivity",
        ),
    log:
        "logs/figures/recpca_alpha_{dataset}.log",
    conda:
        "../../envs/llmrec.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 24000 * attempt,
        runtime=wall_time(60),
    params:
        settings=REPORT.recpca_alpha_settings(),
        d=config["training"]["hidden_size"],
        alphas=REPORT.settings["recpca_alphas"],
        dpi=REPORT.settings["dpi"],
    script:
        "../scripts/rec_pca_alpha.py"


rule runs_table:
    """One row per finished run: cell, best epoch, epochs, wall time, metrics, settings."""
    input:
        metrics=run_files(REPORT.run_methods, "metrics.json"),
        histories=run_files(REPORT.run_methods, "history.csv"),
        settings=run_files(REPORT.run_methods, "settings.json"),
    output:
        csv=report(
            RUNS_TABLE,
            caption="../report/runs.rst",
            category="Tables",
        ),
    log:
        "logs/runs_table.log",
    conda:
        "../../envs/llmrec.yaml"
    resources:
        mem_mb=4000,
        runtime=wall_time(15),
    params:
        runs_root=lambda wc: RUNS_ROOT,
        cells=REPORT.cells(REPORT.run_methods),
        # what the runs table shows besides settings.json: models, substitutions, the
        # upstream jobs' settings (never part of a run's settings)
        provenance=REPORT.provenance(),
        # the train rule's benchmark: file (job wall time and peak memory)
        benchmark=lambda wc: "benchmarks/train/{dataset}/{backbone}/{method}/seed{seed}.tsv",
    script:
        "../scripts/runs_table.py"


rule curve_figure:
    """Per-epoch training loss or rho of a set of methods (paper Figs. 1, 5-7, 9-11)."""
    input:
        histories=lambda wc: run_files(REPORT.curves[wc.figure]["methods"], "history.csv"),
    output:
        pdf="results/figures/{figure}.pdf",
        png=report(
            "results/figures/{figure}.png",
            caption="../report/curve_figure.rst",
            category="Figures",
            subcategory="Training curves",
        ),
    log:
        "logs/figures/{figure}.log",
    wildcard_constraints:
        figure="|".join(REPORT.curves) or "^$",
    conda:
        "../../envs/llmrec.yaml"
    resources:
        mem_mb=4000,
        runtime=wall_time(15),
    params:
        kind="curves",
        runs_root=lambda wc: RUNS_ROOT,
        cells=lambda wc: REPORT.cells(REPORT.curves[wc.figure]["methods"]),
        spec=lambda wc: REPORT.curves[wc.figure],
        dpi=REPORT.settings["dpi"],
    script:
        "../scripts/plot_figure.py"


rule item_norm_figure:
    """Sorted initial item-embedding magnitudes of every method (paper Fig. 2)."""
    input:
        norms=run_files(REPORT.methods, "initial_item_norms.npy", seeds=PLAN.seeds[:1]),
    output:
        pdf="results/figures/item_norms.pdf",
        png=report(
            "results/figures/item_norms.png",
            caption="../report/item_norms.rst",
            category="Figures",
            subcategory="Embeddings",
        ),
    log:
        "logs/figures/item_norms.log",
    conda:
        "../../envs/llmrec.yaml"
    resources:
        mem_mb=4000,
        runtime=wall_time(15),
    params:
        kind="item_norms",
        runs_root=lambda wc: RUNS_ROOT,
        cells=REPORT.cells(REPORT.methods, seeds=PLAN.seeds[:1]),
        dpi=REPORT.settings["dpi"],
    script:
        "../scripts/plot_figure.py"


rule ablation_figure:
    """NDCG@10 of the paper's method and its ablations, mean +- std over seeds (Figs. 8, 12)."""
    input:
        metrics=run_files(REPORT.ablation_bar_methods, "metrics.json"),
    output:
        pdf="results/figures/ablation_ndcg10.pdf",
        png=report(
            "results/figures/ablation_ndcg10.png",
            caption="../report/ablation_figure.rst",
            category="Figures",
            subcategory="Ablation and sensitivity",
        ),
    log:
        "logs/figures/ablation_ndcg10.log",
    conda:
        "../../envs/llmrec.yaml"
    resources:
        mem_mb=4000,
        runtime=wall_time(15),
    params:
        kind="ablation",
        runs_root=lambda wc: RUNS_ROOT,
        cells=REPORT.cells(REPORT.ablation_bar_methods),
        metric="ndcg@10",
        dpi=REPORT.settings["dpi"],
    script:
        "../scripts/plot_figure.py"


rule sweep_figure:
    """NDCG@10 against one swept key of a method, per dataset and backbone (Figs. 13, 14:
    the paper's method's alpha and K)."""
    input:
        metrics=lambda wc: run_files(REPORT.sweeps[wc.param]["points"].values(), "metrics.json"),
    output:
        pdf="results/figures/sweep_{param}.pdf",
        png=report(
            "results/figures/sweep_{param}.png",
            caption="../report/sweep_figure.rst",
            category="Figures",
            subcategory="Ablation and sensitivity",
        ),
    log:
        "logs/figures/sweep_{param}.log",
    wildcard_constraints:
        param="|".join(REPORT.sweeps) or "^$",
    conda:
        "../../envs/llmrec.yaml"
    resources:
        mem_mb=4000,
        runtime=wall_time(15),
    params:
        kind="sweep",
        runs_root=lambda wc: RUNS_ROOT,
        cells=lambda wc: REPORT.cells(REPORT.sweeps[wc.param]["points"].values()),
        points=lambda wc: REPORT.sweeps[wc.param]["points"],
        key=lambda wc: REPORT.sweeps[wc.param]["key"],
        metric="ndcg@10",
        dpi=REPORT.settings["dpi"],
    script:
        "../scripts/plot_figure.py"


rule paper:
    """Only the tables and figures (with --config partial=true: from the runs that exist)."""
    input:
        paper_outputs(),
