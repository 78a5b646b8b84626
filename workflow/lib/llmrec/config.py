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


class _StrictLoader(yaml.SafeLoader):
    """safe_load that refuses a key given twice in one mapping (YAML would keep the last)."""


def _strict_mapping(loader, node, deep=False):
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            first = seen[key].start_mark
            raise yaml.constructor.ConstructorError(
                None, None,
                f"duplicate key {key!r} (first given on line {first.line + 1}); a YAML "
                "mapping keeps only the last value, so remove one of them",
                key_node.start_mark,
            )  # fmt: skip
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _strict_mapping)


def load_yaml_strict(path: str | Path) -> Any:
    """Parse a YAML file; a syntax error or a duplicate key raises :class:`ConfigError`
    naming the file, line and column, e.g.
    ``config.yaml, line 5, column 1: duplicate key 'experiment' (first given on line 2) ...``."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
        problem = err.problem or err.context or "not valid YAML"
        if err.context and err.problem and "duplicate key" not in err.problem:
            problem = f"{err.problem} ({err.context})"
        raise ConfigError(f"invalid configuration file {where}: {problem}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"invalid configuration file {path}: {err}") from None


def check_config_files(paths) -> None:
    """Strictly parse every existing config file (see :func:`load_yaml_strict`)."""
    for path in paths:
        if Path(path).is_file():
            load_yaml_strict(path)


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
    problems += _check_training(config)
    problems += _check_preprocess(config)
    problems += _check_methods(config)
    problems += _check_item_files(config)
    return problems


#: methods that read no item text (the only ones a dataset without item metadata allows)
TEXT_FREE_METHODS = ("RandInit",)


def _check_item_files(config: dict[str, Any]) -> list[str]:
    """An atomic dataset without its ``.item`` file has no item texts: refuse the
    text-based methods of the selected experiment on it."""
    exp = config["experiments"].get(config["experiment"])
    if exp is None:
        return []
    problems = []
    text_methods = [m for m in exp["methods"] if m not in TEXT_FREE_METHODS]
    for dataset in exp["datasets"]:
        entry = config["datasets"].get(dataset, {})
        if entry.get("source") != "atomic" or not text_methods:
            continue
        folder = Path(entry["path"])
        item_file = folder / f"{entry.get('name', folder.name)}.item"
        if not item_file.exists():
            problems.append(
                f"config key 'experiments.{config['experiment']}.methods': dataset {dataset!r} has no "
                f"item file {item_file}, so no item texts; {', '.join(text_methods)} read item texts. "
                f"Add the file, or use only {', '.join(TEXT_FREE_METHODS)} on this dataset"
            )
    return problems


#: metric names a run computes at each cutoff (llmrec.metrics.metrics_from_ranks)
METRICS = ("recall", "ndcg", "mrr")


def _check_training(config: dict[str, Any]) -> list[str]:
    """Cross-field constraints of what the selected experiment's runs train with, per
    backbone (training, then the experiment's training override, then the backbone's entry)."""
    problems = []
    selected = config["experiment"]
    for name, exp in [(selected, config["experiments"][selected])] if selected in config["experiments"] else []:
        override = exp.get("training", {})
        for backbone in exp["backbones"]:
            entry = config.get("backbones", {}).get(backbone, {})
            merged = {**config["training"], **override, **entry}

            def where(key):  # the key that set the value
                if key in entry:
                    return f"backbones.{backbone}.{key}"
                return f"experiments.{name}.training.{key}" if key in override else f"training.{key}"

            cutoffs = merged.get("cutoffs", [10, 20])
            metric = merged.get("valid_metric", "ndcg@10")
            allowed = [f"{m}@{k}" for m in METRICS for k in cutoffs]
            if metric not in allowed:
                problems.append(
                    f"config key '{where('valid_metric')}': {metric!r} is not computed; with "
                    f"{where('cutoffs')} {cutoffs} allowed: {', '.join(allowed)}"
                )
            hidden = merged.get("hidden_size")
            heads = merged.get("n_heads")
            if hidden and heads and hidden % heads:
                problems.append(
                    f"config key '{where('n_heads')}': {heads} heads do not divide "
                    f"{where('hidden_size')} = {hidden} ({backbone}, experiment {name!r})"
                )
            methods = exp["methods"]
            if hidden and "AlphaFuse" in methods and config.get("alphafuse", {}).get("null_threshold") is None:
                null_dim = config.get("alphafuse", {}).get("null_dim")
                if null_dim is not None and not 1 <= null_dim <= hidden:
                    problems.append(
                        f"config key 'alphafuse.null_dim': {null_dim} must be in 1..{hidden} "
                        f"({where('hidden_size')}, experiment {name!r})"
                    )
            esr = config.get("llm_esr", {})
            if hidden and "LLM-ESR" in methods and esr.get("cross_attention", True):
                ch = esr.get("cross_heads", 2)
                if ch and hidden % ch:
                    problems.append(
                        f"config key 'llm_esr.cross_heads': {ch} heads do not divide "
                        f"{where('hidden_size')} = {hidden} (experiment {name!r})"
                    )
    return sorted(set(problems))


def _check_preprocess(config: dict[str, Any]) -> list[str]:
    problems = []
    for dataset in config["datasets"]:
        merged = dataset_preprocess(config, dataset)
        start, end = merged.get("date_start"), merged.get("date_end")
        if start is not None and end is not None and str(start) >= str(end):
            own = config["datasets"][dataset].get("preprocess", {})
            key = f"datasets.{dataset}.preprocess" if {"date_start", "date_end"} & set(own) else "preprocess"
            problems.append(
                f"config key '{key}.date_start': {str(start)!r} is not before date_end "
                f"{str(end)!r} (dataset {dataset!r}): the window would keep no interaction"
            )
    return problems


def _check_methods(config: dict[str, Any]) -> list[str]:
    problems = []
    esr = config.get("llm_esr", {})
    if esr.get("similar_users", 0) > esr.get("retrieved_users", float("inf")):
        problems.append(
            f"config key 'llm_esr.similar_users': {esr['similar_users']} exceeds "
            f"llm_esr.retrieved_users = {esr['retrieved_users']} (the users stored per user)"
        )
    return problems


def dataset_preprocess(config: dict[str, Any], dataset: str) -> dict[str, Any]:
    """The preprocessing settings of one dataset: shared defaults + its overrides."""
    merged = copy.deepcopy(config.get("preprocess", {}))
    merged.update(config["datasets"][dataset].get("preprocess", {}))
    return merged


def finetune_section(config: dict[str, Any], method: str) -> dict[str, Any]:
    """The ``llm2rec`` / ``llmemb`` section as its fine-tuning stages read it: without
    ``llmemb.rat``, which configures the recommender side (LLMEmb's runs)."""
    return {k: v for k, v in config[method].items() if k != "rat"}
