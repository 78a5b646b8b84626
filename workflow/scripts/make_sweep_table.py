"""The sweeps table: each sweep point on validation and on test."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../lib")
from llmrec import logs


def main():
    from llmrec.report import sweeps

    params = snakemake.params
    sweeps.build(
        cells=params.cells,
        candidates=params.candidates,
        labels=params.labels,
        runs_root=params.runs_root,
        metric=params.metric,
        outputs=dict(snakemake.output),
    )


logs.run_logged(main, snakemake.log[0], attempt=snakemake.resources.get("attempt", 1))
