"""Fine-tuning the language model side of the LLM-based baselines.

- :mod:`.model`: loading a causal LM (or a tiny one for tests), causal or bidirectional
  attention, token batches, mean pooling, saving a model folder.
- :mod:`.lora`: a minimal LoRA (wrap, merge, save).
- :mod:`.loop`: the one resumable step loop (AdamW, warm-up + linear decay, clipping,
  accumulation, checkpoints) every stage runs.
- :mod:`.data`: sequences, item titles and attribute lists from a processed dataset.
- :mod:`.llm2rec`: LLM2Rec's CSFT -> MNTP -> SimCSE -> encode.
- :mod:`.llmemb`: LLMEmb's SCFT -> encode (+ PCA).

Importing a submodule imports torch; transformers is imported on first use.
"""
