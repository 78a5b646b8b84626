"""Resumable, checked download of one raw file."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../lib")
from llmrec import logs
from llmrec.data import download


def main():
    download.fetch(
        snakemake.params.url,
        snakemake.output[0],
        expected_size=snakemake.params.pins["size"],
        sha256=snakemake.params.pins["sha256"],
        verify_gzip=snakemake.output[0].endswith(".gz"),
    )


logs.run_logged(main, snakemake.log[0], attempt=snakemake.resources.get("attempt", 1))
