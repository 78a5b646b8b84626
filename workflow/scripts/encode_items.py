"""Item texts of a processed dataset -> item vectors (.npy) + a JSON record of the run."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../lib")

from llmrec import logs


def main():
    import torch

    from llmrec.encoders import encode_items

    # Use the cores Snakemake granted the job, no more (torch would take every core).
    torch.set_num_threads(max(1, snakemake.threads))
    encode_items(
        snakemake.input.item_table,
        snakemake.output.vectors,
        snakemake.params.spec,
        snakemake.params.settings,
        model_dir=snakemake.input.get("model"),
        info_json=snakemake.output.get("info"),
    )


logs.run_logged(main, snakemake.log[0], attempt=snakemake.resources.get("attempt", 1))
