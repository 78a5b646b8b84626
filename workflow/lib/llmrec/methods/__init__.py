"""Registry of the methods that produce the item table.

A method is a function ``build(n_items, hidden_size, settings, inputs, *, mask_token)
-> ItemEmbedding``: ``settings`` is the run's settings dict (the method reads its own
keys), ``inputs`` a dict of whatever the method needs from earlier stages (item vectors,
...), ``mask_token`` whether the backbone needs a [MASK] row (BERT4Rec). Modules register
their builder with ``@register("name")``; this package imports them so that
``get(name)`` finds every method.
"""

from __future__ import annotations

from typing import Callable

_REGISTRY: dict[str, Callable] = {}


def register(name: str) -> Callable[[Callable], Callable]:
    """Decorator: make ``build`` available as ``get(name)``."""

    def add(build: Callable) -> Callable:
        if name in _REGISTRY and _REGISTRY[name] is not build:
            raise ValueError(f"method {name!r} is already registered")
        _REGISTRY[name] = build
        return build

    return add


def get(name: str) -> Callable:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown method {name!r}; available: {', '.join(available())}") from None


def available() -> list[str]:
    return sorted(_REGISTRY)


# Imported for their @register side effect; keep at the bottom (they import register).
from . import randinit, tf_llmer  # noqa: E402,F401
