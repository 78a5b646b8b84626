"""RandomFeat: a control that no paper here has. Random Gaussian vectors with the shape
and the norm distribution of the LLM item vectors (:func:`random_features`, made by the
``random_features`` rule) go through the same path as an LLM-based method
(``feature_path``):

* ``tf_llmer`` (default): Rec-PCA of the random vectors, then TF-LLMER's normalised table
  (the rule graph hands in the Rec-PCA output);
* ``adapter``: frozen random vectors through a trainable linear adapter (the path of
  LLM2Rec and WhitenRec).

Whatever it reaches without any text is what the text itself cannot be credited with.
"""

from __future__ import annotations

import numpy as np
import torch

from ..backbones.item_embedding import ItemEmbedding
from .registry import register
from .context import MethodContext
from . import tf_llmer
from .tf_llmer import table_builder

PATHS = ("tf_llmer", "adapter")


def random_features(vectors: np.ndarray, seed: int) -> np.ndarray:
    """N(0, I) rows of the same shape, rescaled to a random permutation of the row norms
    of ``vectors``: the same norm statistics, no link between an item and its text."""
    rng = np.random.default_rng(seed)
    norms = np.linalg.norm(np.asarray(vectors, dtype=np.float64), axis=1)
    noise = rng.standard_normal(vectors.shape)
    noise *= (rng.permutation(norms) / np.linalg.norm(noise, axis=1))[:, None]
    return noise.astype(np.float32)


_through_tf_llmer = table_builder(normalize=True)


def run_settings(settings, need) -> dict:
    """Its own path, plus TF-LLMER's table keys where it goes through TF-LLMER's path."""
    own = {"feature_path": settings["feature_path"]}
    if settings["feature_path"] == "tf_llmer":
        tf = need.section("tf_llmer")
        own.update({key: tf[key] for key in tf_llmer.RUN_KEYS})
    return own


def inputs(need, settings) -> dict[str, str]:
    """Random vectors mimicking TF-LLMER's X, reduced by TF-LLMER's Rec-PCA, or as they are."""
    tf = need.section("tf_llmer")
    random = need.random_reps(tf_llmer.source_reps(need, tf), settings["feature_seed"])
    if settings["feature_path"] == "tf_llmer":
        return tf_llmer.recpca_input(need, tf, random)
    return {"item_vectors": need.reps(random)}


@register("RandomFeat", section="random_feat", run_keys=run_settings, inputs=inputs)
def build(ctx: MethodContext) -> ItemEmbedding:
    path = ctx.settings["feature_path"]
    if path == "tf_llmer":
        return _through_tf_llmer(ctx)
    if path == "adapter":
        return ctx.item_embedding(mode="adapter", vectors=torch.from_numpy(ctx.vectors()))
    raise ValueError(f"unknown RandomFeat feature_path {path!r}; allowed: {', '.join(PATHS)}")
