"""The claims table: the paper's claims as verdicts from the run folders."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../lib")
from llmrec import logs


def main():
    from llmrec.report import claims

    params = snakemake.params
    claims.build(
        cells=params.cells,
        runs_root=params.runs_root,
        settings=params.settings,
        outputs=dict(snakemake.output),
        source_note=params.input_note,
    )


logs.run_logged(main, snakemake.log[0], attempt=snakemake.resources.get("attempt", 1))
