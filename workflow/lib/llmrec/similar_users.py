"""LLM-ESR's retrieval of similar users (``get_user_embedding.ipynb`` and
``retrieval_users.ipynb``): each user's training history as a text, embedded by a text
encoder, and the users of highest cosine similarity.

Only the training part of each sequence enters the text (``SequenceData.train_sequences``),
so no validation or test item can shape whom a user is distilled towards.
"""

from __future__ import annotations

import numpy as np
import torch

#: the original's prompt (its spelling kept)
USER_PROMPT = "The user has visited following {domain}: \n{titles} \nplease conclude the user's perference."


def user_texts(train_sequences, titles: list[str], domain: str = "items", max_chars: int = 1000) -> list[str]:
    """One prompt per user listing the titles of its training items, oldest first.

    ``titles[k]`` is the title of item id k + 1. Only the most recent titles that fit in
    ``max_chars`` are kept (the original keeps the last 8000 characters), so that the
    encoder's token limit never cuts the latest items.
    """
    texts = []
    for seq in train_sequences:
        kept, size = [], 0
        for item in reversed(np.asarray(seq).tolist()):
            title = titles[item - 1]
            if kept and size + len(title) + 2 > max_chars:
                break
            kept.append(title)
            size += len(title) + 2
        texts.append(USER_PROMPT.format(domain=domain, titles=", ".join(reversed(kept))))
    return texts


def most_similar(vectors: np.ndarray, k: int, block: int = 4096) -> np.ndarray:
    """(U, k) indices of each row's k most cosine-similar other rows, most similar first
    (ties by lower index)."""
    x = torch.nn.functional.normalize(torch.as_tensor(np.asarray(vectors), dtype=torch.float64), dim=1)
    n = x.shape[0]
    if not 1 <= k < n:
        raise ValueError(f"cannot retrieve {k} similar users among {n} users")
    out = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, block):
        sims = x[start : start + block] @ x.T
        rows = torch.arange(sims.shape[0])
        sims[rows, rows + start] = -torch.inf  # never oneself
        # a stable sort on -similarity keeps lower indices first among ties
        order = torch.sort(-sims, dim=1, stable=True).indices[:, :k]
        out[start : start + block] = order.numpy()
    return out


def retrieve(
    data_dir,
    out_npy,
    spec: dict,
    settings: dict,
    encode_settings: dict,
    *,
    model_dir=None,
    info_json=None,
) -> dict:
    """Embed every user's history text and write its ``retrieved_users`` most similar
    users ((U, k) int64, row = user index of the processed data) plus a JSON record."""
    import json
    import time
    from pathlib import Path

    from . import io
    from .data import processed
    from .data.preprocess import item_title
    from .encoders import encode_settings as resolve_encode_settings
    from .encoders import encode_texts, read_item_texts
    from .encoders.sources import as_location

    data_dir = Path(data_dir)
    data = processed.load(data_dir)
    preprocess = json.loads((data_dir / "summary.json").read_text())["settings"]
    titles = [item_title(t, preprocess) for t in read_item_texts(data_dir / "items.tsv")]
    texts = user_texts(data.train_sequences(), titles, settings["user_domain"], int(settings["user_text_chars"]))
    options = resolve_encode_settings({**encode_settings, "max_tokens": int(settings["user_max_tokens"])})
    location = as_location(model_dir, kind=spec.get("kind")) if model_dir else as_location(spec)
    started = time.perf_counter()
    vectors = encode_texts(texts, location, **options)
    k = min(int(settings["retrieved_users"]), data.n_users - 1)
    similar = most_similar(vectors, k)
    io.write_npy(out_npy, similar)
    info = {
        "n_users": data.n_users,
        "retrieved_users": k,
        "model": location.describe(),
        "user_text_example": texts[0],
        "history": "training part only",
        "seconds": round(time.perf_counter() - started, 3),
    }
    io.write_json(info_json or Path(out_npy).with_suffix(".json"), info)
    return info
