"""LLM2Rec: item vectors from the fine-tuned model (bidirectional mean pooling of titles)."""

import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../lib")

from llmrec import logs


def main():
    import torch

    from llmrec.lm import llm2rec

    torch.set_num_threads(max(1, snakemake.threads))
    llm2rec.encode(
        Path(snakemake.input.item_table).parent,  # the processed dataset folder
        snakemake.input.model,
        snakemake.output.vectors,
        snakemake.params.settings,
        info_json=snakemake.output.info,
    )


logs.run_logged(main, snakemake.log[0], attempt=snakemake.resources.get("attempt", 1))
