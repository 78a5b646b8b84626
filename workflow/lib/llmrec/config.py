"""Validation of the workflow configuration, with messages that name the offending key.

Snakemake's own ``validate`` reports the failing schema keyword; here each error says
which key of ``config.yaml`` is wrong and what is allowed, e.g.::

    config key 'experiments.embedded.backbones[1]': 'SASrec' is not allowed;
    allowed: 'GRU4Rec', 'SASRec', 'BERT4Rec'
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import yaml


class ConfigError(ValueError):
    """The configuration does not match the schema or is inconsistent."""


def key_path(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def _describe(error: jsonschema.ValidationError) -> str:
    where = key_path(error.absolute_path)
    kw, sch = error.validator, error.validator_value
    if kw == "enum":
        allowed = ", ".join(repr(v) for v in sch)
        return f"config key '{where}': {error.instance!r} is not allowed; allowed: {allowed}"
    if kw == "additionalProperties" and isinstance(error.instance, dict):
        known = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(known))
        return (
            f"config key '{where}': unknown key(s) {', '.join(map(repr, extra))}; "
            f"allowed keys: {', '.join(known) if known else '(none)'}"
        )
    if kw == "required":
        return f"config key '{where}': {error.message}"
    if kw == "type":
        return f"config key '{where}': {error.instance!r} has the wrong type; expected {sch}"
    return f"config key '{where}': {error.message}"


def _best(errors):
    """For if/then sub-schemas jsonschema reports nested errors; show the deepest ones."""
    out = []
    for e in errors:
        if e.context:
            out.extend(_best(e.context))
        else:
            out.append(e)
    return out


def validate(config: dict[str, Any], schema_path: str | Path) -> dict[str, Any]:
    """Check ``config`` against the schema and the cross-references between its parts.

    Returns the config unchanged; raises :class:`ConfigError` listing every problem.
    """
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    problems = sorted({_describe(e) for e in _best(errors)})
    if not problems:
        problems = _cross_check(config)
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    return config


def _cross_check(config: dict[str, Any]) -> list[str]:
    problems = []
    experiments = config["experiments"]
    if config["experiment"] not in experiments:
        problems.append(
            f"config key 'experiment': {config['experiment']!r} is not an experiment; "
            f"allowed: {', '.join(map(repr, experiments))}"
        )
    model_refs = {f"{section}.model": config.get(section, {}).get("model") for section in ("llm2rec", "llmemb")}
    for name, exp in experiments.items():
        model_refs.update({f"experiments.{name}.{key}": exp[key] for key in ("llm", "sentence_encoder")})
        model_refs.update({f"experiments.{name}.{section}.model": exp.get(section, {}).get("model")
                           for section in ("llm2rec", "llmemb")})
        for i, ds in enumerate(exp["datasets"]):
            if ds not in config["datasets"]:
                problems.append(
                    f"config key 'experiments.{name}.datasets[{i}]': {ds!r} is not defined "
                    f"under 'datasets'; defined: {', '.join(map(repr, config['datasets']))}"
                )
    for key, model in model_refs.items():
        if model is not None and model not in config["models"]:
            problems.append(
                f"config key '{key}': {model!r} is not defined "
                f"under 'models'; defined: {', '.join(map(repr, config['models']))}"
            )
    return problems


def dataset_preprocess(config: dict[str, Any], dataset: str) -> dict[str, Any]:
    """The preprocessing settings of one dataset: shared defaults + its overrides."""
    merged = copy.deepcopy(config.get("preprocess", {}))
    merged.update(config["datasets"][dataset].get("preprocess", {}))
    return merged


def backbone_training_settings(config: dict[str, Any], backbone: str) -> dict[str, Any]:
    """What a run of ``backbone`` trains with before any experiment or method override:
    the ``training`` section, then the backbone's ``backbones`` entry (the standalone
    tools, seed_sweep.py and benchmark_backbones.py, measure exactly this)."""
    return {**config["training"], **config["backbones"][backbone], "backbone": backbone}


def finetune_section(config: dict[str, Any], method: str) -> dict[str, Any]:
    """The ``llm2rec`` / ``llmemb`` section as its fine-tuning stages read it: without
    ``llmemb.rat``, which configures the recommender side (LLMEmb's runs)."""
    return {k: v for k, v in config[method].items() if k != "rat"}
