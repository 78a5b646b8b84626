"""Training and evaluation of the backbones: batching, loss, trainer, resumable state.

Main entry: :func:`train_and_evaluate` (settings keys: :data:`TRAINER_KEYS` plus the
chosen backbone's ``KEYS``; their values come from config.yaml through the plan).
"""

from .evaluation import EvaluationSet, evaluate, evaluate_ranks
from .loss import softmax_cross_entropy
from .runtime import resolve_device, seed_everything
from .trainer import (
    TRAINER_KEYS,
    RunResult,
    build_model,
    make_optimizer,
    resolve_settings,
    train_and_evaluate,
    train_one_epoch,
    training_rows,
)

__all__ = [
    "EvaluationSet",
    "RunResult",
    "TRAINER_KEYS",
    "build_model",
    "evaluate",
    "evaluate_ranks",
    "make_optimizer",
    "resolve_device",
    "resolve_settings",
    "seed_everything",
    "softmax_cross_entropy",
    "train_and_evaluate",
    "train_one_epoch",
    "training_rows",
]
