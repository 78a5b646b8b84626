"""Optimisation diagnostics logged every epoch: rho, alignment, item-norm statistics.

rho (a reconstruction: the paper names the quantity, not its estimator; README,
"Diagnostics"): the *effective* condition number of the Hessian of
the softmax cross-entropy with respect to the sequence representation h, restricted to
the effective items S = {positive} + the m highest-scoring other items. For softmax CE
with logits s_j = <h, e_j> / tau,

    H = (1 / tau^2) * sum_j p_j (e_j - e_bar)(e_j - e_bar)^T,   e_bar = sum_j p_j e_j,

so over S with q = softmax restricted to S (``renorm=True``: the Hessian of the CE over
the items of S only)

    H_S = (1 / tau^2) * sum_{j in S} q_j (e_j - e_bar_S)(e_j - e_bar_S)^T,

and rho = lambda_max(H_S) / lambda_min^+(H_S), the smallest eigenvalue above
``rel_tol * lambda_max`` (H_S has rank <= |S| - 1, and over all items lambda_min ~ 0).
With ``renorm=False`` the weights are the full-softmax p_j and the centre is the
full-softmax mean: the exact contribution of S to the full Hessian. The non-zero
eigenvalues are those of the small |S| x |S| matrix diag(sqrt q) C C^T diag(sqrt q),
C = rows e_j - e_bar. rho is scale-free, so tau only acts through the softmax.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch


@torch.no_grad()
def effective_condition_numbers(
    h: torch.Tensor,
    table: torch.Tensor,
    positives: torch.Tensor,
    hard_negatives: int = 10,
    tau: float = 1.0,
    renorm: bool = True,
    rel_tol: float = 1e-8,
    excluded: tuple[int, ...] = (0,),
) -> torch.Tensor:
    """rho for each row of ``h`` (B x d) against the scoring ``table`` (n_rows x d).

    ``positives`` are row indices of ``table``; rows in ``excluded`` (padding, mask
    token) are never candidates.
    """
    h, table = h.double(), table.double()
    logits = h @ table.T / tau
    if excluded:
        logits[:, list(excluded)] = float("-inf")
    batch = torch.arange(h.shape[0], device=h.device)
    others = logits.clone()
    others[batch, positives] = float("-inf")
    negatives = others.topk(hard_negatives, dim=1).indices
    support = torch.cat([positives[:, None], negatives], dim=1)  # (B, 1 + m)
    e = table[support]  # (B, |S|, d)
    if renorm:
        q = torch.softmax(logits.gather(1, support), dim=1)
        centre = (q[..., None] * e).sum(1)
    else:
        p = torch.softmax(logits, dim=1)
        q = p.gather(1, support)
        centre = p @ table
    c = (e - centre[:, None, :]) * q.sqrt()[..., None]
    eig = torch.linalg.eigvalsh(c @ c.transpose(1, 2))  # ascending, (B, |S|)
    top = eig[:, -1]
    nonzero = eig > rel_tol * top[:, None]
    smallest = torch.where(nonzero, eig, torch.full_like(eig, float("inf"))).min(1).values
    return (top / smallest).float()


def norm_statistics(table: np.ndarray) -> dict[str, float]:
    """Norm disparity of item rows: max/min ratio, coefficient of variation, mean."""
    norms = np.linalg.norm(np.asarray(table, dtype=np.float64), axis=1)
    return {
        "norm_max_min_ratio": float(norms.max() / max(norms.min(), 1e-12)),
        "norm_cv": float(norms.std() / max(norms.mean(), 1e-12)),
        "norm_mean": float(norms.mean()),
    }


def alignment_tv(table: np.ndarray, lap: sp.spmatrix) -> float:
    """Semantic-collaboration misalignment: tr(E^T L E) / tr(E^T E) of unit-normalised rows.

    Lower means co-occurring items point in closer directions. ``table`` holds items
    1..N in order (no padding row), matching the Laplacian.
    """
    e = np.asarray(table, dtype=np.float64)
    e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    return float(np.sum(e * (lap @ e)) / np.sum(e * e))


class EpochDiagnostics:
    """Epoch hook for the trainer: rho, item-norm statistics and graph alignment.

    rho is averaged (and its median logged) over a fixed, seeded sample of training
    pairs (history = a prefix of a user's training sequence, positive = the next
    item), so every epoch and every method sees the same sequences. The item table is
    taken as the model scores with it (after normalisation where the method normalises).
    """

    def __init__(
        self,
        train_sequences,
        n_items: int,
        *,
        sample_size: int = 256,
        hard_negatives: int = 10,
        renorm: bool = True,
        seed: int = 0,
        laplacian: sp.spmatrix | None = None,
    ) -> None:
        rng = np.random.default_rng(seed)
        usable = [s for s in train_sequences if len(s) >= 2]
        if not usable:
            raise ValueError("rho needs training sequences of length >= 2")
        picks = rng.integers(0, len(usable), size=sample_size)
        self.pairs = []
        for u in picks:
            seq = usable[u]
            cut = int(rng.integers(1, len(seq)))
            self.pairs.append((np.asarray(seq[:cut]), int(seq[cut])))
        self.n_items = n_items
        self.hard_negatives = hard_negatives
        self.renorm = renorm
        self.laplacian = laplacian

    def _batch(self, history_length: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        hist = torch.zeros(len(self.pairs), history_length, dtype=torch.long)
        for row, (prefix, _) in enumerate(self.pairs):
            tail = prefix[-history_length:]
            hist[row, history_length - len(tail) :] = torch.tensor(tail, dtype=torch.long)
        pos = torch.tensor([p for _, p in self.pairs], dtype=torch.long)
        return hist.to(device), pos.to(device)

    @torch.no_grad()
    def __call__(self, model, epoch: int) -> dict[str, float]:
        was_training = model.training
        model.eval()
        try:
            device = next(model.parameters()).device
            hist, pos = self._batch(model.history_length, device)
            emb = model.item_embedding
            table = emb.table()
            h = model.sequence_representation(hist, table)
            h_scaled, items = emb.scoring_operands(h, table)
            scoring = torch.cat([items.new_zeros(1, items.shape[1]), items])  # row = item id
            rho = effective_condition_numbers(
                h_scaled, scoring, pos, self.hard_negatives, renorm=self.renorm
            )
            out = {"rho": float(rho.mean()), "rho_median": float(rho.median())}
            vectors = items.detach().cpu().numpy()
            out.update(norm_statistics(vectors))
            if self.laplacian is not None:
                out["alignment_tv"] = alignment_tv(vectors, self.laplacian)
            return out
        finally:
            model.train(was_training)
