"""RandomFeat: random vectors with the shape and norm distribution of the given ones."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../lib")
import numpy as np

from llmrec import io, logs
from llmrec.methods.random_feat import random_features


def main():
    x = np.load(snakemake.input.vectors)
    features = random_features(x, int(snakemake.params.seed))
    io.write_npy(snakemake.output.vectors, features)
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


logs.run_logged(main, snakemake.log[0])
