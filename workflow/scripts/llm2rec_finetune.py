"""LLM2Rec: one fine-tuning stage (csft, mntp or simcse) -> a model folder."""

import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../lib")

from llmrec import logs


def main():
    import torch

    from llmrec.lm import llm2rec

    torch.set_num_threads(max(1, snakemake.threads))
    stage = getattr(llm2rec, snakemake.params.stage)
    stage(
        Path(snakemake.input.item_table).parent,  # the processed dataset folder
        snakemake.input.get("model") or snakemake.params.spec,
        snakemake.output.model_dir,
        snakemake.params.settings,
        state_dir=snakemake.params.state_dir,
    )


logs.run_logged(main, snakemake.log[0], attempt=snakemake.resources.get("attempt", 1))
