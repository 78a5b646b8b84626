"""Rec-PCA (or PCA, alpha = 0) of one dataset's LLM item vectors."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../lib")
import logging
from pathlib import Path

import numpy as np

from llmrec import io, logs
from llmrec.checks import check_item_vectors, write_item_vectors
from llmrec.data import processed
from llmrec.recpca import reduce_for_dataset


def main():
    import torch

    torch.set_num_threads(max(1, snakemake.threads))
    wc = snakemake.wildcards
    data = processed.load(Path(snakemake.input.summary).parent)
    x = np.load(snakemake.input.vectors)
    check_item_vectors(x, snakemake.input.vectors, f"input of Rec-PCA ({wc.reps})", "the rule that wrote it")
    settings = snakemake.params.settings  # the plan's: every key this job reads
    d, alpha, form = int(settings["d"]), float(settings["alpha"]), settings["recpca_form"]
    proj, info = reduce_for_dataset(data.train_sequences(), data.n_items, x, d, alpha, settings)
    logging.getLogger("llmrec").info("Rec-PCA: %s", info)
    write_item_vectors(
        snakemake.output.vectors,
        proj.z,
        f"Rec-PCA ({form}) of {wc.reps}, d={d}, alpha={alpha}, K={settings['K']}",
        "tf_llmer.alpha / tf_llmer.K (a graph term that cancels the variance) or the input vectors",
    )
    io.write_json(snakemake.output.info, info)


logs.run_logged(main, snakemake.log[0], attempt=snakemake.resources.get("attempt", 1))
