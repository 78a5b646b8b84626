# LLM2Rec and LLMEmb: fine-tuning the language model, then item vectors.
#   LLM2Rec: cached model -> csft -> mntp -> simcse -> results/reps/{dataset}/llm2rec-{model}.npy
#   LLMEmb:  cached model -> scft (LoRA weights) -> results/reps/{dataset}/llmemb-{model}.npy
# Each stage checkpoints to results/state/... (outside its outputs), so a killed job
# resumes from its last saved step. Settings: FINETUNE_SETTINGS (common.smk).


rule llm2rec_csft:
    """LLM2Rec stage 1: history titles -> next title (causal LM, training part only)."""
    input:
        unpack(finetune_inputs),
    output:
        model_dir=directory("results/llm2rec/{dataset}/{model}/csft"),
    log:
        "logs/llm2rec/{dataset}/{model}/csft.log",
    benchmark:
        "benchmarks/llm2rec/{dataset}/{model}-csft.tsv"
    # the Rec-PCA methods' X: most runs wait for this chain, so it goes first
    priority: 10
    conda:
        "../../envs/llmrec.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=lambda wc, attempt: 32000 * attempt,
        # 10,000 steps of Qwen2-0.5B in micro-batches of 4: <= 13.7 h on an H200 (README)
        runtime=wall_time(900),
    params:
        stage="csft",
        spec=model_spec,
        settings=FINETUNE_SETTINGS["llm2rec"],
        state_dir="results/state/llm2rec/{dataset}/{model}/csft",
    script:
        "../scripts/llm2rec_finetune.py"


rule llm2rec_mntp:
    """LLM2Rec stage 2: masked next-token prediction on titles, bidirectional attention."""
    input:
        unpack(processed_files),
        model="results/llm2rec/{dataset}/{model}/csft",
    output:
        model_dir=directory("results/llm2rec/{dataset}/{model}/mntp"),
    log:
        "logs/llm2rec/{dataset}/{model}/mntp.log",
    benchmark:
        "benchmarks/llm2rec/{dataset}/{model}-mntp.tsv"
    # the Rec-PCA methods' X: most runs wait for this chain, so it goes first
    priority: 10
    conda:
        "../../envs/llmrec.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=lambda wc, attempt: 32000 * attempt,
        runtime=wall_time(180),
    params:
        stage="mntp",
        spec=model_spec,
        settings=FINETUNE_SETTINGS["llm2rec"],
        state_dir="results/state/llm2rec/{dataset}/{model}/mntp",
    script:
        "../scripts/llm2rec_finetune.py"


rule llm2rec_simcse:
    """LLM2Rec stage 3: unsupervised SimCSE on titles (dropout views, in-batch negatives)."""
    input:
        unpack(processed_files),
        model="results/llm2rec/{dataset}/{model}/mntp",
    output:
        model_dir=directory("results/llm2rec/{dataset}/{model}/simcse"),
    log:
        "logs/llm2rec/{dataset}/{model}/simcse.log",
    benchmark:
        "benchmarks/llm2rec/{dataset}/{model}-simcse.tsv"
    # the Rec-PCA methods' X: most runs wait for this chain, so it goes first
    priority: 10
    conda:
        "../../envs/llmrec.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=lambda wc, attempt: 32000 * attempt,
        runtime=wall_time(180),
    params:
        stage="simcse",
        spec=model_spec,
        settings=FINETUNE_SETTINGS["llm2rec"],
        state_dir="results/state/llm2rec/{dataset}/{model}/simcse",
    script:
        "../scripts/llm2rec_finetune.py"


rule llm2rec_encode:
    """LLM2Rec item vectors: bidirectional mean pooling of each title, float32, checked."""
    input:
        unpack(processed_files),
        model="results/llm2rec/{dataset}/{model}/simcse",
    output:
        vectors="results/reps/{dataset}/llm2rec-{model}.npy",
        info="results/reps/{dataset}/llm2rec-{model}.json",
    log:
        "logs/llm2rec/{dataset}/{model}/encode.log",
    benchmark:
        "benchmarks/llm2rec/{dataset}/{model}-encode.tsv"
    # the Rec-PCA methods' X: most runs wait for this chain, so it goes first
    priority: 10
    conda:
        "../../envs/llmrec.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=lambda wc, attempt: 16000 * attempt,
        runtime=wall_time(60),
    params:
        settings=FINETUNE_SETTINGS["llm2rec"],
    script:
        "../scripts/llm2rec_encode.py"


rule llmemb_scft:
    """LLMEmb SCFT: LoRA + contrastive loss on attribute-dropout views of item prompts."""
    input:
        unpack(finetune_inputs),
    output:
        lora_dir=directory("results/llmemb/{dataset}/{model}/scft"),
    log:
        "logs/llmemb/{dataset}/{model}/scft.log",
    benchmark:
        "benchmarks/llmemb/{dataset}/{model}-scft.tsv"
    conda:
        "../../envs/llmrec.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=lambda wc, attempt: 32000 * attempt,
        runtime=wall_time(360),
    params:
        spec=model_spec,
        settings=FINETUNE_SETTINGS["llmemb"],
        state_dir="results/state/llmemb/{dataset}/{model}/scft",
    script:
        "../scripts/llmemb_scft.py"


rule llmemb_encode:
    """LLMEmb item vectors: mean-pooled prompts of the LoRA-merged model, then PCA."""
    input:
        unpack(finetune_inputs),
        lora_dir="results/llmemb/{dataset}/{model}/scft",
    output:
        vectors="results/reps/{dataset}/llmemb-{model}.npy",
        info="results/reps/{dataset}/llmemb-{model}.json",
    log:
        "logs/llmemb/{dataset}/{model}/encode.log",
    benchmark:
        "benchmarks/llmemb/{dataset}/{model}-encode.tsv"
    conda:
        "../../envs/llmrec.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=lambda wc, attempt: 16000 * attempt,
        runtime=wall_time(60),
    params:
        spec=model_spec,
        settings=FINETUNE_SETTINGS["llmemb"],
    script:
        "../scripts/llmemb_encode.py"
