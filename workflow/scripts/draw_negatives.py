"""Draw and save the sampled-protocol negatives of one dataset."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../lib")
from pathlib import Path

from llmrec import logs, metrics
from llmrec.data import processed


def main():
    data = processed.load(Path(snakemake.input.summary).parent)
    negatives = metrics.draw_negatives(data, int(snakemake.wildcards.n), snakemake.params.seed)
    metrics.save_negatives(snakemake.output[0], negatives)


logs.run_logged(main, snakemake.log[0], attempt=snakemake.resources.get("attempt", 1))
