# Configuration validation, wildcard constraints and input functions that ask the plan
# (workflow/lib/llmrec/plan.py: which jobs exist, what each reads, which settings each
# receives). No rules and no method names here; keep it cheap (every cluster job
# re-parses it).
#
# Threads: every rule asks for one thread. On a 2-core laptop a job that wants two
# would wait until no one-thread run is ready (Snakemake reserves no cores), and the
# LLM2Rec chain that TF-LLMER's runs need would start last. Raise them with
# --set-threads (e.g. on a CPU node).
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "lib"))
from snakemake.exceptions import WorkflowError

from llmrec.config import ConfigError, dataset_preprocess, validate
from llmrec.plan import RUNS_ROOT, Plan, PlanError
from llmrec.report.outputs import RUNS_TABLE, ReportPlan

SCHEMA = Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml"
try:
    validate(config, SCHEMA)
    PLAN = Plan(config, yaml.safe_load(SCHEMA.read_text()))
except (ConfigError, PlanError) as err:
    raise WorkflowError(str(err)) from None
REPORT = ReportPlan(PLAN)
SWEEP_TABLE = REPORT.sweep_table()  # None where the experiment sweeps nothing
HUB_CACHE = config["hub_cache"]
DATASETS = PLAN.datasets
FINETUNE_SETTINGS = {s: PLAN.finetune_settings(s) for s in ("llm2rec", "llmemb")}


wildcard_constraints:
    **PLAN.wildcard_constraints(),


onstart:
    print(
        f"experiment '{PLAN.experiment}': datasets {DATASETS}, backbones {PLAN.backbones}, "
        f"{len(PLAN.methods)} methods, {len(PLAN.sweep_points)} sweep points, seeds {PLAN.seeds}",
        file=sys.stderr,
    )


# ---- cluster: wall times and what needs the internet (README, "Running on SLURM")
def wall_time(minutes):
    """A rule's `runtime`: `minutes`, doubled on a retry (a time limit is what a retry
    fixes), never above `max_runtime` (the cluster's longest; profiles/slurm/experiment.yaml)."""
    return lambda wildcards, attempt: min(minutes * attempt, config["max_runtime"])


def model_spec(wildcards):
    return config["models"][wildcards.model]["spec"]


def fetched_model(wildcards):
    """What cache_model reads for a hub model: the record of its download (fetch_model)."""
    if model_spec(wildcards)["source"] != "hub":
        return {}
    return {"fetched": f"{HUB_CACHE}/llmrec-fetched/{wildcards.model}.json"}


def fetch_targets():
    return PLAN.fetch_targets(HUB_CACHE)


# ---- data
def dataset_source(dataset):
    return config["datasets"][dataset]["source"]


def raw_files(wildcards):
    """The raw-format tables of a dataset, from the import rule of its source."""
    folder = f"results/raw/{dataset_source(wildcards.dataset)}/{wildcards.dataset}"
    return {
        "interactions": f"{folder}/interactions.tsv",
        "item_table": f"{folder}/items.tsv",
        "problems": f"{folder}/problems.json",
    }


def atomic_files(wildcards):
    """The user's RecBole atomic files of a dataset with source 'atomic'."""
    entry = config["datasets"][wildcards.dataset]
    folder = Path(entry["path"])
    stem = entry.get("name", folder.name)
    files = {"inter": str(folder / f"{stem}.inter")}
    if (folder / f"{stem}.item").exists():
        files["item"] = str(folder / f"{stem}.item")
    return files


def amazon_url(wildcards):
    return config["datasets"][wildcards.dataset][f"{wildcards.kind}_url"]


def amazon_pins(wildcards):
    entry = config["datasets"][wildcards.dataset]
    return {
        "size": entry.get(f"{wildcards.kind}_size"),
        "sha256": entry.get(f"{wildcards.kind}_sha256"),
    }


def processed_summaries(wildcards=None):
    return expand("results/data/{dataset}/summary.json", dataset=DATASETS)


DATASET_STATS_TABLES = expand("results/tables/dataset_stats.{ext}", ext=["csv", "md", "tex"])


def processed_files(wildcards):
    folder = f"results/data/{wildcards.dataset}"
    return {
        "interactions": f"{folder}/interactions.tsv",
        "item_table": f"{folder}/items.tsv",
        "summary": f"{folder}/summary.json",
    }


def with_model_folder(inputs, wildcards):
    """Plus the cached model folder, for models that need caching."""
    if model_spec(wildcards)["source"] in ("package_gguf", "hub"):
        inputs["model"] = f"results/models/{wildcards.model}"
    return inputs


def encode_inputs(wildcards):
    items = f"results/data/{wildcards.dataset}/items.tsv"
    return with_model_folder({"item_table": items}, wildcards)


def finetune_inputs(wildcards):
    return with_model_folder(processed_files(wildcards), wildcards)


# ---- runs and the jobs upstream of them: what the plan says
def planned_run(wildcards):
    return PLAN.run(wildcards.dataset, wildcards.backbone, wildcards.method, wildcards.seed)


def run_inputs(wildcards):
    """What a run reads from earlier stages (item vectors, ..., sampled negatives)."""
    return planned_run(wildcards).inputs


def run_settings(wildcards):
    """Exactly the keys a run reads: training, backbone, its method's run keys, seed."""
    return planned_run(wildcards).settings


def job_settings(rule, key=None):
    """A params function: exactly the keys the upstream job of `rule` (rec_pca, ...) reads,
    by its first output. From the wildcards alone (not `output`), so that Snakemake's
    params trigger tracks them."""

    def settings(wildcards):
        path = expand(getattr(rules, rule).output[0], **wildcards)[0]
        found = PLAN.job_settings(path)
        return found if key is None else found[key]

    return settings


# ---- report outputs (workflow/rules/report.smk)
# Snakemake has no optional inputs: a report rule lists the run files it reads, so a
# missing run is built first. With `--config partial=true` the rules list only the run
# files that exist, so the outputs are built from what finished; the builders always get
# every planned cell (`params.cells`) and mark the missing ones.
PARTIAL = config.get("partial", False) in (True, "true")


def run_files(methods, filename, seeds=None):
    paths = REPORT.run_files(methods, filename, seeds)
    return [p for p in paths if Path(p).exists()] if PARTIAL else paths


def recpca_alpha_datasets():
    """Per dataset; in partial mode only where X exists (no embedding job is started)."""
    if not REPORT.recpca_figure:
        return []
    x = f"results/reps/{{}}/{REPORT.x_reps()}.npy"
    return [d for d in DATASETS if not PARTIAL or Path(x.format(d)).exists()]


def recpca_alpha_vectors(wildcards):
    return f"results/reps/{wildcards.dataset}/{REPORT.x_reps()}.npy"


def paper_outputs():
    """Every table and figure of the paper the experiment can produce, and runs.csv."""
    datasets = recpca_alpha_datasets()
    figures = REPORT.figures() + [f"recpca_alpha_{d}" for d in datasets]
    return (
        [f"results/tables/recpca_alpha_{d}.csv" for d in datasets]
        + expand("results/tables/{table}.{ext}", table=REPORT.tables(), ext=["csv", "md", "tex"])
        + [RUNS_TABLE]
        + expand("results/figures/{figure}.{ext}", figure=figures, ext=["pdf", "png"])
    )
