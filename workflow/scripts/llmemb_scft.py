"""LLMEmb: SCFT (LoRA + contrastive on attribute-dropout views) -> LoRA weights."""

import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../lib")

from llmrec import logs


def main():
    import torch

    from llmrec.lm import llmemb

    torch.set_num_threads(max(1, snakemake.threads))
    llmemb.scft(
        Path(snakemake.input.item_table).parent,  # the processed dataset folder
        snakemake.input.get("model") or snakemake.params.spec,
        snakemake.output.lora_dir,
        snakemake.params.settings,
        state_dir=snakemake.params.state_dir,
    )


logs.run_logged(main, snakemake.log[0], attempt=snakemake.resources.get("attempt", 1))
