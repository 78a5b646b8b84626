"""Item texts -> vectors with pretrained language models (the "LLM embeddings" X).

- :mod:`.sources`: model specs (PyPI-packaged GGUF or folder, local folder, HF hub),
  loading, and caching a model as a plain safetensors folder (:func:`cache_model`).
- :mod:`.pooling`: mean and last-token pooling over the attended tokens.
- :mod:`.encode`: :func:`encode_texts` (texts -> float32 array) and :func:`encode_items`
  (processed ``items.tsv`` -> ``.npy`` + JSON record).

Importing this package imports torch; transformers is imported on first use.
"""

from llmrec.encoders.encode import (
    DEFAULT_SETTINGS,
    EmbeddingCheckError,
    check_vectors,
    encode_items,
    encode_settings,
    encode_texts,
    read_item_texts,
    texts_digest,
)
from llmrec.encoders.sources import (
    LoadedModel,
    ModelLocation,
    ModelNotAvailableError,
    ModelSpecError,

    cache_model,
    fetch_hub_model,
    load_model,
    resolve_model,
    serialisable_copy,
    validate_spec,
)

__all__ = [
    "DEFAULT_SETTINGS",
    "EmbeddingCheckError",
    "LoadedModel",
    "ModelLocation",
    "ModelNotAvailableError",
    "ModelSpecError",

    "cache_gguf_model",
    "cache_model",
    "fetch_hub_model",
    "check_vectors",
    "encode_items",
    "encode_settings",
    "encode_texts",
    "load_model",
    "read_item_texts",
    "resolve_model",
    "serialisable_copy",
    "texts_digest",
    "validate_spec",
]

# The GGUF case of cache_model (the name the workflow's caching rule was planned under).
cache_gguf_model = cache_model
