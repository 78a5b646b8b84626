"""The methods that produce the item table, one module each.

A method is a function ``build(ctx: MethodContext) -> ItemEmbedding`` (:mod:`.context`):
``ctx`` carries the catalogue and hidden sizes, the run's settings (the method reads its
own keys), the files of earlier stages (``ctx.vectors()`` loads and checks item vectors),
whether the backbone needs a [MASK] row, and the dataset (only its training part may be
used); ``ctx.item_embedding(...)`` builds the table. A module registers its builder, and
declares what it needs from the plan, with ``@register("name", ...)``
(:mod:`.registry`); every module of this package is found without a list.

A method that changes more than the item table registers a ``wrap(backbone, ctx) ->
Backbone`` too; the result implements :class:`~llmrec.backbones.base.Backbone` (most
simply by subclassing :class:`~llmrec.methods.wrapping.WrappedBackbone`) and may add an
``auxiliary_loss``.
"""

from .registry import Method, Needs, available, get, method, register, wrapper

__all__ = ["Method", "Needs", "available", "get", "method", "register", "wrapper"]
