# Configuration validation, grid construction, wildcard constraints and input
# functions. No rules here; keep it cheap (it is re-parsed by every cluster job).
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "lib"))
from snakemake.exceptions import WorkflowError

from llmrec.config import ConfigError, dataset_preprocess, validate

try:
    validate(config, Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml")
except ConfigError as err:
    raise WorkflowError(str(err)) from None

EXPERIMENT = config["experiment"]
EXP = config["experiments"][EXPERIMENT]
DATASETS = EXP["datasets"]
BACKBONES = EXP["backbones"]
METHODS = EXP["methods"]
SEEDS = EXP["seeds"]
SWEEPS = EXP.get("sweeps", {})
ALL_METHODS = sorted({m for e in config["experiments"].values() for m in e["methods"]})

# Methods whose implementation has not landed yet, with the issue that brings it.
# `rule all` leaves their runs out; `rule grid` plans them (snakemake -n grid).
PENDING_METHODS = {
    "LLMInit": "issue 5",
    "LLM-ESR": "issue 5",
    "AlphaFuse": "issue 5",
    "WhitenRec": "issue 5",
    "RandomFeat": "issue 5",
    "LLMEmb": "issue 6",
    "LLM2Rec": "issue 6",
}

# The method sweeps (paper Figs. 13-14) are runs of TF-LLMER with one value
# overridden; their method id is "TF-LLMER~<param>=<value>".
SWEPT_METHOD = "TF-LLMER"


def sweep_method_ids():
    """Method ids of the sweep points; the point equal to the default is the main run."""
    if SWEPT_METHOD not in METHODS:
        return []
    ids = []
    for param, values in SWEEPS.items():
        for value in values:
            if value != config["tf_llmer"][param]:
                ids.append(f"{SWEPT_METHOD}~{param}={value}")
    return ids


def base_method(method_id):
    return method_id.split("~", 1)[0]


def method_overrides(method_id):
    """{param: value} encoded in a sweep method id, e.g. {'alpha': 0.3}."""
    if "~" not in method_id:
        return {}
    param, value = method_id.split("~", 1)[1].split("=", 1)
    return {param: int(value) if param == "K" else float(value)}


def run_targets(implemented_only):
    """metrics.json of every cell of the grid: datasets x backbones x methods x seeds."""
    methods = METHODS + sweep_method_ids()
    if implemented_only:
        methods = [m for m in methods if base_method(m) not in PENDING_METHODS]
    return expand(
        "results/runs/{dataset}/{backbone}/{method}/seed{seed}/metrics.json",
        dataset=DATASETS,
        backbone=BACKBONES,
        method=methods,
        seed=SEEDS,
    )


DATASET_STATS_TABLES = expand("results/tables/dataset_stats.{ext}", ext=["csv", "md", "tex"])


def _alternatives(names):
    return "|".join(re.escape(n) for n in names)


wildcard_constraints:
    dataset=_alternatives(config["datasets"]),
    backbone=_alternatives(["GRU4Rec", "SASRec", "BERT4Rec"]),
    method=f"({_alternatives(ALL_METHODS)})(~(alpha|K)=[0-9.]+)?",
    seed=r"\d+",
    kind="reviews|meta",
    model=_alternatives(config["models"]),
    alpha=r"[0-9.]+",
    K=r"\d+",
    d=r"\d+",


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


onstart:
    pending = sorted({base_method(m) for m in METHODS} & set(PENDING_METHODS))
    if pending:
        print(
            f"experiment '{EXPERIMENT}': runs of {', '.join(pending)} are planned but "
            "not built yet (their implementation is pending); `snakemake -n grid` lists them.",
            file=sys.stderr,
        )


def encode_inputs(wildcards):
    """Item texts, plus the cached model folder for models that need caching."""
    inputs = {"item_table": f"results/data/{wildcards.dataset}/items.tsv"}
    if config["models"][wildcards.model]["spec"]["source"] in ("package_gguf", "hub"):
        inputs["model"] = f"results/models/{wildcards.model}"
    return inputs


TF_LLMER_METHODS = ("TF-LLMER", "TF-LLMER-wo-norm", "TF-LLMER-wo-RecPCA", "TF-LLMER-wo-both")
PCA_ONLY_METHODS = ("TF-LLMER-wo-RecPCA", "TF-LLMER-wo-both")


def tf_llmer_vectors(wildcards):
    """The Rec-PCA (or PCA) output a TF-LLMER variant starts from."""
    params = {**config["tf_llmer"], **method_overrides(wildcards.method)}
    alpha, k = params["alpha"], params["K"]
    if base_method(wildcards.method) in PCA_ONLY_METHODS or alpha == 0:
        alpha, k = 0, 0  # vanilla PCA builds no graph
    d = config["training"]["hidden_size"]
    model = EXP["llm"]
    return f"results/recpca/{wildcards.dataset}/{model}/d{d}_alpha{alpha}_K{k}.npy"


def method_inputs(wildcards):
    """Extra inputs a method needs from earlier stages (item vectors, ...)."""
    method = base_method(wildcards.method)
    if method in TF_LLMER_METHODS:
        return {"item_vectors": tf_llmer_vectors(wildcards)}
    return {}


def method_settings(method):
    """The config section a method reads its own keys from (RandInit has none)."""
    if method in TF_LLMER_METHODS:
        return {**config["tf_llmer"], "llm": EXP["llm"]}
    return {}


def run_settings(wildcards):
    """Everything that defines one run: training, backbone and method settings, seed."""
    method = base_method(wildcards.method)
    return {
        **config["training"],
        **config["backbones"][wildcards.backbone],
        **method_settings(method),
        **method_overrides(wildcards.method),
        "diagnostics": config["diagnostics"],
        "backbone": wildcards.backbone,
        "method": method,
        "method_id": wildcards.method,
        "dataset": wildcards.dataset,
        "seed": int(wildcards.seed),
    }


def eval_inputs(wildcards):
    """The saved sampled negatives, when the sampled protocol is configured."""
    if config["training"]["eval_protocol"] != "sampled":
        return {}
    n = config["training"]["sampled_negatives"]
    return {"negatives": f"results/data/{wildcards.dataset}/negatives{n}.npy"}
