"""How far Rec-PCA moves from PCA against alpha, per formulation (table and figure)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../lib")
from pathlib import Path

import numpy as np
import pandas as pd

from llmrec import graph, io, logs, recpca
from llmrec.data import processed


def main():
    import torch

    from llmrec.report import figures

    torch.set_num_threads(max(1, snakemake.threads))
    settings = snakemake.params.settings
    data = processed.load(Path(snakemake.input.summary).parent)
    xbar, _ = recpca.prepare(
        np.load(snakemake.input.vectors), settings["pre_l2norm"], settings["center"]
    )
    a = graph.build_graph(
        data.train_sequences(),
        data.n_items,
        k=int(settings["K"]),
        k_mode=settings["k_mode"],
        window=int(settings["window"]),
    )
    lap = graph.laplacian(a, settings["laplacian"])
    rows = recpca.alpha_curve(xbar, lap, int(snakemake.params.d), snakemake.params.alphas)
    frame = pd.DataFrame(rows).assign(
        dataset=snakemake.wildcards.dataset, K=int(settings["K"]), d=int(snakemake.params.d)
    )
    io.write_table(snakemake.output.csv, frame)
    figures.recpca_alpha(frame, snakemake.output.pdf, snakemake.output.png, snakemake.params.dpi)


logs.run_logged(main, snakemake.log[0], attempt=snakemake.resources.get("attempt", 1))
