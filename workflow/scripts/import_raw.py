"""Read one dataset's raw files (any source) into the raw format."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../lib")
import logging

from llmrec import logs
from llmrec.data import sources


def main():
    raw = sources.import_raw(snakemake.wildcards.dataset, snakemake.params.entry, dict(snakemake.input))
    logging.getLogger("llmrec").info(
        "%d interactions, %d items with metadata; problems: %s",
        len(raw.interactions),
        len(raw.items),
        raw.problems,
    )
    sources.write_raw(raw, **dict(snakemake.output))


logs.run_logged(main, snakemake.log[0], attempt=snakemake.resources.get("attempt", 1))
