# Configuration validation, grid construction, wildcard constraints and input
# functions. No rules here; keep it cheap (it is re-parsed by every cluster job).
#
# Threads: every rule asks for one thread. On a 2-core laptop a job that wants two
# would wait until no one-thread run is ready (Snakemake reserves no cores), and the
# LLM2Rec chain that TF-LLMER's runs need would start last. Raise them with
# --set-threads (e.g. on a CPU node).
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "lib"))
from snakemake.exceptions import WorkflowError

from llmrec.config import ConfigError, dataset_preprocess, finetune_section, validate

try:
    validate(config, Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml")
except ConfigError as err:
    raise WorkflowError(str(err)) from None

# ---- cluster: wall times and what needs the internet (README, "Running on SLURM")
HUB_CACHE = config["hub_cache"]


def wall_time(minutes):
    """A rule's `runtime`: `minutes`, doubled on a retry (a time limit is what a retry
    fixes), never above `max_runtime` (the cluster's longest; profiles/slurm/experiment.yaml)."""
    return lambda wildcards, attempt: min(minutes * attempt, config["max_runtime"])


def fetched_model(wildcards):
    """What cache_model reads for a hub model: the record of its download (fetch_model)."""
    if config["models"][wildcards.model]["spec"]["source"] != "hub":
        return {}
    return {"fetched": f"{HUB_CACHE}/llmrec-fetched/{wildcards.model}.json"}


def fetch_targets():
    """Everything the experiment needs from outside (the `fetch` target, for the login node):
    the Amazon downloads, every hub model it names, the hand-downloaded Yelp files."""
    targets = []
    models = {
        EXP["llm"],
        EXP["sentence_encoder"],
        *(FINETUNE_SETTINGS[m]["model"] for m in FINETUNE_SETTINGS),
    }
    for model in sorted(models):
        if config["models"][model]["spec"]["source"] == "hub":
            targets.append(f"{HUB_CACHE}/llmrec-fetched/{model}.json")
    for dataset in DATASETS:
        entry = config["datasets"][dataset]
        if entry["source"] == "amazon2018":
            targets += [
                f"resources/amazon2018/{dataset}/{kind}.json.gz" for kind in ("reviews", "meta")
            ]
        elif entry["source"] in ("yelp", "yelp2013"):
            targets += [f"{entry['dir']}/{entry[key]}" for key in ("review_file", "business_file")]
    return targets


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
PENDING_METHODS = {}

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


# A number as Python writes it into a file name: 0.5, 1.0, 1e-05 (a sweep value given as
# 1.0e-5 in config.yaml is the float 1e-05).
NUMBER = r"[0-9.]+(e[+-][0-9]+)?"


def _alternatives(names):
    return "|".join(re.escape(n) for n in names)


wildcard_constraints:
    dataset=_alternatives(config["datasets"]),
    backbone=_alternatives(["GRU4Rec", "SASRec", "BERT4Rec"]),
    method=f"({_alternatives(ALL_METHODS)})(~(alpha|K)={NUMBER})?",
    seed=r"\d+",
    kind="reviews|meta",
    model=_alternatives(config["models"]),
    reps=f"(random-)?((llm2rec|llmemb)-)?({_alternatives(config['models'])})",
    alpha=NUMBER,
    K=r"\d+",
    d=r"\d+",
    form="|_trace_normalized",  # Rec-PCA formulation suffix: empty for raw


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
    print(
        f"experiment '{EXPERIMENT}': datasets {DATASETS}, backbones {BACKBONES}, "
        f"{len(METHODS)} methods, seeds {SEEDS}",
        file=sys.stderr,
    )
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


def tf_llmer_source():
    """The item representation (results/reps name) TF-LLMER reduces: X."""
    if config["tf_llmer"]["source"] == "llm2rec":
        return f"llm2rec-{finetuned_model('llm2rec')}"
    return EXP["llm"]


def recpca_vectors(dataset, reps, method_id, pca_only=False):
    """The Rec-PCA (or PCA) output of representation ``reps`` with TF-LLMER's settings
    (and a sweep point's override). A formulation other than `raw` adds a suffix
    (`_trace_normalized`), so the default's paths stay as they were and a changed form
    reruns; PCA (alpha 0) is the same in every form and has none."""
    params = {**config["tf_llmer"], **method_overrides(method_id)}
    alpha, k = params["alpha"], params["K"]
    form = params.get("recpca_form", "raw")
    if pca_only or alpha == 0:
        alpha, k, form = 0, 0, "raw"  # vanilla PCA builds no graph
    d = config["training"]["hidden_size"]
    suffix = "" if form == "raw" else f"_{form}"
    return f"results/recpca/{dataset}/{reps}/d{d}_alpha{alpha}_K{k}{suffix}.npy"


def tf_llmer_vectors(wildcards):
    """The Rec-PCA (or PCA) output a TF-LLMER variant starts from."""
    pca_only = base_method(wildcards.method) in PCA_ONLY_METHODS
    return recpca_vectors(wildcards.dataset, tf_llmer_source(), wildcards.method, pca_only)


# The config section of each method's own settings.
METHOD_SECTIONS = {
    **{m: "tf_llmer" for m in TF_LLMER_METHODS},
    "LLMInit": "llminit",
    "LLM-ESR": "llm_esr",
    "AlphaFuse": "alphafuse",
    "WhitenRec": "whitenrec",
    "RandomFeat": "random_feat",
    "LLM2Rec": "llm2rec",
    "LLMEmb": "llmemb",
}

# What the original embedded item texts with, for the substitution notes of the tables.
ORIGINAL_TEXT_ENCODER = {
    "LLMInit": "an unnamed 768-d LLM embedding column (its data code also loads all-MiniLM-L6-v2)",
    "LLM2Rec": "Qwen2-0.5B",
    "LLMEmb": "LLaMA-7B",
    "LLM-ESR": "OpenAI text-embedding-ada-002 (a paid service)",
    "AlphaFuse": "OpenAI text-embedding-3-small/large (a paid service)",
    "WhitenRec": "BERT [CLS] vectors",
}


def finetuned_model(section):
    """The model LLM2Rec or LLMEmb fine-tunes (section: llm2rec | llmemb), with the
    experiment's override."""
    return {**config[section], **EXP.get(section, {})}["model"]


def text_model(method):
    """The experiment's model that embeds item texts for a baseline."""
    section = METHOD_SECTIONS[method]
    if section in ("llm2rec", "llmemb"):
        return finetuned_model(section)
    return EXP[config[section]["text_encoder"]]


def item_reps(dataset, reps):
    return f"results/reps/{dataset}/{reps}.npy"


def method_inputs(wildcards):
    """Extra inputs a method needs from earlier stages (item vectors, ...)."""
    method, ds = base_method(wildcards.method), wildcards.dataset
    if method in TF_LLMER_METHODS:
        return {"item_vectors": tf_llmer_vectors(wildcards)}
    if method in ("LLMInit", "AlphaFuse", "WhitenRec"):
        return {"item_vectors": item_reps(ds, text_model(method))}
    if method == "LLM-ESR":
        model = text_model(method)
        return {
            "item_vectors": item_reps(ds, model),
            "similar_users": f"results/llm_esr/{ds}/{model}/similar_users.npy",
        }
    if method == "LLM2Rec":
        return {"item_vectors": item_reps(ds, f"llm2rec-{text_model(method)}")}
    if method == "LLMEmb":
        pretrained = config["llmemb"]["rat"]["pretrained_backbone"]
        return {
            "item_vectors": item_reps(ds, f"llmemb-{text_model(method)}"),
            # RAT aligns to the item table of a plain backbone trained first
            "pretrained_item_vectors": f"{RUNS_ROOT}/{ds}/{pretrained}/RandInit/seed{wildcards.seed}/item_vectors.npy",
        }
    if method == "RandomFeat":
        random_reps = f"random-{tf_llmer_source()}"
        if config["random_feat"]["feature_path"] == "tf_llmer":
            return {"item_vectors": recpca_vectors(ds, random_reps, wildcards.method)}
        return {"item_vectors": item_reps(ds, random_reps)}
    return {}


def section_run_keys(section):
    """The keys of a method's config section that its runs read. The llm2rec/llmemb
    sections configure the fine-tuning rules: runs read only LLMEmb's `rat` keys."""
    if section == "llm2rec":
        return {}
    if section == "llmemb":
        return dict(config["llmemb"]["rat"])
    return dict(config[section])


def method_settings(method):
    """The config section a method reads its own keys from (RandInit has none), plus
    which model embedded its texts and, where that replaces the original's encoder, a
    note saying so."""
    if method not in METHOD_SECTIONS:
        return {}
    section = METHOD_SECTIONS[method]
    settings = section_run_keys(section)
    if section in ("tf_llmer", "random_feat"):
        settings["llm"] = tf_llmer_source()
        if section == "random_feat":  # through TF-LLMER's path: it reads those keys too
            settings.update({k: v for k, v in config["tf_llmer"].items() if k not in settings})
    else:
        model = text_model(method)
        settings["text_model"] = model
        if method in ORIGINAL_TEXT_ENCODER:
            settings["substitutions"] = {
                "text_encoder": f"{model} instead of {ORIGINAL_TEXT_ENCODER[method]}"
            }
    return settings


def run_settings(wildcards):
    """Everything that defines one run: training, backbone and method settings, seed."""
    method = base_method(wildcards.method)
    return {
        **config["training"],
        **EXP.get("training", {}),
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


# ---- report outputs
# Tables (results/tables/) and figures (results/figures/) of the paper, built by
# workflow/rules/report.smk from the per-run result folders.
#
# Partial mode. Snakemake has no optional inputs: a report rule lists the run files it
# reads, so a missing run is built first (or, under --keep-going after a failure, the
# table is never made). With `--config partial=true` the input functions below list only
# the run files that exist, so the outputs are built from what finished. In both modes
# the builders get every *planned* cell in `params.cells` and mark the cells whose files
# are missing ("—" and a footnote in tables, a note in and under figures). Runs of
# methods still in PENDING_METHODS are never inputs: they are reported as missing.
from types import SimpleNamespace

PARTIAL = config.get("partial", False) in (True, "true")
REPORT = {
    "alpha": 0.05,
    "user_test": "wilcoxon",
    "confidence": 0.95,
    "dpi": 200,
    "claims_last_epochs": 3,
    "recpca_alphas": [0, 0.25, 0.5, 1, 2, 5],
    **config.get("report", {}),
}
RUNS_ROOT = "results/runs"
TARGET_METHOD = "TF-LLMER"
ABLATION_METHODS = [
    m
    for m in ("RandInit", "TF-LLMER-wo-both", "TF-LLMER-wo-RecPCA", "TF-LLMER-wo-norm", "TF-LLMER")
    if m in METHODS
]
ABLATION_BAR_METHODS = [m for m in ABLATION_METHODS if m != "RandInit"]  # Figs. 8 and 12
MAIN_METHODS = [m for m in METHODS if m not in TF_LLMER_METHODS[1:]]
BASELINES = [m for m in MAIN_METHODS if m != TARGET_METHOD]
LLM_BASELINES = ["LLMInit", "LLM-ESR", "LLMEmb", "LLM2Rec", "AlphaFuse", "WhitenRec"]
# The methods the claims table compares (workflow/lib/llmrec/report/claims.py).
CLAIM_METHODS = [
    m for m in ("RandInit", *LLM_BASELINES, *TF_LLMER_METHODS, "RandomFeat") if m in METHODS
]
PCA_LABELS = {
    "TF-LLMER-wo-norm": "Rec-PCA (w/o norm)",
    "TF-LLMER-wo-both": "vanilla PCA (w/o norm)",
}

# Training-curve figures: which runs each draws and which history.csv column.
CURVE_FIGURES = {
    name: spec
    for name, spec in {
        "training_loss": {  # paper Figs. 1 and 9
            "methods": [m for m in ["RandInit", *LLM_BASELINES] if m in METHODS],
            "column": "train_loss",
        },
        "loss_normalization": {  # Fig. 5
            "methods": [m for m in ("TF-LLMER-wo-norm", "TF-LLMER") if m in METHODS],
            "column": "train_loss",
            "labels": {"TF-LLMER-wo-norm": "w/o norm", "TF-LLMER": "with norm (TF-LLMER)"},
        },
        "loss_ablation": {"methods": ABLATION_METHODS, "column": "train_loss"},  # Fig. 11
        "rho_pca": {  # Figs. 6 and 10
            "methods": [m for m in ("RandInit", *PCA_LABELS) if m in METHODS],
            "column": "rho",
            "labels": PCA_LABELS,
            "log_y": True,
        },
        "loss_pca": {  # Fig. 7
            "methods": [m for m in ("RandInit", *PCA_LABELS) if m in METHODS],
            "column": "train_loss",
            "labels": PCA_LABELS,
        },
    }.items()
    if spec["methods"]
}


def planned_cells(methods, seeds=None):
    """Every planned cell of `methods`: dataset x backbone x method x seed, in order."""
    return [
        {"dataset": d, "backbone": b, "method": m, "seed": s}
        for d in DATASETS
        for b in BACKBONES
        for m in methods
        for s in seeds or SEEDS
    ]


def run_files(methods, filename, seeds=None):
    """`filename` of the planned runs of `methods` that a report job waits for: all of
    them, or (partial mode) those that exist; never those of pending methods."""
    paths = [
        f"{RUNS_ROOT}/{c['dataset']}/{c['backbone']}/{c['method']}/seed{c['seed']}/{filename}"
        for c in planned_cells(methods, seeds)
        if base_method(c["method"]) not in PENDING_METHODS
    ]
    return [p for p in paths if Path(p).exists()] if PARTIAL else paths


def sweep_points(param):
    """{value: method id} of a TF-LLMER sweep; the default value is the main run."""
    default = config["tf_llmer"][param]
    values = sorted({*SWEEPS.get(param, []), default})
    return {v: SWEPT_METHOD if v == default else f"{SWEPT_METHOD}~{param}={v}" for v in values}


SWEEP_PARAMS = [p for p in ("alpha", "K") if SWEEPS.get(p) and SWEPT_METHOD in METHODS]


def reps_benchmarks(reps):
    """{stage: [benchmark patterns]} of what makes the item representation `reps`."""
    if reps.startswith("random-"):  # drawn in no time from the representation it mimics
        return reps_benchmarks(reps[len("random-") :])
    for family, stages in (("llm2rec", ("csft", "mntp", "simcse")), ("llmemb", ("scft",))):
        if reps.startswith(f"{family}-"):
            model = reps[len(family) + 1 :]
            folder = f"benchmarks/{family}/{{dataset}}/{model}"
            return {
                "llm_finetune": [f"{folder}-{stage}.tsv" for stage in stages],
                "embedding": [f"{folder}-encode.tsv"],
            }
    return {"embedding": [f"benchmarks/encode_items/{{dataset}}/{reps}.tsv"]}


def cost_benchmarks(method):
    """{stage: [benchmark file patterns]} of a method's pipeline, for the cost table.

    {dataset}, {backbone}, {method} and {seed} are filled in per run. A pattern with no
    file marks the stage missing. Keep in step with the rules' `benchmark:` paths.
    """
    stages = {"training": ["benchmarks/train/{dataset}/{backbone}/{method}/seed{seed}.tsv"]}
    base = base_method(method)
    vectors = method_inputs(SimpleNamespace(dataset="{dataset}", method=method, seed="{seed}"))
    vectors = vectors.get("item_vectors", "")
    if vectors.startswith("results/recpca/"):  # TF-LLMER's family: X, then Rec-PCA
        stages.update(reps_benchmarks(tf_llmer_source()))
        stages["rec_pca"] = [
            vectors.replace("results/recpca/", "benchmarks/rec_pca/", 1)[: -len(".npy")] + ".tsv"
        ]
    elif vectors:
        stages.update(reps_benchmarks(Path(vectors).stem))
    if base == "LLM-ESR":  # plus its similar-user retrieval
        stages["embedding"].append(f"benchmarks/similar_users/{{dataset}}/{text_model(base)}.tsv")
    return stages


# Every run of the grid (methods and sweep points): the rows of results/tables/runs.csv.
RUN_METHODS = METHODS + sweep_method_ids()
RUNS_TABLE = "results/tables/runs.csv"


def paper_outputs():
    """Every table and figure of the paper that the experiment can produce, and the
    table of every run."""
    tables = ["main_results", "ablation", "significance", "cost", "claims"]
    figures = [*CURVE_FIGURES, "item_norms"] + (["ablation_ndcg10"] if ABLATION_BAR_METHODS else [])
    figures += [f"sweep_{p}" for p in SWEEP_PARAMS]
    # Rec-PCA against alpha, per dataset; in partial mode only where X exists (no
    # embedding or fine-tuning job is started for it)
    alpha_datasets = [
        d
        for d in DATASETS
        if any(m in METHODS for m in TF_LLMER_METHODS)
        and (not PARTIAL or Path(f"results/reps/{d}/{tf_llmer_source()}.npy").exists())
    ]
    figures += [f"recpca_alpha_{d}" for d in alpha_datasets]
    tables_csv = [f"results/tables/recpca_alpha_{d}.csv" for d in alpha_datasets]
    return (
        tables_csv
        + expand("results/tables/{table}.{ext}", table=tables, ext=["csv", "md", "tex"])
        + [RUNS_TABLE]
        + expand("results/figures/{figure}.{ext}", figure=figures, ext=["pdf", "png"])
    )


# LLM2Rec and LLMEmb fine-tuning (rules/llm_finetune.smk). Their settings: the config
# section (the originals' values) with the experiment's overrides merged in
# (experiments.<name>.llm2rec / .llmemb: the model and, embedded, CPU-sized steps).
def deep_merged(base, override):
    merged = dict(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merged(merged[key], value)
        else:
            merged[key] = value
    return merged


FINETUNE_SETTINGS = {
    method: deep_merged(finetune_section(config, method), EXP.get(method))
    for method in ("llm2rec", "llmemb")
}


def tf_llmer_input_note():
    """What X is: LLM2Rec's vectors after how many CSFT examples (for the claims table)."""
    if config["tf_llmer"]["source"] != "llm2rec":
        return f"X (TF-LLMER's input vectors): the {EXP['llm']} model's item vectors."
    csft = FINETUNE_SETTINGS["llm2rec"]["csft"]
    seen = csft["steps"] * csft["batch_size"]
    return (
        f"X (TF-LLMER's input vectors): LLM2Rec's item vectors from "
        f"{FINETUNE_SETTINGS['llm2rec']['model']} after {csft['steps']} CSFT steps of "
        f"{csft['batch_size']} examples ({seen} training examples seen); with few steps "
        "they stay close to the base model's."
    )


def finetuned_reps(method, dataset):
    """Item vectors of LLM2Rec or LLMEmb (method: llm2rec | llmemb) for a dataset."""
    return item_reps(dataset, f"{method}-{FINETUNE_SETTINGS[method]['model']}")


def model_spec(wildcards):
    return config["models"][wildcards.model]["spec"]


def processed_files(wildcards):
    folder = f"results/data/{wildcards.dataset}"
    return {
        "interactions": f"{folder}/interactions.tsv",
        "item_table": f"{folder}/items.tsv",
        "summary": f"{folder}/summary.json",
    }


def finetune_inputs(wildcards):
    """The processed dataset, plus the cached model folder for models that need caching."""
    inputs = processed_files(wildcards)
    if model_spec(wildcards)["source"] in ("package_gguf", "hub"):
        inputs["model"] = f"results/models/{wildcards.model}"
    return inputs
