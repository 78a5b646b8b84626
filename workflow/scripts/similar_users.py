"""LLM-ESR: embed each user's training-history text and store its most similar users."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../lib")
from pathlib import Path

from llmrec import logs


def main():
    import torch

    from llmrec import similar_users

    torch.set_num_threads(max(1, snakemake.threads))
    similar_users.retrieve(
        Path(snakemake.input.summary).parent,
        snakemake.output.similar,
        snakemake.params.spec,
        snakemake.params.settings,
        snakemake.params.encode,
        model_dir=snakemake.input.get("model"),
        info_json=snakemake.output.info,
    )


logs.run_logged(main, snakemake.log[0], attempt=snakemake.resources.get("attempt", 1))
