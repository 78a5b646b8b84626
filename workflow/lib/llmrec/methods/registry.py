"""The method registry: what each method builds and what it declares to the plan.

A method module registers itself with ``@register(name, ...)`` on its builder
``build(ctx: MethodContext) -> ItemEmbedding``. Next to the code it declares, for
:mod:`llmrec.plan`:

* ``section``: its config section (``None``: it has no settings of its own);
* ``run_keys``: the keys of that section its training run reads (dotted for a nested
  key, e.g. ``"rat.align_weight"``, handed to the run under its last part), or a
  function ``(settings, need) -> dict`` of them; the other keys configure earlier jobs,
  so they reach those jobs only (and a change of them reruns no training);
* ``inputs(need, settings) -> {name: path}``: what it reads from earlier stages, asked
  of a :class:`Needs` (``settings``: its section with a sweep point's override);
* ``substitutes``: what the original embedded item texts with, where our text model
  stands in (a report footnote; never part of a run's settings);
* ``wrap(backbone, ctx)``: for a method that changes more than the item table.

This module imports nothing heavy, so the registry has no upward arrows: method
modules import it, the trainer and the plan read it.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol


class Needs(Protocol):
    """What a method may ask the plan for (implemented by :class:`llmrec.plan.Plan`)."""

    def model(self, encoder: str) -> str:
        """The experiment's model for ``encoder`` (``llm`` | ``sentence_encoder``)."""

    def finetuned_model(self, section: str) -> str:
        """The model the ``llm2rec`` / ``llmemb`` fine-tuning stages tune."""

    def reps(self, name: str) -> str:
        """``results/reps/{dataset}/{name}.npy`` (a model's name, or ``llm2rec-<model>``,
        ``llmemb-<model>``); the job that writes it is the plan's business."""

    def random_reps(self, name: str, seed: int) -> str:
        """The name of Gaussian vectors with the shape and norms of representation ``name``
        (``random-<name>``), drawn with ``seed``."""

    def recpca(self, name: str, settings: Mapping[str, Any], pca: bool = False) -> str:
        """The Rec-PCA (``pca``: vanilla PCA) output of representation ``name``."""

    def similar_users(self, model: str, settings: Mapping[str, Any]) -> str:
        """LLM-ESR's similar users, embedded with ``model``."""

    def run_file(self, method: str, backbone: str, filename: str) -> str:
        """A file of another run of the same dataset and seed."""

    def section(self, name: str) -> Mapping[str, Any]:
        """Another config section as configured (no sweep override)."""


@dataclass(frozen=True)
class Method:
    name: str
    build: Callable
    wrap: Callable | None = None
    section: str | None = None
    run_keys: tuple[str, ...] | Callable[[Mapping[str, Any], Needs], dict[str, Any]] = ()
    inputs: Callable[[Needs, Mapping[str, Any]], dict[str, str]] | None = None
    substitutes: str | None = None


_REGISTRY: dict[str, Method] = {}


def register(name: str, wrap: Callable | None = None, **declaration) -> Callable[[Callable], Callable]:
    """Decorator: make ``build`` available as ``get(name)``, with its declaration."""

    def add(build: Callable) -> Callable:
        known = _REGISTRY.get(name)
        if known is not None and known.build is not build:
            raise ValueError(f"method {name!r} is already registered")
        _REGISTRY[name] = Method(name, build, wrap, **declaration)
        return build

    return add


def load_all() -> None:
    """Import every module of the methods package (each registers itself), so adding a
    method is adding its module."""
    package = importlib.import_module(__package__)
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{__package__}.{module.name}")


def method(name: str) -> Method:
    load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown method {name!r}; available: {', '.join(available())}") from None


def get(name: str) -> Callable:
    return method(name).build


def wrapper(name: str) -> Callable | None:
    """The method's backbone wrapper, or None when it only builds the item table."""
    return method(name).wrap


def available() -> list[str]:
    load_all()
    return sorted(_REGISTRY)
