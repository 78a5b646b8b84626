# Reproduction workflow for "Break the Optimization Barrier of LLM-Enhanced
# Recommenders" (TF-LLMER, arXiv 2604.20490). See README.md.
from snakemake.utils import min_version

min_version("9.0")

# Parse the config files strictly first: a duplicate key (YAML keeps the last one) or a
# syntax error stops the run with the file, line and column.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "lib"))
from snakemake.exceptions import WorkflowError
from llmrec.config import ConfigError, check_config_files

try:
    check_config_files(["config.yaml", *workflow.overwrite_configfiles])
except ConfigError as err:
    raise WorkflowError(str(err)) from None


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/embed.smk"
include: "workflow/rules/llm_finetune.smk"
include: "workflow/rules/tf_llmer.smk"
include: "workflow/rules/baselines.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/report.smk"


# Everything the selected experiment can produce today.
rule all:
    default_target: True
    input:
        dataset_stats=DATASET_STATS_TABLES,
        runs=PLAN.run_targets(),
        paper_outputs=paper_outputs(),


rule data:
    """Processed datasets of the selected experiment and their statistics table."""
    input:
        DATASET_STATS_TABLES,


rule grid:
    """Every run of the grid (methods and sweep points), without the report."""
    input:
        dataset_stats=DATASET_STATS_TABLES,
        runs=PLAN.run_targets(),


rule fetch:
    """Download what the experiment needs from outside (Amazon files, hub models) and
    check the Yelp files: run on the login node before the cluster run (README)."""
    input:
        fetch_targets(),
    localrule: True
