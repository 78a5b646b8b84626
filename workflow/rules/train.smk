# Training and evaluation: one job per grid cell (dataset x backbone x method x seed).


rule train:
    """Train one backbone with one method's item table; evaluate the best epoch."""
    input:
        unpack(run_inputs),
        interactions="results/data/{dataset}/interactions.tsv",
        item_table="results/data/{dataset}/items.tsv",
        summary="results/data/{dataset}/summary.json",
    output:
        metrics="results/runs/{dataset}/{backbone}/{method}/seed{seed}/metrics.json",
        history="results/runs/{dataset}/{backbone}/{method}/seed{seed}/history.csv",
        settings="results/runs/{dataset}/{backbone}/{method}/seed{seed}/settings.json",
        initial_norms="results/runs/{dataset}/{backbone}/{method}/seed{seed}/initial_item_norms.npy",
        test_ranks="results/runs/{dataset}/{backbone}/{method}/seed{seed}/test_ranks.npy",
        item_vectors="results/runs/{dataset}/{backbone}/{method}/seed{seed}/item_vectors.npy",
    log:
        "logs/train/{dataset}/{backbone}/{method}/seed{seed}.log",
    benchmark:
        "benchmarks/train/{dataset}/{backbone}/{method}/seed{seed}.tsv"
    conda:
        "../../envs/llmrec.yaml"
    # one thread per run: the embedded models are too small to gain from a second one,
    # and two runs side by side use a 2-core laptop fully (raise with --set-threads)
    threads: 1
    resources:
        gpu=1,
        mem_mb=lambda wc, attempt: 16000 * attempt,
        runtime=wall_time(240),
    params:
        settings=run_settings,
        # Resumable training state lives outside the declared outputs, which
        # Snakemake deletes when a job fails.
        state_dir=lambda wc: "results/state/{dataset}/{backbone}/{method}/seed{seed}".format(**wc),
    script:
        "../scripts/train.py"
