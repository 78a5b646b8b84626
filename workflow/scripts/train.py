"""Train and evaluate one grid cell (dataset x backbone x method x seed)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../lib")
from pathlib import Path

from llmrec import logs


def main():
    import torch

    from llmrec import experiment

    torch.set_num_threads(max(1, snakemake.threads))
    method_inputs = {
        key: snakemake.input[key]
        for key in snakemake.input.keys()
        if key not in ("interactions", "item_table", "summary", "negatives")
    }
    experiment.run(
        Path(snakemake.input.summary).parent,
        snakemake.params.settings,
        method_inputs,
        snakemake.params.state_dir,
        dict(snakemake.output),
        negatives_path=snakemake.input.get("negatives"),
    )


logs.run_logged(main, snakemake.log[0], attempt=snakemake.resources.get("attempt", 1))
