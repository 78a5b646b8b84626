# What some methods need besides item vectors: similar users (from user texts), and
# random features (a control). Their settings: what the plan gives each output.


rule similar_users:
    """Each user's training-history text -> vector -> most similar users."""
    input:
        unpack(encode_inputs),
        interactions="results/data/{dataset}/interactions.tsv",
        summary="results/data/{dataset}/summary.json",
    output:
        similar="results/llm_esr/{dataset}/{model}/similar_users.npy",
        info="results/llm_esr/{dataset}/{model}/similar_users.json",
    log:
        "logs/similar_users/{dataset}/{model}.log",
    benchmark:
        "benchmarks/similar_users/{dataset}/{model}.tsv"
    conda:
        "../../envs/llmrec.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=16000,
        runtime=wall_time(120),
    params:
        spec=lambda wc: config["models"][wc.model]["spec"],
        settings=job_settings("similar_users"),
        encode=config["encode"],
    script:
        "../scripts/similar_users.py"


rule random_features:
    """Gaussian vectors with the shape and norms of an item representation."""
    input:
        vectors="results/reps/{dataset}/{reps}.npy",
    output:
        vectors="results/reps/{dataset}/random-{reps}.npy",
        info="results/reps/{dataset}/random-{reps}.json",
    log:
        "logs/random_features/{dataset}/{reps}.log",
    conda:
        "../../envs/llmrec.yaml"
    resources:
        mem_mb=8000,
        runtime=wall_time(30),
    params:
        seed=job_settings("random_features", "seed"),
    script:
        "../scripts/random_features.py"
