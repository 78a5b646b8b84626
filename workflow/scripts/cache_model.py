"""Load a text model once (dequantizing a GGUF file) and save it as a plain model folder."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../lib")

from llmrec import logs


def main():
    import torch

    from llmrec.encoders import cache_model

    torch.set_num_threads(max(1, snakemake.threads))
    cache_model(snakemake.params.spec, snakemake.output.model_dir)


logs.run_logged(main, snakemake.log[0])
