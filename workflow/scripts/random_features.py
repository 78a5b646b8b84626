"""RandomFeat: random vectors with the shape and norm distribution of the given ones."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../lib")
import numpy as np

from llmrec import io, logs
from llmrec.checks import check_item_vectors, write_item_vectors
from llmrec.methods.random_feat import random_features


def main():
    x = np.load(snakemake.input.vectors)
    check_item_vectors(x, snakemake.input.vectors, "the vectors RandomFeat mimics", "the rule that wrote it")
    features = random_features(x, int(snakemake.params.seed))
    write_item_vectors(snakemake.output.vectors, features, "RandomFeat", "the vectors it mimics")
    norms = np.linalg.norm(features, axis=1)
    io.write_json(
        snakemake.output.info,
        {
            "like": snakemake.input.vectors,
            "seed": int(snakemake.params.seed),
            "shape": list(features.shape),
            "norm": {"min": float(norms.min()), "mean": float(norms.mean()), "max": float(norms.max())},
        },
    )


logs.run_logged(main, snakemake.log[0], attempt=snakemake.resources.get("attempt", 1))
