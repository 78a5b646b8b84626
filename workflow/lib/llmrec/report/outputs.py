"""What the report jobs of a :class:`~llmrec.plan.Plan` read and draw (rules/report.smk).

The paper's roles of the methods live here, the one place that names them: which method
is the paper's (``TARGET``), its ablations, the LLM-enhanced baselines, which runs each
curve figure draws. Every list keeps only the methods the experiment runs.

Partial mode is the rules' business (they drop run files that do not exist); the cells
handed to the builders are always every *planned* cell, so that the missing ones are
marked.
"""

from __future__ import annotations

from typing import Any

from ..methods import tf_llmer
from ..plan import RUN_FOLDER, Plan

TARGET = "TF-LLMER"
#: TF-LLMER's ablations, left out of the main table
TARGET_VARIANTS = ("TF-LLMER-wo-norm", "TF-LLMER-wo-RecPCA", "TF-LLMER-wo-both")
ABLATIONS = ("RandInit", "TF-LLMER-wo-both", "TF-LLMER-wo-RecPCA", "TF-LLMER-wo-norm", TARGET)
LLM_BASELINES = ("LLMInit", "LLM-ESR", "LLMEmb", "LLM2Rec", "AlphaFuse", "WhitenRec")
#: the methods the claims table compares (llmrec.report.claims)
CLAIMS = ("RandInit", *LLM_BASELINES, TARGET, *TARGET_VARIANTS, "RandomFeat")
PCA_LABELS = {"TF-LLMER-wo-norm": "Rec-PCA (w/o norm)", "TF-LLMER-wo-both": "vanilla PCA (w/o norm)"}
#: training-curve figures: which runs each draws, which history.csv column
CURVES = {
    "training_loss": {"methods": ("RandInit", *LLM_BASELINES), "column": "train_loss"},  # Figs. 1, 9
    "loss_normalization": {  # Fig. 5
        "methods": ("TF-LLMER-wo-norm", TARGET),
        "column": "train_loss",
        "labels": {"TF-LLMER-wo-norm": "w/o norm", TARGET: "with norm (TF-LLMER)"},
    },
    "loss_ablation": {"methods": ABLATIONS, "column": "train_loss"},  # Fig. 11
    "rho_pca": {"methods": ("RandInit", *PCA_LABELS), "column": "rho", "labels": PCA_LABELS, "log_y": True},  # Figs. 6, 10
    "loss_pca": {"methods": ("RandInit", *PCA_LABELS), "column": "train_loss", "labels": PCA_LABELS},  # Fig. 7
}
TABLES = ["main_results", "ablation", "significance", "cost", "claims"]
RUNS_TABLE = "results/tables/runs.csv"


