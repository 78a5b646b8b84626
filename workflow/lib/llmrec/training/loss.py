"""Full-softmax cross-entropy over all items, optionally in chunks of positions.

The logits matrix (positions x items) is the largest tensor of a training step; with
60k items and a few thousand positions per batch it would not fit. Above an element
budget the loss is computed by :class:`_ChunkedSoftmaxCrossEntropy`, which never holds
more than one chunk of logits: the forward pass keeps only the inputs, the backward pass
recomputes each chunk's logits and turns them into gradients on the spot.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

DEFAULT_MAX_LOGIT_ELEMENTS = 2**25  # 32M floats = 128 MiB of logits at a time


def softmax_cross_entropy(
    queries: torch.Tensor,
    items: torch.Tensor,
    targets: torch.Tensor,
    max_logit_elements: int = DEFAULT_MAX_LOGIT_ELEMENTS,
) -> torch.Tensor:
    """Mean over positions of ``-log softmax(queries @ items.T)[target]``.

    ``queries``: (P, d) hidden states of the positions that have a label (gather them
    first: padding positions must not get logits); ``items``: (N, d); ``targets``: (P,)
    0-based row indices into ``items``.
    """
    n_positions, n_items = queries.shape[0], items.shape[0]
    if n_positions * n_items <= max_logit_elements:
        return F.cross_entropy(queries @ items.T, targets)
    chunk = max(1, max_logit_elements // n_items)
    return _ChunkedSoftmaxCrossEntropy.apply(queries, items, targets, chunk)


class _ChunkedSoftmaxCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, queries, items, targets, chunk):
        total = queries.new_zeros(())
        for start in range(0, queries.shape[0], chunk):
            logits = queries[start : start + chunk] @ items.T
            picked = logits.gather(1, targets[start : start + chunk, None]).squeeze(1)
            total += (torch.logsumexp(logits, dim=1) - picked).sum()
        ctx.save_for_backward(queries, items, targets)
        ctx.chunk = chunk
        return total / queries.shape[0]

    @staticmethod
    def backward(ctx, grad_output):
        queries, items, targets = ctx.saved_tensors
        scale = grad_output / queries.shape[0]
        grad_queries = torch.empty_like(queries) if ctx.needs_input_grad[0] else None
        grad_items = torch.zeros_like(items) if ctx.needs_input_grad[1] else None
        for start in range(0, queries.shape[0], ctx.chunk):
            part = queries[start : start + ctx.chunk]
            # d loss / d logits = softmax - one_hot(target), times the mean's 1/P
            grad_logits = torch.softmax(part @ items.T, dim=1)
            rows = torch.arange(part.shape[0], device=part.device)
            grad_logits[rows, targets[start : start + ctx.chunk]] -= 1.0
            grad_logits *= scale
            if grad_queries is not None:
                grad_queries[start : start + ctx.chunk] = grad_logits @ items
            if grad_items is not None:
                grad_items.addmm_(grad_logits.T, part)
        return grad_queries, grad_items, None, None
