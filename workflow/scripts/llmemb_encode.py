"""LLMEmb: item vectors from the SCFT-tuned model (LoRA merged), reduced by PCA."""

import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../lib")

from llmrec import logs


def main():
    import torch

    from llmrec.lm import llmemb

    torch.set_num_threads(max(1, snakemake.threads))
    llmemb.encode(
        Path(snakemake.input.item_table).parent,  # the processed dataset folder
        snakemake.input.get("model") or snakemake.params.spec,
        snakemake.input.lora_dir,
        snakemake.output.vectors,
        snakemake.params.settings,
        info_json=snakemake.output.info,
    )


logs.run_logged(main, snakemake.log[0], attempt=snakemake.resources.get("attempt", 1))
