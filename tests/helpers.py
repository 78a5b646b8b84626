"""Shared test helpers: the repository's config and schema, the plan built from them,
and a run's settings exactly as the workflow would hand them to the trainer."""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PATH = ROOT / "workflow" / "schemas" / "config.schema.yaml"


@lru_cache(maxsize=1)
def _config() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def load_config() -> dict:
    """A fresh copy of config.yaml (tests edit it freely)."""
    return copy.deepcopy(_config())


@lru_cache(maxsize=1)
def _schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def load_schema() -> dict:
    return copy.deepcopy(_schema())


def make_plan(config: dict | None = None, **experiment):
    """The plan of ``config`` (default: config.yaml) with the selected experiment's keys
    updated by ``experiment``."""
    from llmrec.plan import Plan

    config = load_config() if config is None else config
    config["experiments"][config["experiment"]].update(experiment)
    return Plan(config, load_schema())


def run_settings(backbone: str = "SASRec", method: str = "RandInit", experiment_overrides: bool = False, **overrides) -> dict:
    """What the workflow's run of ``method`` on ``backbone`` reads (config.yaml's
    ``training``, the backbone's entry and the method's run keys; without the embedded
    experiment's laptop overrides unless asked), then ``overrides``."""
    config = load_config()
    config["experiments"]["embedded"].update(methods=[method], sweeps={})
    plan = make_plan(config)
    job = plan.run(plan.datasets[0], backbone, method, plan.seeds[0])
    settings = dict(job.settings)
    if not experiment_overrides:
        settings.update(plan.training_settings(backbone, experiment_overrides=False))
    return {**settings, **overrides}


@lru_cache(maxsize=None)
def _run_settings(backbone: str, method: str) -> dict:
    return run_settings(backbone, method)


def complete(partial: dict | None, method="RandInit") -> dict:
    """``partial`` completed from config.yaml for its backbone (default SASRec) and
    ``method`` (a builder function: RandInit's keys), the way the plan completes a run."""
    partial = dict(partial or {})
    name = method if isinstance(method, str) else "RandInit"
    return {**copy.deepcopy(_run_settings(partial.get("backbone", "SASRec"), name)), **partial}


def recpca_settings(**overrides) -> dict:
    """The settings of TF-LLMER's Rec-PCA job in config.yaml (every key it reads)."""
    plan = make_plan()
    job = plan.run(plan.datasets[0], plan.backbones[0], "TF-LLMER", plan.seeds[0])
    return {**plan.job_settings(job.inputs["item_vectors"]), **overrides}


def diagnostics_settings(**overrides) -> dict:
    return {**load_config()["diagnostics"], **overrides}


# the library's entry points, with the given settings completed as the plan would
def train_and_evaluate(data, method="RandInit", settings=None, *args, **kwargs):
    from llmrec.training import train_and_evaluate as train

    return train(data, method, complete(settings, method), *args, **kwargs)


def build_model(n_items, settings=None, method="RandInit", *args, **kwargs):
    from llmrec.training import build_model as build

    return build(n_items, complete(settings, method), method, *args, **kwargs)


def run_experiment(data_dir, settings, *args, **kwargs):
    """``llmrec.experiment.run`` with ``settings`` completed (method, id, diagnostics)."""
    from llmrec import experiment

    method = settings.get("method", "RandInit")
    full = complete({"method_id": method, **settings}, method)
    full["diagnostics"] = diagnostics_settings(**settings.get("diagnostics", {}))
    return experiment.run(data_dir, full, *args, **kwargs)
