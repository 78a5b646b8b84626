"""results/tables/runs.csv: one row per finished run folder."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../lib")
import logging

from llmrec import logs


def main():
    from llmrec.report import runs_table

    params = snakemake.params
    frame = runs_table.build_runs_table(
        cells=params.cells,
        runs_root=params.runs_root,
        output=snakemake.output.csv,
        benchmark=params.benchmark,
        provenance=params.provenance,
    )
    logging.getLogger("llmrec").info(
        "%d finished runs of %d planned cells", len(frame), len(params.cells)
    )


logs.run_logged(main, snakemake.log[0], attempt=snakemake.resources.get("attempt", 1))
