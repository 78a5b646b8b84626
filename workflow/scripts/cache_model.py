"""Load a text model once (dequantizing a GGUF file) and save it as a plain model folder.

Hub models are read offline from the hub cache that `fetch_model` filled: compute nodes
need no internet.
"""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../lib")

from llmrec import logs


def main():
    import torch

    from llmrec.encoders import cache_model

    torch.set_num_threads(max(1, snakemake.threads))
    cache_model(
        snakemake.params.spec,
        snakemake.output.model_dir,
        hub_cache=snakemake.params.hub_cache,
        offline=True,
    )


logs.run_logged(main, snakemake.log[0], attempt=snakemake.resources.get("attempt", 1))
