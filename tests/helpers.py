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
