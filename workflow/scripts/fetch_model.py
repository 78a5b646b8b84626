"""Download a hub model into the workflow's hub cache (login node: needs the internet)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../lib")

from llmrec import io, logs


def main():
    from llmrec.encoders import fetch_hub_model

    fetched = fetch_hub_model(snakemake.params.spec, snakemake.params.hub_cache)
    io.write_json(snakemake.output.record, fetched)


logs.run_logged(main, snakemake.log[0], attempt=snakemake.resources.get("attempt", 1))
