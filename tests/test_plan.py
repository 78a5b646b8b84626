"""The experiment plan (llmrec.plan): which jobs exist, what each reads, which settings
each receives; generic sweeps; and a new baseline added by its module and config
section alone."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from helpers import SCHEMA_PATH, load_config, load_schema, make_plan
from llmrec import plan as plan_mod
from llmrec.config import ConfigError, validate
from llmrec.methods import registry
from llmrec.plan import PlanError
from llmrec.report.outputs import ReportPlan

EMBEDDED_IDS = [
    "RandInit", "LLMInit", "LLM-ESR", "LLMEmb", "LLM2Rec", "AlphaFuse", "WhitenRec", "RandomFeat",
    "TF-LLMER", "TF-LLMER-wo-norm", "TF-LLMER-wo-RecPCA", "TF-LLMER-wo-both",
    "TF-LLMER~alpha=0.0", "TF-LLMER~alpha=1.0", "TF-LLMER~K=5", "TF-LLMER~K=9",
]  # fmt: skip


def test_the_embedded_grid_and_its_sweep_ids():
    plan = make_plan()
    assert plan.method_ids == EMBEDDED_IDS
    # 1 dataset x 3 backbones x (12 methods + 4 sweep points) x 3 seeds
    assert len(plan.run_targets()) == 1 * 3 * len(EMBEDDED_IDS) * 3
    assert "results/runs/ml-100k/SASRec/TF-LLMER~alpha=0.0/seed0/metrics.json" in plan.run_targets()
    constraint = plan.wildcard_constraints()["method"]
    assert all(re.fullmatch(constraint, m) for m in plan.method_ids)


def test_a_run_receives_only_the_keys_it_reads():
    plan = make_plan()
    settings = plan.run("ml-100k", "SASRec", "TF-LLMER", 0).settings
    assert {"tau", "normalize_h", "freeze_item_emb", "lr", "n_heads", "seed"} <= set(settings)
    # Rec-PCA's keys, the negatives' keys and provenance never reach a run
    for key in ("alpha", "K", "source", "recpca_form", "sampled_negatives", "text_model", "llm", "substitutions"):
        assert key not in settings
    assert settings["epochs"] == 30  # the experiment's training override
    llmemb = plan.run("ml-100k", "GRU4Rec", "LLMEmb", 0)
    assert {k: llmemb.settings[k] for k in ("align_weight", "align_tau")} == {"align_weight": 0.01, "align_tau": 2.0}
    assert llmemb.inputs["pretrained_item_vectors"] == "results/runs/ml-100k/SASRec/RandInit/seed0/item_vectors.npy"
    assert "pretrained_backbone" not in llmemb.settings
    esr = plan.run("ml-100k", "SASRec", "LLM-ESR", 0)
    assert "user_domain" not in esr.settings and esr.settings["similar_users"] == 10
    assert plan.job_settings(esr.inputs["similar_users"])["user_domain"] == "items"
    assert plan.provenance("LLM-ESR")["substitutions"]["text_encoder"].startswith("minilm instead of OpenAI")


def test_upstream_jobs_get_their_own_keys_and_names():
    plan = make_plan()
    main = plan.run("ml-100k", "SASRec", "TF-LLMER", 0).inputs["item_vectors"]
    assert main == "results/recpca/ml-100k/llm2rec-smollm2/d64_alpha0.5_K1.npy"
    assert plan.job_settings(main) == {
        "d": 64, "alpha": 0.5, "K": 1, "recpca_form": "raw", "k_mode": "topk", "window": 1,
        "laplacian": "sym", "pre_l2norm": True, "center": True,
    }  # fmt: skip
    # PCA (the w/o-Rec-PCA variants and alpha 0) builds no graph: one file, no graph keys
    pca = plan.run("ml-100k", "SASRec", "TF-LLMER-wo-both", 0).inputs["item_vectors"]
    assert pca == plan.run("ml-100k", "SASRec", "TF-LLMER~alpha=0.0", 0).inputs["item_vectors"]
    assert pca.endswith("d64_alpha0_K0.npy") and "K" in plan.job_settings(pca) and "window" not in plan.job_settings(pca)
    assert plan.run("ml-100k", "SASRec", "RandomFeat", 0).inputs["item_vectors"].startswith(
        "results/recpca/ml-100k/random-llm2rec-smollm2/"
    )
    assert plan.job_settings("results/reps/ml-100k/random-llm2rec-smollm2.npy") == {"seed": 0}


def test_a_sweep_covers_any_key_with_exactly_its_override():
    config = load_config()
    config["tf_llmer"].update(tau=1.0, normalize_h=False)  # the ids below assume these defaults
    plan = make_plan(
        config,
        sweeps={
            "TF-LLMER": {"tau": [0.5], "normalize_h": [True, False], "recpca_form": ["trace_normalized"], "window": [2]},
            "AlphaFuse": {"tau": [0.2]},
        }
    )
    ids = plan.method_ids[len(plan.methods) :]
    assert ids == ["TF-LLMER~tau=0.5", "TF-LLMER~normalize_h=true", "TF-LLMER~recpca_form=trace_normalized",
                   "TF-LLMER~window=2", "AlphaFuse~tau=0.2"]  # fmt: skip
    main = plan.run("ml-100k", "SASRec", "TF-LLMER", 0)
    tau = plan.run("ml-100k", "SASRec", "TF-LLMER~tau=0.5", 0)
    assert tau.settings == {**main.settings, "tau": 0.5, "method_id": "TF-LLMER~tau=0.5"}
    assert tau.inputs == main.inputs  # tau is read by the run only: the default Rec-PCA
    norm_h = plan.run("ml-100k", "SASRec", "TF-LLMER~normalize_h=true", 0)
    assert norm_h.settings["normalize_h"] is True and norm_h.inputs == main.inputs
    form = plan.run("ml-100k", "SASRec", "TF-LLMER~recpca_form=trace_normalized", 0).inputs["item_vectors"]
    assert form.endswith("d64_alpha0.5_K1_trace_normalized.npy")
    window = plan.run("ml-100k", "SASRec", "TF-LLMER~window=2", 0).inputs["item_vectors"]
    assert window.endswith("d64_alpha0.5_K1~window=2.npy") and plan.job_settings(window)["window"] == 2
    assert re.fullmatch(plan.wildcard_constraints()["variant"], "~window=2")
    fuse = plan.run("ml-100k", "SASRec", "AlphaFuse~tau=0.2", 0)
    assert fuse.settings["tau"] == 0.2 and plan.run("ml-100k", "SASRec", "AlphaFuse", 0).settings["tau"] == 0.07
    # per base method, its points with their overrides (the main run included)
    points = plan.points_of("TF-LLMER")["normalize_h"]
    assert [(p.method_id, p.override) for p in points] == [
        ("TF-LLMER", {}), ("TF-LLMER~normalize_h=true", {"normalize_h": True})
    ]  # fmt: skip
    report = ReportPlan(plan)
    assert set(report.sweeps) == {"tau", "normalize_h", "recpca_form", "window", "AlphaFuse_tau"}
    assert report.sweeps["AlphaFuse_tau"]["points"] == {0.07: "AlphaFuse", 0.2: "AlphaFuse~tau=0.2"}


def test_the_paper_sweeps_keep_their_ids_and_figures():
    config = load_config()
    config["experiment"] = "paper"
    plan = make_plan(config)
    assert "TF-LLMER~alpha=0.0" in plan.method_ids and "TF-LLMER~K=3" in plan.method_ids
    assert "TF-LLMER~alpha=0.5" not in plan.method_ids  # the default: the main run
    report = ReportPlan(plan)
    assert list(report.sweeps["alpha"]["points"]) == [0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0]
    assert report.sweeps["K"]["points"][1] == "TF-LLMER"


@pytest.mark.parametrize(
    "sweeps, message",
    [
        ({"TF-LLMER": {"alfa": [0.1]}}, "experiments.embedded.sweeps.TF-LLMER.alfa': 'alfa' is not a key of tf_llmer"),
        ({"TF-LLMER": {"alpha": [-1]}}, r"sweeps.TF-LLMER.alpha\[0\]': -1 is less than the minimum"),
        ({"TF-LLMER": {"k_mode": ["nearest"]}}, r"sweeps.TF-LLMER.k_mode\[0\]': 'nearest' is not one of"),
        ({"RandInit": {"init": ["xavier"]}}, "RandInit has no config section"),
        ({"TF-LLMER": {"source": ["a/b"]}}, "may only hold letters"),
        # the random features' file name does not carry their seed: refused, not mixed up
        ({"RandomFeat": {"feature_seed": [3]}}, "different settings \\(seed\\)"),
    ],
)
def test_a_bad_sweep_names_the_key(sweeps, message):
    with pytest.raises(PlanError, match=message):
        make_plan(sweeps=sweeps)


def test_a_sweep_of_a_method_outside_the_experiment_plans_nothing():
    plan = make_plan(methods=["RandInit"], sweeps={"TF-LLMER": {"alpha": [0.1]}})
    assert plan.method_ids == ["RandInit"]


# ---- a new baseline: its module (here, this block) and its config section, nothing else
EXAMPLE = "ExampleFeat"


def example_inputs(need, settings):
    return {"item_vectors": need.reps(need.model(settings["text_encoder"]))}


def example_build(ctx):
    """Frozen text vectors, scaled, through a linear adapter."""
    vectors = torch.from_numpy(ctx.vectors() * ctx.settings["scale"])
    return ctx.item_embedding(mode="adapter", vectors=vectors, adapter="linear")


@pytest.fixture
def example_baseline():
    registry.load_all()
    registry.register(
        EXAMPLE, section="example_feat", run_keys=("scale",), inputs=example_inputs, substitutes="a paid service"
    )(example_build)
    config = load_config()
    config["example_feat"] = {"text_encoder": "sentence_encoder", "scale": 2.0}
    schema = load_schema()
    schema["$defs"]["method"]["enum"].append(EXAMPLE)
    schema["properties"]["example_feat"] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["text_encoder", "scale"],
        "properties": {"text_encoder": {"$ref": "#/$defs/text_encoder"}, "scale": {"type": "number", "exclusiveMinimum": 0}},
    }
    yield config, schema
    registry._REGISTRY.pop(EXAMPLE)


def test_a_new_baseline_needs_only_its_module_and_its_section(example_baseline, tmp_path):
    import yaml

    from llmrec.training import build_model

    config, schema = example_baseline
    exp = config["experiments"]["embedded"]
    exp.update(methods=["RandInit", EXAMPLE], sweeps={EXAMPLE: {"scale": [0.5]}})
    schema_path = tmp_path / "schema.yaml"
    schema_path.write_text(yaml.safe_dump(schema))
    validate(config, schema_path)
    bad = load_config()
    bad["experiments"]["embedded"]["methods"].append(EXAMPLE)
    with pytest.raises(ConfigError, match="ExampleFeat"):  # the schema is part of adding it
        validate(bad, SCHEMA_PATH)

    plan = plan_mod.Plan(config, schema)
    assert plan.method_ids == ["RandInit", EXAMPLE, f"{EXAMPLE}~scale=0.5"]
    job = plan.run("ml-100k", "SASRec", f"{EXAMPLE}~scale=0.5", 0)
    assert job.inputs == {"item_vectors": "results/reps/ml-100k/minilm.npy"}
    assert job.settings["scale"] == 0.5 and "text_encoder" not in job.settings
    assert plan.provenance(EXAMPLE)["substitutions"] == {"text_encoder": "minilm instead of a paid service"}
    assert plan.cost_stages(EXAMPLE)["embedding"] == ["benchmarks/encode_items/{dataset}/minilm.tsv"]
    # and the trainer builds it from exactly these settings
    vectors = np.random.default_rng(0).normal(size=(20, 12)).astype(np.float32)
    model = build_model(20, job.settings, EXAMPLE, {"item_vectors": vectors})
    assert model.item_embedding.item_vectors().shape == (20, job.settings["hidden_size"])


def test_a_recpca_output_asked_for_by_name_gets_what_its_name_says():
    plan = make_plan()
    named = plan.job_settings("results/recpca/x/llm2rec-smollm2/d4_alpha0.25_K3_trace_normalized~window=2.npy")
    assert named == {
        "d": 4, "alpha": 0.25, "K": 3, "recpca_form": "trace_normalized", "window": 2, "k_mode": "topk",
        "laplacian": "sym", "pre_l2norm": True, "center": True,
    }  # fmt: skip
    with pytest.raises(PlanError, match="not an output"):
        plan.job_settings("results/llm_esr/x/minilm/similar_users.npy")


def test_layers_point_down():
    """The methods load without the trainer; no method module imports its package."""
    import subprocess
    import sys

    from helpers import ROOT

    code = "import sys; import llmrec.methods; print('llmrec.training.trainer' in sys.modules)"
    env_path = str(ROOT / "workflow" / "lib")
    out = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {env_path!r}); {code}"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert out.stdout.strip() == "False"
    for module in (ROOT / "workflow/lib/llmrec/methods").glob("*.py"):
        assert "from . import register" not in module.read_text(), module.name


def test_combinations_set_several_keys_in_one_run():
    combos = {"TF-LLMER": [{"tau": 0.1, "normalize_h": True}, {"tau": 1.0, "normalize_h": True}, {"tau": 1.0}]}
    config = load_config()
    config["tf_llmer"].update(tau=1.0, normalize_h=False)
    plan = make_plan(config, sweeps={"TF-LLMER": {"tau": [0.1, 1.0], "normalize_h": [True]}}, combinations=combos)
    both = "TF-LLMER~normalize_h=true~tau=0.1"
    # a key at its configured value drops out: {tau: 1, normalize_h: true} is the sweep's
    # point, {tau: 1} the main run; neither is planned twice
    assert plan.method_ids[-3:] == ["TF-LLMER~tau=0.1", "TF-LLMER~normalize_h=true", both]
    settings = plan.run("ml-100k", "GRU4Rec", both, 1).settings
    assert (settings["tau"], settings["normalize_h"], settings["method_id"]) == (0.1, True, both)
    assert plan.run("ml-100k", "GRU4Rec", both, 1).inputs == plan.run("ml-100k", "GRU4Rec", "TF-LLMER", 1).inputs
    assert re.fullmatch(plan.wildcard_constraints()["method"], both)
    assert plan.candidates("TF-LLMER") == ["TF-LLMER", "TF-LLMER~tau=0.1", "TF-LLMER~normalize_h=true", both]
    assert [p.label for p in plan.sweep_points] == ["tau=0.1", "normalize_h=true", "normalize_h=true, tau=0.1"]
    report = ReportPlan(plan)
    assert set(report.sweeps) == {"tau", "normalize_h"}  # the 1-D figures leave combinations out
    table = report.sweep_table()
    assert table["candidates"] == {"TF-LLMER": plan.candidates("TF-LLMER")}
    assert table["labels"][both] == "normalize_h=true, tau=0.1" and "sweeps" in report.tables()


def test_no_sweep_no_sweeps_table():
    report = ReportPlan(make_plan(sweeps={}))
    assert report.sweep_table() is None and "sweeps" not in report.tables()


@pytest.mark.parametrize(
    "combinations, message",
    [
        ({"TF-LLMER": [{"tua": 0.1}]}, r"combinations.TF-LLMER\[0\].tua': 'tua' is not a key of tf_llmer"),
        ({"TF-LLMER": [{"tau": -1}]}, r"combinations.TF-LLMER\[0\].tau': -1 is less than or equal to the minimum"),
        ({"RandInit": [{"init": "x"}]}, "RandInit has no config section"),
    ],
)
def test_a_bad_combination_names_the_key(combinations, message):
    with pytest.raises(PlanError, match=message):
        make_plan(combinations=combinations)


def test_the_schema_refuses_an_empty_combination():
    config = load_config()
    config["experiments"]["embedded"]["combinations"] = {"TF-LLMER": [{}]}
    with pytest.raises(ConfigError, match="combinations"):
        validate(config, SCHEMA_PATH)


def test_the_tuning_study_is_the_same_grid_whatever_the_defaults():
    """tuning.yaml adds TF-LLMER's two-stage grid (tau x normalize_h x form, then alpha x K)
    to both experiments; each entry names all five keys, so at most one of them is the main
    run and every other one is a run of its own, under either set of defaults."""
    import yaml

    from helpers import ROOT
    from llmrec.config import check_config_files

    keys = ("normalize_h", "tau", "recpca_form", "alpha", "K")
    check_config_files([str(ROOT / "config.yaml"), str(ROOT / "tuning.yaml")])
    tuning = yaml.safe_load((ROOT / "tuning.yaml").read_text())
    old_defaults = {"tau": 1.0, "normalize_h": False, "recpca_form": "raw", "alpha": 0.5, "K": 5}
    for defaults in ({}, old_defaults):
        for experiment in ("embedded", "paper"):
            config = plan_mod.deep_merged(load_config(), tuning)
            config["tf_llmer"].update(defaults)
            config["experiment"] = experiment
            validate(config, SCHEMA_PATH)
            plan = make_plan(config)
            settings = {tuple(plan.method_settings(m)[k] for k in keys) for m in plan.candidates("TF-LLMER")}
            entries = {tuple(e[k] for k in keys) for e in tuning["experiments"][experiment]["combinations"]["TF-LLMER"]}
            assert len(entries) == 15 and settings >= entries
            main = tuple(config["tf_llmer"][k] for k in keys)
            assert len(plan.combinations["TF-LLMER"]) == len(entries - {main})
