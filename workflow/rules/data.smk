# Data: one import chain per source into the raw format, then one preprocessing rule
# into the processed format (results/data/{dataset}/), then the statistics table.


rule import_recbole_package:
    """MovieLens-100k (or another example) from the files inside the recbole wheel."""
    output:
        interactions="results/raw/recbole_package/{dataset}/interactions.tsv",
        item_table="results/raw/recbole_package/{dataset}/items.tsv",
        problems="results/raw/recbole_package/{dataset}/problems.json",
    log:
        "logs/import_recbole_package/{dataset}.log",
    conda:
        "../../envs/llmrec.yaml"
    params:
        entry=lambda wc: config["datasets"][wc.dataset],
    script:
        "../scripts/import_raw.py"


rule import_atomic:
    """Any RecBole atomic dataset (<name>.inter, optional <name>.item) from a folder."""
    input:
        unpack(atomic_files),
    output:
        interactions="results/raw/atomic/{dataset}/interactions.tsv",
        item_table="results/raw/atomic/{dataset}/items.tsv",
        problems="results/raw/atomic/{dataset}/problems.json",
    log:
        "logs/import_atomic/{dataset}.log",
    conda:
        "../../envs/llmrec.yaml"
    params:
        entry=lambda wc: config["datasets"][wc.dataset],
    script:
        "../scripts/import_raw.py"


rule download_amazon:
    """One Amazon Review Data (2018) file; resumable, checked before it is kept."""
    output:
        "resources/amazon2018/{dataset}/{kind}.json.gz",
    log:
        "logs/download_amazon/{dataset}.{kind}.log",
    # needs the internet: runs where snakemake runs (the login node), never on a node
    localrule: True
    # no rule-level retries: the download retries network errors itself, and a size
    # or checksum mismatch is deterministic
    conda:
        "../../envs/llmrec.yaml"
    resources:
        runtime=wall_time(120),
    params:
        url=amazon_url,
        pins=amazon_pins,
    script:
        "../scripts/download.py"


rule import_amazon:
    """Amazon 5-core reviews (reviewer, item, unix time) + metadata (title, brand, ...)."""
    input:
        reviews="resources/amazon2018/{dataset}/reviews.json.gz",
        meta="resources/amazon2018/{dataset}/meta.json.gz",
    output:
        interactions="results/raw/amazon2018/{dataset}/interactions.tsv",
        item_table="results/raw/amazon2018/{dataset}/items.tsv",
        problems="results/raw/amazon2018/{dataset}/problems.json",
    log:
        "logs/import_amazon/{dataset}.log",
    conda:
        "../../envs/llmrec.yaml"
    resources:
        mem_mb=16000,
        runtime=wall_time(60),
    params:
        entry=lambda wc: config["datasets"][wc.dataset],
    script:
        "../scripts/import_raw.py"


rule import_yelp:
    """Yelp reviews + businesses, from the manually downloaded files: the Yelp Open
    Dataset (source yelp) or the RecSys-2013 Kaggle release (source yelp2013).

    The files are not declared as inputs so that planning (snakemake -n) works before
    they are in place; the job itself says where to get them if they are missing, and
    a changed path in the config reruns it.
    """
    output:
        interactions="results/raw/{yelp_source}/{dataset}/interactions.tsv",
        item_table="results/raw/{yelp_source}/{dataset}/items.tsv",
        problems="results/raw/{yelp_source}/{dataset}/problems.json",
    log:
        "logs/import_{yelp_source}/{dataset}.log",
    wildcard_constraints:
        yelp_source="yelp|yelp2013",
    conda:
        "../../envs/llmrec.yaml"
    resources:
        mem_mb=32000,
        runtime=wall_time(120),
    params:
        entry=lambda wc: config["datasets"][wc.dataset],
    script:
        "../scripts/import_raw.py"


rule preprocess:
    """Date window, item texts, chronological order, duplicates, k-core, contiguous ids."""
    input:
        unpack(raw_files),
    output:
        interactions="results/data/{dataset}/interactions.tsv",
        item_table="results/data/{dataset}/items.tsv",
        users="results/data/{dataset}/users.tsv",
        summary="results/data/{dataset}/summary.json",
    log:
        "logs/preprocess/{dataset}.log",
    conda:
        "../../envs/llmrec.yaml"
    resources:
        mem_mb=16000,
    params:
        settings=lambda wc: dataset_preprocess(config, wc.dataset),
    script:
        "../scripts/preprocess.py"


rule dataset_stats:
    """Users, items, interactions, average length and sparsity of every dataset."""
    input:
        summaries=processed_summaries,
    output:
        csv=report(
            "results/tables/dataset_stats.csv",
            caption="../report/dataset_stats.rst",
            category="Tables",
        ),
        md="results/tables/dataset_stats.md",
        tex="results/tables/dataset_stats.tex",
    log:
        "logs/dataset_stats.log",
    conda:
        "../../envs/llmrec.yaml"
    script:
        "../scripts/dataset_stats.py"


rule draw_negatives:
    """Sampled protocol: n negatives per user, drawn once (seeded) and shared by all runs."""
    input:
        interactions="results/data/{dataset}/interactions.tsv",
        item_table="results/data/{dataset}/items.tsv",
        summary="results/data/{dataset}/summary.json",
    output:
        "results/data/{dataset}/negatives{n}.npy",
    log:
        "logs/draw_negatives/{dataset}.{n}.log",
    conda:
        "../../envs/llmrec.yaml"
    params:
        seed=config["training"]["negatives_seed"],
    script:
        "../scripts/draw_negatives.py"
