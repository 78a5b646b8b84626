"""Raw format -> processed dataset folder."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../lib")
import json
import logging

import pandas as pd

from llmrec import logs
from llmrec.data import preprocess


def main():
    log = logging.getLogger("llmrec")
    inter = pd.read_csv(snakemake.input.interactions, sep="\t", dtype={"user": str, "item": str})
    items = pd.read_csv(snakemake.input.item_table, sep="\t", dtype=str, keep_default_na=False)
    problems = json.loads(open(snakemake.input.problems).read())
    settings = snakemake.params.settings
    source = f"{snakemake.input.item_table} (dataset {snakemake.wildcards.dataset})"
    result = preprocess.preprocess(inter, items, settings, source)
    summary = preprocess.write_processed(
        result,
        snakemake.output.summary.rsplit("/", 1)[0],
        snakemake.wildcards.dataset,
        settings,
        problems,
    )
    log.info("raw problems: %s", problems)
    log.info("preprocessing counts: %s", summary["counts"])
    log.info("statistics: %s", summary["statistics"])


logs.run_logged(main, snakemake.log[0], attempt=snakemake.resources.get("attempt", 1))
