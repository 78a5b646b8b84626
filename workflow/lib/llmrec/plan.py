"""The experiment plan: which jobs the selected experiment runs, what each reads and
writes, and exactly which settings each receives.

Pure Python; never imports snakemake. ``workflow/rules/common.smk`` builds one
:class:`Plan` from the validated config and its input and parameter functions ask it;
the standalone tools (``tools/seed_sweep.py``, the benchmarks) ask it too, so they train
with the settings the workflow would give.

Jobs: datasets x backbones x method ids x seeds, where a method id is a method of the
experiment or one of its sweep points, ``<method>~<key>=<value>`` (one key of the
method's config section overridden; ``experiments.<name>.sweeps.<method>.<key>``), or of
its combinations, ``<method>~<key>=<value>~<key>=<value>`` (several keys, sorted;
``experiments.<name>.combinations.<method>``). What a
method reads from earlier stages, its config section and the keys its run reads are
declared next to its code (:mod:`llmrec.methods.registry`); the plan asks each method
with a :class:`Needs` implementation that records the upstream jobs (Rec-PCA, random
features, similar users) with the keys *they* read. So a key only an upstream job reads
(``tf_llmer.alpha``) changes that job's output path and settings, never a run's settings,
and a key only the run reads (``tf_llmer.tau``) reruns no upstream job.

A run's settings hold no provenance: which model embedded the texts and what it stands in
for go to the report through :meth:`Plan.provenance`, so rewording a footnote retrains
nothing.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from .config import finetune_section
from .methods import registry

RUNS_ROOT = "results/runs"
#: one run's folder; ``metrics.json`` there is written last (the run is complete)
RUN_FOLDER = RUNS_ROOT + "/{dataset}/{backbone}/{method}/seed{seed}"
#: ``training`` keys that configure the sampled negatives (the draw_negatives job), not a run
NEGATIVES_KEYS = ("sampled_negatives", "negatives_seed")
#: a swept value as it appears in a method id and a file name
VALUE = r"[A-Za-z0-9_.+-]+"
KEY = r"[A-Za-z_][A-Za-z0-9_]*"
#: a number as Python writes it into a file name: 0.5, 1.0, 1e-05
NUMBER = r"[0-9.]+(e[+-][0-9]+)?"
#: Rec-PCA keys that its output name does not carry (a sweep of one adds ``~key=value``)
RECPCA_GRAPH_KEYS = ("k_mode", "window", "laplacian")
RECPCA_INPUT_KEYS = ("pre_l2norm", "center")


RECPCA_NAME = re.compile(
    rf"results/recpca/[^/]+/[^/]+/d(?P<d>\d+)_alpha(?P<alpha>{NUMBER})_K(?P<K>\d+)"
    rf"(?P<form>_trace_normalized)?(?P<variant>(~{KEY}={VALUE})*)\.(npy|json)"
)


class PlanError(ValueError):
    """The configuration asks for something the plan cannot give (names the key)."""


def format_value(value: Any) -> str:
    """A swept value in a method id: numbers as Python writes them (``0.5``, ``1e-05``, so
    the existing ids stay), booleans and null as YAML writes them, strings as they are."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def parse_value(text: str, like: Any) -> Any:
    """A value of a file name back, typed like the configured value ``like``."""
    if text == "null":
        return None
    if isinstance(like, bool):
        return text == "true"
    if isinstance(like, int):
        return int(text)
    if isinstance(like, float):
        return float(text)
    return text


