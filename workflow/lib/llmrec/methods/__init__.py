"""Registry of the methods that produce the item table.

A method is a function ``build(ctx: MethodContext) -> ItemEmbedding``
(:mod:`.context`): ``ctx`` carries the catalogue and hidden sizes, the run's settings (the
method reads its own keys), the files of earlier stages (``ctx.vectors()`` loads and checks
item vectors), whether the backbone needs a [MASK] row, and the dataset (only its training
part may be used); ``ctx.item_embedding(...)`` builds the table. Modules register their
builder with ``@register("name")``; this package imports them so that ``get(name)`` finds
every method.

A method that changes more than the item table registers a ``wrap(backbone, ctx) ->
nn.Module`` too (``@register("name", wrap=...)``); the result must behave as a backbone
towards the trainer (``forward``, ``training_pairs``, ``sequence_representation``,
``item_embedding``, ...; see :class:`~llmrec.methods.wrapping.WrappedBackbone`) and may add
an ``auxiliary_loss``.
"""

from __future__ import annotations

from typing import Callable

_REGISTRY: dict[str, Callable] = {}
_WRAPPERS: dict[str, Callable] = {}


def register(name: str, wrap: Callable | None = None) -> Callable[[Callable], Callable]:
    """Decorator: make ``build`` available as ``get(name)`` (and ``wrap`` as
    ``wrapper(name)``)."""

    def add(build: Callable) -> Callable:
        if name in _REGISTRY and _REGISTRY[name] is not build:
            raise ValueError(f"method {name!r} is already registered")
        _REGISTRY[name] = build
        if wrap is not None:
            _WRAPPERS[name] = wrap
        return build

    return add


def wrapper(name: str) -> Callable | None:
    """The method's backbone wrapper, or None when it only builds the item table."""
    get(name)  # unknown names fail with the list of methods
    return _WRAPPERS.get(name)


def get(name: str) -> Callable:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown method {name!r}; available: {', '.join(available())}") from None


def available() -> list[str]:
    return sorted(_REGISTRY)


# Imported for their @register side effect; keep at the bottom (they import register).
from . import (  # noqa: E402,F401
    alphafuse,
    llm2rec,
    llm_esr,
    llmemb,
    llminit,
    randinit,
    random_feat,
    tf_llmer,
    whitenrec,
)
