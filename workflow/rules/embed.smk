# Item representations: each dataset's item texts -> one vector per item, per model.


rule fetch_model:
    """Download a hub model into the hub cache. Needs the internet (and a token for a
    gated model), so it runs where snakemake runs (the login node), never on a node."""
    output:
        record=f"{HUB_CACHE}/llmrec-fetched/{{model}}.json",
    log:
        "logs/fetch_model/{model}.log",
    localrule: True
    conda:
        "../../envs/llmrec.yaml"
    params:
        spec=lambda wc: config["models"][wc.model]["spec"],
        hub_cache=lambda wc, output: Path(output.record).parent.parent,
    script:
        "../scripts/fetch_model.py"


rule cache_model:
    """Load a model once (dequantizing a GGUF file, or reading a fetched hub model
    offline) into a plain folder."""
    input:
        unpack(fetched_model),
    output:
        model_dir=directory("results/models/{model}"),
    log:
        "logs/cache_model/{model}.log",
    # the LLM2Rec chain (TF-LLMER's X) starts here; one thread, so that it never waits
    # for a second free core while one-thread jobs keep taking it
    priority: 10
    conda:
        "../../envs/llmrec.yaml"
    threads: 1
    resources:
        mem_mb=16000,
        runtime=wall_time(60),
    params:
        spec=lambda wc: config["models"][wc.model]["spec"],
        hub_cache=HUB_CACHE,
    script:
        "../scripts/cache_model.py"


rule encode_items:
    """Item texts (in item-id order) -> X, float32 (items x hidden size), checked."""
    input:
        unpack(encode_inputs),
    output:
        vectors="results/reps/{dataset}/{model}.npy",
        info="results/reps/{dataset}/{model}.json",
    log:
        "logs/encode_items/{dataset}/{model}.log",
    benchmark:
        "benchmarks/encode_items/{dataset}/{model}.tsv"
    conda:
        "../../envs/llmrec.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=16000,
        runtime=wall_time(120),
    params:
        spec=lambda wc: config["models"][wc.model]["spec"],
        settings=config["encode"],
    script:
        "../scripts/encode_items.py"
