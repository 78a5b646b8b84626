"""The paper's tables (main results, ablation, significance, cost) from the run folders."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../lib")
from llmrec import logs


def main():
    from llmrec.report import paper_tables

    params = snakemake.params
    paper_tables.build_all(
        cells=params.cells,
        runs_root=params.runs_root,
        main_methods=params.main_methods,
        ablation_methods=params.ablation_methods,
        target=params.target,
        baselines=params.baselines,
        substitutions=params.substitutions,
        benchmarks=params.benchmarks,
        settings=params.settings,
        select=params.select,
        outputs=dict(snakemake.output),
    )


logs.run_logged(main, snakemake.log[0], attempt=snakemake.resources.get("attempt", 1))
