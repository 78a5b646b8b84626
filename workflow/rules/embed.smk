# Item representations: each dataset's item texts -> one vector per item, per model.


rule cache_model:
    """Load a model once (dequantizing a GGUF file, or fetching a hub id) into a folder."""
    output:
        model_dir=directory("results/models/{model}"),
    log:
        "logs/cache_model/{model}.log",
    conda:
        "../../envs/llmrec.yaml"
    threads: 2
    resources:
        mem_mb=16000,
        runtime=60,
    params:
        spec=lambda wc: config["models"][wc.model]["spec"],
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
        runtime=lambda wc, attempt: 120 * attempt,
    params:
        spec=lambda wc: config["models"][wc.model]["spec"],
        settings=config["encode"],
    script:
        "../scripts/encode_items.py"
