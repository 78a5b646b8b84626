"""Statistics table of the processed datasets (csv, markdown, LaTeX)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../lib")
import json

from llmrec import logs, tables
from llmrec.data import preprocess


def main():
    summaries = [json.loads(open(p).read()) for p in snakemake.input.summaries]
    frame = preprocess.statistics_table(summaries)
    tables.write_all(
        frame,
        **dict(snakemake.output),
        formats=preprocess.STATS_FORMATS,
        caption="Statistics of the processed datasets.",
    )


logs.run_logged(main, snakemake.log[0], attempt=snakemake.resources.get("attempt", 1))