def deep_merged(base: Mapping, override: Mapping | None) -> dict:
    merged = copy.deepcopy(dict(base))
    for key, value in (override or {}).items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merged(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _sort_key(value):
    return (type(value).__name__ if not isinstance(value, (int, float)) or isinstance(value, bool) else "", value)


@dataclass(frozen=True)
class SweepPoint:
    """One point of a sweep: ``method`` with ``key`` set to ``value`` (and, for a point of
    ``combinations``, the keys of ``more`` set too); the point equal to the configured
    values is the main run (``method_id == method``)."""

    method: str
    key: str
    value: Any
    method_id: str
    more: tuple[tuple[str, Any], ...] = ()

    @property
    def override(self) -> dict[str, Any]:
        return {} if self.method_id == self.method else {self.key: self.value, **dict(self.more)}

    @property
    def label(self) -> str:
        """What the point sets, as in its method id (``configured`` for the main run)."""
        items = [(self.key, self.value), *self.more] if self.method_id != self.method else []
        return ", ".join(f"{k}={format_value(v)}" for k, v in items) or "configured"


def point_id(method: str, override: Mapping[str, Any]) -> str:
    """``<method>~<key>=<value>...``, keys in sorted order (the method itself without any)."""
    return method + "".join(f"~{k}={format_value(override[k])}" for k in sorted(override))


@dataclass
class RunJob:
    """One training job: its inputs (name -> path), settings and provenance."""

    dataset: str
    backbone: str
    method_id: str
    seed: int
    method: str
    inputs: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def folder(self) -> str:
        return RUN_FOLDER.format(dataset=self.dataset, backbone=self.backbone, method=self.method_id, seed=self.seed)


class _Request(registry.Needs):
    """The plan as one method of one run sees it: every upstream job it asks for is
    recorded (with its settings) and every model it names becomes provenance."""

    def __init__(self, plan: "Plan", dataset: str, seed: int | str, record: bool = True):
        self.plan, self.dataset, self.seed, self.record = plan, dataset, seed, record
        self.text_model: str | None = None
        self.recpca_of: str | None = None
        self.mimics: str | None = None
        self.upstream: dict[str, dict] = {}

    def model(self, encoder: str) -> str:
        self.text_model = self.plan.exp[encoder]
        return self.text_model

    def finetuned_model(self, section: str) -> str:
        self.text_model = self.plan.finetune_settings(section)["model"]
        return self.text_model

    def reps(self, name: str) -> str:
        return f"results/reps/{self.dataset}/{name}.npy"

    def random_reps(self, name: str, seed: int) -> str:
        random = f"random-{name}"
        self.mimics = name
        self._upstream("random_features", self.reps(random), {"seed": int(seed)}, reps=name)
        return random

    def recpca(self, name: str, settings: Mapping[str, Any], pca: bool = False) -> str:
        """Vanilla PCA (``pca``, or alpha 0, decided here only) builds no graph: its name is
        ``alpha0_K0`` in every form and it reads neither K nor the graph keys."""
        d = int(self.plan.config["training"]["hidden_size"])
        base = self.plan.config["tf_llmer"]
        job = {"d": d, **{k: settings[k] for k in RECPCA_INPUT_KEYS}}
        if pca or settings["alpha"] == 0:
            job.update(alpha=0, K=0, recpca_form="raw")
            extra = RECPCA_INPUT_KEYS
        else:
            job.update(alpha=settings["alpha"], K=settings["K"], recpca_form=settings["recpca_form"])
            job.update({k: settings[k] for k in RECPCA_GRAPH_KEYS})
            extra = RECPCA_GRAPH_KEYS + RECPCA_INPUT_KEYS
        form = "" if job["recpca_form"] == "raw" else f"_{job['recpca_form']}"
        # keys the name does not carry: only a value other than the configured one shows
        variant = "".join(f"~{k}={format_value(job[k])}" for k in extra if job[k] != base[k])
        path = f"results/recpca/{self.dataset}/{name}/d{d}_alpha{job['alpha']}_K{job['K']}{form}{variant}.npy"
        self.recpca_of = name
        self._upstream("rec_pca", path, job, reps=name)
        return path

    def similar_users(self, model: str, settings: Mapping[str, Any]) -> str:
        path = f"results/llm_esr/{self.dataset}/{model}/similar_users.npy"
        self._upstream("similar_users", path, dict(settings), reps=model)
        return path

    def run_file(self, method: str, backbone: str, filename: str) -> str:
        folder = RUN_FOLDER.format(dataset=self.dataset, backbone=backbone, method=method, seed=self.seed)
        return f"{folder}/{filename}"

    def section(self, name: str) -> Mapping[str, Any]:
        return self.plan.config[name]

    def _upstream(self, kind: str, path: str, settings: dict, reps: str) -> None:
        self.upstream[path] = {"kind": kind, "settings": settings, "reps": reps}
        if self.record:
            self.plan._record_upstream(path, kind, settings, reps)


class Plan:
    """Every job of the selected experiment, from the validated config."""

    def __init__(self, config: Mapping[str, Any], schema: Mapping[str, Any] | None = None):
        self.config = config
        self.experiment = config["experiment"]
        self.exp = config["experiments"][self.experiment]
        self.datasets: list[str] = list(self.exp["datasets"])
        self.backbones: list[str] = list(self.exp["backbones"])
        self.methods: list[str] = list(self.exp["methods"])
        self.seeds: list[int] = list(self.exp["seeds"])
        for i, name in enumerate(self.methods):
            if name not in registry.available():
                raise PlanError(
                    f"config key 'experiments.{self.experiment}.methods[{i}]': {name!r} has no module "
                    f"in llmrec.methods; registered: {', '.join(registry.available())}"
                )
        self.sweeps = self._sweep_points(schema)
        self.combinations = self._combination_points(schema)
        self._upstream: dict[str, dict] = {}
        self._runs: dict[tuple, RunJob] = {}
        for dataset in self.datasets:
            for backbone in self.backbones:
                for method_id in self.method_ids:
                    for seed in self.seeds:
                        job = self._plan_run(dataset, backbone, method_id, seed)
                        self._runs[(dataset, backbone, method_id, seed)] = job

    # ------------------------------------------------------------------ sweeps
    def _sweep_points(self, schema) -> dict[str, dict[str, list[SweepPoint]]]:
        """{method: {key: [points, in value order, the configured value included]}} of
        every sweep of a method the experiment runs (a sweep of another plans nothing)."""
        where = f"experiments.{self.experiment}.sweeps"
        points: dict[str, dict[str, list[SweepPoint]]] = {}
        self._sweep_runs: list[SweepPoint] = []
        for method, keys in (self.exp.get("sweeps") or {}).items():
            configured = self._section_of(method, where)
            section = registry.method(method).section
            for key, values in keys.items():
                self._check_key(configured, key, f"{where}.{method}", f"{section} ({method}'s section)")
                for i, value in enumerate(values):
                    self._check_value(schema, section, key, value, f"{where}.{method}.{key}[{i}]")
                if method not in self.methods or not values:
                    continue
                default = configured[key]
                # runs in config order; the points (for figures) in value order
                self._sweep_runs += [
                    SweepPoint(method, key, v, f"{method}~{key}={format_value(v)}") for v in values if v != default
                ]
                ordered = sorted({*values, default}, key=_sort_key) if _sortable(values, default) else [default, *values]
                points.setdefault(method, {})[key] = [
                    SweepPoint(method, key, v, method if v == default else f"{method}~{key}={format_value(v)}")
                    for v in dict.fromkeys(ordered)
                ]
        return points

    def _combination_points(self, schema) -> dict[str, list[SweepPoint]]:
        """{method: its points of ``combinations``}: each a run that sets several keys at
        once (they compete on validation and fill the sweeps table; the sweep figures,
        one key each, leave them out). Keys at their configured value are dropped, so a
        point equal to a sweep's is the same run."""
        where = f"experiments.{self.experiment}.combinations"
        points: dict[str, list[SweepPoint]] = {}
        for method, entries in (self.exp.get("combinations") or {}).items():
            configured = self._section_of(method, where)
            for i, entry in enumerate(entries):
                for key, value in entry.items():
                    self._check_key(configured, key, f"{where}.{method}[{i}]", registry.method(method).section)
                    self._check_value(schema, registry.method(method).section, key, value, f"{where}.{method}[{i}].{key}")
                override = {k: entry[k] for k in sorted(entry) if entry[k] != configured[k]}
                if method not in self.methods or not override:
                    continue
                (key, value), *more = override.items()
                point = SweepPoint(method, key, value, point_id(method, override), tuple(more))
                self._sweep_runs.append(point)
                points.setdefault(method, []).append(point)
        return points

    def _section_of(self, method: str, where: str) -> Mapping[str, Any]:
        if method not in registry.available():
            raise PlanError(
                f"config key '{where}.{method}': {method!r} is not a method; "
                f"registered: {', '.join(registry.available())}"
            )
        section = registry.method(method).section
        if section is None:
            raise PlanError(f"config key '{where}.{method}': {method} has no config section to sweep")
        return self.config[section]

    @staticmethod
    def _check_key(configured: Mapping[str, Any], key: str, where: str, section: str) -> None:
        if key not in configured or isinstance(configured[key], Mapping):
            allowed = ", ".join(k for k, v in configured.items() if not isinstance(v, Mapping))
            raise PlanError(
                f"config key '{where}.{key}': {key!r} is not a key of {section}; allowed: {allowed}"
            )

    def _check_value(self, schema, section, key, value, where) -> None:
        if not isinstance(value, (bool, int, float, str, type(None))):
            raise PlanError(f"config key '{where}': {value!r} is not a number, boolean, string or null")
        if isinstance(value, str) and not re.fullmatch(VALUE, value):
            raise PlanError(f"config key '{where}': {value!r} may only hold letters, digits and _ . + -")
        if schema is None:
            return
        import jsonschema  # the config's own rules for the key, so a sweep allows no value the section would refuse

        rule = schema["properties"][section]["properties"].get(key)
        if rule is not None:
            resolver = {"$defs": schema.get("$defs", {}), **rule}
            for error in jsonschema.Draft202012Validator(resolver).iter_errors(value):
                raise PlanError(f"config key '{where}': {error.message}")

    @property
    def sweep_points(self) -> list[SweepPoint]:
        """Every point that is a run of its own (not the main run), in config order: the
        sweeps', then the combinations' (one run per method id)."""
        first: dict[str, SweepPoint] = {}
        for point in self._sweep_runs:
            first.setdefault(point.method_id, point)
        return list(first.values())

    def candidates(self, method: str) -> list[str]:
        """Every method id that can stand for ``method`` (report.select: validation): its
        main run first, then its sweeps' and combinations' points."""
        ids = [method] + [p.method_id for points in self.sweeps.get(method, {}).values() for p in points]
        return list(dict.fromkeys(ids + [p.method_id for p in self.combinations.get(method, [])]))

    @property
    def method_ids(self) -> list[str]:
        return self.methods + [p.method_id for p in self.sweep_points]

    def points_of(self, method: str) -> dict[str, list[SweepPoint]]:
        """{key: points (the main run included)} of ``method``'s sweeps: per dataset x
        backbone, the runs a choice among its values compares."""
        return self.sweeps.get(method, {})

    def base_method(self, method_id: str) -> str:
        return method_id.split("~", 1)[0]

    def override(self, method_id: str) -> dict[str, Any]:
        for point in self.sweep_points:
            if point.method_id == method_id:
                return point.override
        if method_id in self.methods:
            return {}
        raise PlanError(f"{method_id!r} is no method id of experiment {self.experiment!r}")

    # ------------------------------------------------------------------ runs
    def method_settings(self, method_id: str) -> dict[str, Any]:
        """The method's config section with the sweep point's override ({} without one)."""
        section = registry.method(self.base_method(method_id)).section
        if section is None:
            return {}
        return {**copy.deepcopy(self.config[section]), **self.override(method_id)}

    def training_settings(self, backbone: str, experiment_overrides: bool = True) -> dict[str, Any]:
        """What every run of ``backbone`` trains with: ``training`` (then the experiment's
        override), then the backbone's entry; without the negatives' keys."""
        training = {**self.config["training"], **(self.exp.get("training", {}) if experiment_overrides else {})}
        training = {k: v for k, v in training.items() if k not in NEGATIVES_KEYS}
        return {**training, **self.config["backbones"][backbone], "backbone": backbone}

    def _plan_run(self, dataset: str, backbone: str, method_id: str, seed: int) -> RunJob:
        method = self.base_method(method_id)
        spec = registry.method(method)
        own = self.method_settings(method_id)
        need = _Request(self, dataset, seed)
        inputs = dict(spec.inputs(need, own)) if spec.inputs else {}
        if self.config["training"]["eval_protocol"] == "sampled":
            n = self.config["training"]["sampled_negatives"]
            inputs["negatives"] = f"results/data/{dataset}/negatives{n}.npy"
        settings = {
            **self.training_settings(backbone),
            **self._run_keys(spec, own, need),
            "diagnostics": self.config["diagnostics"],
            "backbone": backbone,
            "method": method,
            "method_id": method_id,
            "dataset": dataset,
            "seed": int(seed),
        }
        return RunJob(dataset, backbone, method_id, int(seed), method, inputs, settings, self._provenance(spec, own, need))

    @staticmethod
    def _run_keys(spec: registry.Method, own: Mapping[str, Any], need) -> dict[str, Any]:
        if callable(spec.run_keys):
            return dict(spec.run_keys(own, need))
        out = {}
        for dotted in spec.run_keys:
            value = own
            for part in dotted.split("."):
                value = value[part]
            out[dotted.rsplit(".", 1)[-1]] = value
        return out

    def _provenance(self, spec, own, need: _Request) -> dict[str, Any]:
        """What the report says about a run and the run never reads: the models, what they
        stand in for, and the settings of the jobs upstream of it."""
        out: dict[str, Any] = {
            "settings": own,  # the method's section, with the sweep point's override
            "upstream": {path: job["settings"] for path, job in need.upstream.items()},
        }
        if need.recpca_of is not None:  # a reduction of X: the report names X (the LLM vectors)
            out["llm"] = need.mimics or need.recpca_of
        elif need.text_model is not None:
            out["text_model"] = need.text_model
            if spec.substitutes:
                out["substitutions"] = {"text_encoder": f"{need.text_model} instead of {spec.substitutes}"}
        return out

    def run(self, dataset: str, backbone: str, method_id: str, seed: int | str) -> RunJob:
        try:
            return self._runs[(dataset, backbone, method_id, int(seed))]
        except KeyError:
            raise PlanError(f"no planned run {dataset}/{backbone}/{method_id}/seed{seed}") from None

    def runs(self, method_ids: Iterable[str] | None = None, seeds: Iterable[int] | None = None) -> list[RunJob]:
        """Planned runs in grid order (dataset, backbone, method id, seed)."""
        ids = list(self.method_ids if method_ids is None else method_ids)
        seeds = list(self.seeds if seeds is None else seeds)
        return [self.run(d, b, m, s) for d in self.datasets for b in self.backbones for m in ids for s in seeds]

    def run_targets(self) -> list[str]:
        return [f"{job.folder}/metrics.json" for job in self.runs()]

    def provenance(self, method_id: str) -> dict[str, Any]:
        """The provenance of ``method_id``'s runs (the same for every cell of it)."""
        return self.run(self.datasets[0], self.backbones[0], method_id, self.seeds[0]).provenance

    def substitutions(self, method_ids: Iterable[str]) -> dict[str, dict[str, str]]:
        out = {m: self.provenance(m).get("substitutions") for m in method_ids}
        return {m: s for m, s in out.items() if s}

    # ------------------------------------------------------------------ upstream jobs
    def _record_upstream(self, path: str, kind: str, settings: dict, reps: str) -> None:
        known = self._upstream.get(path)
        if known is not None and known["settings"] != settings:
            changed = sorted(k for k in {*settings, *known["settings"]} if settings.get(k) != known["settings"].get(k))
            raise PlanError(
                f"two runs need {path} ({kind}) with different settings ({', '.join(changed)}), "
                "and its name does not say which: a sweep of a key that this job reads but "
                "its output name does not carry cannot be planned"
            )
        self._upstream[path] = {"kind": kind, "settings": settings, "reps": reps}

    def job_settings(self, path: str) -> dict[str, Any]:
        """The settings of the upstream job (rec_pca, random_features, similar_users) that
        writes ``path``: exactly the keys it reads. A Rec-PCA output no run needs (asked
        for by name) has the settings its name says, the configured ones elsewhere."""
        path = str(path)
        if path in self._upstream:
            return self._upstream[path]["settings"]
        named = RECPCA_NAME.fullmatch(path)
        if named is None:
            raise PlanError(f"{path} is not an output that any planned run needs")
        settings = {k: self.config["tf_llmer"][k] for k in RECPCA_GRAPH_KEYS + RECPCA_INPUT_KEYS}
        for key, text in re.findall(f"~({KEY})=({VALUE})", named["variant"]):
            settings[key] = parse_value(text, settings.get(key))
        alpha = float(named["alpha"])
        job = {"d": int(named["d"]), **{k: settings[k] for k in RECPCA_INPUT_KEYS}}
        if alpha == 0:
            return {**job, "alpha": 0, "K": 0, "recpca_form": "raw"}
        form = (named["form"] or "_raw")[1:]
        return {**job, "alpha": alpha, "K": int(named["K"]), "recpca_form": form,
                **{k: settings[k] for k in RECPCA_GRAPH_KEYS}}  # fmt: skip

    def upstream(self, path: str) -> dict[str, Any]:
        return self._upstream[str(path)]

    def cost_stages(self, method_id: str) -> dict[str, list[str]]:
        """{stage: [benchmark file patterns]} of a method's pipeline, for the cost table
        ({dataset}, {backbone}, {method}, {seed} filled in per run); keep in step with the
        rules' ``benchmark:`` paths."""
        spec = registry.method(self.base_method(method_id))
        need = _Request(self, "{dataset}", "{seed}", record=False)
        inputs = spec.inputs(need, self.method_settings(method_id)) if spec.inputs else {}
        stages = {"training": ["benchmarks/train/{dataset}/{backbone}/{method}/seed{seed}.tsv"]}
        vectors = inputs.get("item_vectors", "")
        job = need.upstream.get(vectors)
        if job is not None and job["kind"] == "rec_pca":  # X, then Rec-PCA
            stages.update(reps_benchmarks(job["reps"]))
            stages["rec_pca"] = ["benchmarks/rec_pca/" + vectors[len("results/recpca/") : -len(".npy")] + ".tsv"]
        elif vectors:
            stages.update(reps_benchmarks(Path(vectors).stem))
        for path, job in need.upstream.items():
            if job["kind"] == "similar_users":  # a retrieval on top of the embedding
                stages.setdefault("embedding", []).append(f"benchmarks/similar_users/{{dataset}}/{job['reps']}.tsv")
        return stages

    # ------------------------------------------------------------------ other stages
    def finetune_settings(self, section: str) -> dict[str, Any]:
        """The llm2rec / llmemb fine-tuning settings: the section (the originals' values,
        without LLMEmb's ``rat``, which its runs read) with the experiment's overrides."""
        return deep_merged(finetune_section(self.config, section), self.exp.get(section))

    def fetch_targets(self, hub_cache: str) -> list[str]:
        """Everything the experiment needs from outside (the `fetch` target, for the login
        node): the Amazon downloads, every hub model it names, the hand-downloaded Yelp files."""
        targets = []
        models = {self.exp["llm"], self.exp["sentence_encoder"], *(self.finetune_settings(s)["model"] for s in ("llm2rec", "llmemb"))}
        for model in sorted(models):
            if self.config["models"][model]["spec"]["source"] == "hub":
                targets.append(f"{hub_cache}/llmrec-fetched/{model}.json")
        for dataset in self.datasets:
            entry = self.config["datasets"][dataset]
            if entry["source"] == "amazon2018":
                targets += [f"resources/amazon2018/{dataset}/{kind}.json.gz" for kind in ("reviews", "meta")]
            elif entry["source"] in ("yelp", "yelp2013"):
                targets += [f"{entry['dir']}/{entry[key]}" for key in ("review_file", "business_file")]
        return targets

    def wildcard_constraints(self) -> dict[str, str]:
        models = _alternatives(self.config["models"])
        every_method = sorted({m for e in self.config["experiments"].values() for m in e["methods"]})
        return {
            "dataset": _alternatives(self.config["datasets"]),
            "backbone": _alternatives(self.config["backbones"]),
            "method": f"({_alternatives(every_method)})(~{KEY}={VALUE})*",
            "seed": r"\d+",
            "kind": "reviews|meta",
            "model": models,
            "reps": f"(random-)?((llm2rec|llmemb)-)?({models})",
            "alpha": NUMBER,
            "K": r"\d+",
            "d": r"\d+",
            # Rec-PCA: the formulation's suffix (empty for raw), then keys its name does not carry
            "variant": f"(_trace_normalized)?(~{KEY}={VALUE})*",
        }


def standalone_settings(config: Mapping[str, Any], backbone: str, method: str = "RandInit", seed: int = 0) -> dict:
    """What a run of ``method`` on ``backbone`` reads without any experiment's overrides
    (``training``, the backbone's entry, the method's run keys): what the standalone
    tools (tools/seed_sweep.py, tools/benchmark_backbones.py) measure."""
    config = copy.deepcopy(dict(config))
    config["experiments"][config["experiment"]].update(methods=[method], backbones=[backbone], seeds=[seed], sweeps={})
    plan = Plan(config)
    job = plan.runs()[0]
    return {**job.settings, **plan.training_settings(backbone, experiment_overrides=False)}


def _sortable(values, default) -> bool:
    kinds = {_sort_key(v)[0] for v in [*values, default]}
    return len(kinds) == 1


def _alternatives(names) -> str:
    return "|".join(re.escape(n) for n in names)


def reps_benchmarks(reps: str) -> dict[str, list[str]]:
    """{stage: [benchmark patterns]} of what makes the item representation ``reps``."""
    if reps.startswith("random-"):  # drawn in no time from the representation it mimics
        return reps_benchmarks(reps[len("random-") :])
    for family, stages in (("llm2rec", ("csft", "mntp", "simcse")), ("llmemb", ("scft",))):
        if reps.startswith(f"{family}-"):
            model = reps[len(family) + 1 :]
            folder = f"benchmarks/{family}/{{dataset}}/{model}"
            return {
                "llm_finetune": [f"{folder}-{stage}.tsv" for stage in stages],
                "embedding": [f"{folder}-encode.tsv"],
            }
    return {"embedding": [f"benchmarks/encode_items/{{dataset}}/{reps}.tsv"]}