class ReportPlan:
    def __init__(self, plan: Plan):
        self.plan = plan
        self.settings = plan.config["report"]
        run = set(plan.methods)
        self.methods = list(plan.methods)
        self.main_methods = [m for m in plan.methods if m not in TARGET_VARIANTS]
        self.target = TARGET
        self.baselines = [m for m in self.main_methods if m != TARGET]
        self.ablation_methods = [m for m in ABLATIONS if m in run]
        self.ablation_bar_methods = [m for m in self.ablation_methods if m != "RandInit"]  # Figs. 8, 12
        self.claim_methods = [m for m in CLAIMS if m in run]
        self.curves = {}
        for name, spec in CURVES.items():
            methods = [m for m in spec["methods"] if m in run]
            if methods:
                self.curves[name] = {**spec, "methods": methods}
        self.run_methods = plan.method_ids  # every run: the rows of runs.csv
        # sweep figures: the paper's method's keep their names (sweep_alpha, sweep_K)
        self.sweeps = {}
        for method, keys in plan.sweeps.items():
            for key, points in keys.items():
                name = key if method == TARGET else f"{method}_{key}"
                self.sweeps[name] = {"key": key, "points": {p.value: p.method_id for p in points}}
        self.recpca_figure = any(m in run for m in (TARGET, *TARGET_VARIANTS))

    def selection(self) -> dict[str, Any] | None:
        """report.select: validation -> what the main table chooses among (paper_tables'
        ``select``): every sweep point of the main table's methods, main runs included."""
        if self.settings["select"] != "validation":
            return None
        candidates = {m: self.plan.candidates(m) for m in self.main_methods}
        candidates = {m: ids for m, ids in candidates.items() if len(ids) > 1}
        ids = [i for group in candidates.values() for i in group]
        return {
            "cells": self.cells(ids),
            "candidates": candidates,
            "metric": self.plan.config["training"]["valid_metric"],
        }

    def sweep_table(self) -> dict[str, Any] | None:
        """What the sweeps table compares: every method with sweep or combination points
        (its main run first), each point's label; None without any."""
        candidates = {m: self.plan.candidates(m) for m in self.methods}
        candidates = {m: ids for m, ids in candidates.items() if len(ids) > 1}
        if not candidates:
            return None
        labels = {m: "configured" for m in candidates}
        labels.update({p.method_id: p.label for p in self.plan.sweep_points})
        ids = [i for group in candidates.values() for i in group]
        return {
            "ids": ids,
            "cells": self.cells(ids),
            "candidates": candidates,
            "labels": labels,
            "metric": self.plan.config["training"]["valid_metric"],
        }

    def tables(self) -> list[str]:
        """The tables the paper target builds (``sweeps`` only where something is swept)."""
        return TABLES + (["sweeps"] if self.sweep_table() is not None else [])

    def selection_inputs(self) -> list[str]:
        select = self.selection()
        return [] if select is None else [f"{RUN_FOLDER.format(**c)}/metrics.json" for c in select["cells"]]

    def cells(self, methods, seeds=None) -> list[dict[str, Any]]:
        """Every planned cell of ``methods``: dataset x backbone x method x seed, in order."""
        return [
            {"dataset": job.dataset, "backbone": job.backbone, "method": job.method_id, "seed": job.seed}
            for job in self.plan.runs(methods, seeds)
        ]

    def run_files(self, methods, filename: str, seeds=None) -> list[str]:
        return [f"{RUN_FOLDER.format(**c)}/{filename}" for c in self.cells(methods, seeds)]

    def benchmarks(self) -> dict[str, dict[str, list[str]]]:
        return {m: self.plan.cost_stages(m) for m in self.methods}

    def provenance(self) -> dict[str, dict[str, Any]]:
        """{method id: what the runs table shows of it besides its settings.json}."""
        return {m: self.plan.provenance(m) for m in self.run_methods}

    def x_reps(self) -> str:
        """TF-LLMER's X (for the Rec-PCA-against-alpha figure)."""
        request = _names(self.plan)
        return tf_llmer.source_reps(request, self.plan.config["tf_llmer"])

    def recpca_alpha_settings(self) -> dict[str, Any]:
        """The keys of ``tf_llmer`` the Rec-PCA-against-alpha figure reads (it runs both
        forms over ``report.recpca_alphas`` itself)."""
        tf = self.plan.config["tf_llmer"]
        return {k: tf[k] for k in ("K", "k_mode", "window", "laplacian", "pre_l2norm", "center")}

    def input_note(self) -> str:
        """What X is: LLM2Rec's vectors after how many CSFT examples (for the claims table)."""
        if self.plan.config["tf_llmer"]["source"] != "llm2rec":
            return f"X (TF-LLMER's input vectors): the {self.plan.exp['llm']} model's item vectors."
        llm2rec = self.plan.finetune_settings("llm2rec")
        csft = llm2rec["csft"]
        seen = csft["steps"] * csft["batch_size"]
        return (
            f"X (TF-LLMER's input vectors): LLM2Rec's item vectors from "
            f"{llm2rec['model']} after {csft['steps']} CSFT steps of "
            f"{csft['batch_size']} examples ({seen} training examples seen); with few steps "
            "they stay close to the base model's."
        )

    def figures(self) -> list[str]:
        names = [*self.curves, "item_norms"] + (["ablation_ndcg10"] if self.ablation_bar_methods else [])
        return names + [f"sweep_{name}" for name in self.sweeps]


def _names(plan: Plan):
    from ..plan import _Request

    return _Request(plan, "{dataset}", "{seed}", record=False)
