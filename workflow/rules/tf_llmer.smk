# Rec-PCA of item vectors over the training co-occurrence graph; alpha = 0 is vanilla
# PCA, which needs no graph (K0). {reps}: an item representation of results/reps (a
# model's, or random-<model>, ...); {variant}: the formulation's suffix (empty for raw),
# then any setting its name does not carry (~key=value, where a sweep changes it). The
# plan gives each output its settings (every key it reads, d, alpha and K included).


rule rec_pca:
    """X (items x D) -> Z (items x d): top-d eigenvectors of M (raw: X^T (I - alpha L) X;
    trace_normalized: each term over its trace)."""
    input:
        vectors="results/reps/{dataset}/{reps}.npy",
        interactions="results/data/{dataset}/interactions.tsv",
        item_table="results/data/{dataset}/items.tsv",
        summary="results/data/{dataset}/summary.json",
    output:
        vectors="results/recpca/{dataset}/{reps}/d{d}_alpha{alpha}_K{K}{variant}.npy",
        info="results/recpca/{dataset}/{reps}/d{d}_alpha{alpha}_K{K}{variant}.json",
    log:
        "logs/rec_pca/{dataset}/{reps}/d{d}_alpha{alpha}_K{K}{variant}.log",
    benchmark:
        "benchmarks/rec_pca/{dataset}/{reps}/d{d}_alpha{alpha}_K{K}{variant}.tsv"
    # the end of the LLM2Rec chain: the runs of TF-LLMER and RandomFeat wait for it
    priority: 10
    conda:
        "../../envs/llmrec.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 24000 * attempt,
        runtime=wall_time(60),
    params:
        settings=job_settings("rec_pca"),
    script:
        "../scripts/rec_pca.py"
