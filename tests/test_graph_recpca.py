"""Co-occurrence graph, Laplacians, Rec-PCA and the diagnostics against brute force."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from llmrec import diagnostics, graph, recpca


def brute_cooccurrence(sequences, n_items, window):
    a = np.zeros((n_items, n_items))
    for s in sequences:
        for t in range(len(s)):
            for o in range(1, window + 1):
                if t + o < len(s) and s[t] != s[t + o]:
                    a[s[t] - 1, s[t + o] - 1] += 1
                    a[s[t + o] - 1, s[t] - 1] += 1
    return a


@pytest.mark.parametrize("window", [1, 2, 5, 100])
def test_cooccurrence_matches_brute_force(window):
    rng = np.random.default_rng(window)
    seqs = [rng.integers(1, 9, size=rng.integers(1, 12)) for _ in range(20)]
    a = graph.cooccurrence(seqs, 8, window)
    assert np.array_equal(a.toarray(), brute_cooccurrence(seqs, 8, window))
    assert (a != a.T).nnz == 0 and a.diagonal().sum() == 0


def test_graph_uses_only_what_it_is_given_the_training_part():
    # a processed-data style split: the training part never contains valid/test items
    seqs = [np.array([1, 2, 3, 4, 5]), np.array([2, 3, 6, 7])]
    train = [s[:-2] for s in seqs]
    a = graph.cooccurrence(train, 7, 10).toarray()
    assert a[3:, :].sum() == 0 and a[:, 3:].sum() == 0  # items 4..7 only in valid/test
    assert a[0, 1] == 1 and a[1, 2] == 2 and a[0, 2] == 1


def test_top_k_keeps_strongest_neighbours_symmetrically():
    a = sp.csr_matrix(
        np.array([[0, 5, 1, 3], [5, 0, 2, 0], [1, 2, 0, 4], [3, 0, 4, 0]], dtype=float)
    )
    k1 = graph.top_k_neighbours(a, 1).toarray()
    # item0 -> 1 (5), item1 -> 0 (5), item2 -> 3 (4), item3 -> 2 (4)
    expected = np.zeros((4, 4))
    expected[0, 1] = expected[1, 0] = 5
    expected[2, 3] = expected[3, 2] = 4
    assert np.array_equal(k1, expected)
    assert np.array_equal(graph.top_k_neighbours(a, 3).toarray(), a.toarray())


def test_laplacians():
    rng = np.random.default_rng(0)
    dense = rng.integers(0, 3, (6, 6)).astype(float)
    dense = np.triu(dense, 1) + np.triu(dense, 1).T
    dense[5, :] = dense[:, 5] = 0  # an isolated item
    a = sp.csr_matrix(dense)
    deg = dense.sum(1)
    lu = graph.laplacian(a, "unnorm").toarray()
    assert np.allclose(lu, np.diag(deg) - dense)
    ls = graph.laplacian(a, "sym").toarray()
    inv_sqrt = np.where(deg > 0, 1 / np.sqrt(np.where(deg > 0, deg, 1)), 0)
    expected = np.diag((deg > 0).astype(float)) - inv_sqrt[:, None] * dense * inv_sqrt[None]
    assert np.allclose(ls, expected)
    assert np.allclose(ls[5], 0) and np.allclose(ls[:, 5], 0)
    eig = np.linalg.eigvalsh(ls)
    assert eig.min() > -1e-9 and eig.max() < 2 + 1e-9


def test_total_variation_identity():
    rng = np.random.default_rng(1)
    dense = rng.random((7, 7)) * (rng.random((7, 7)) < 0.5)
    dense = np.triu(dense, 1) + np.triu(dense, 1).T
    z = rng.normal(size=(7, 3))
    brute = 0.5 * sum(dense[i, j] * np.sum((z[i] - z[j]) ** 2) for i in range(7) for j in range(7))
    lap = graph.laplacian(sp.csr_matrix(dense), "unnorm")
    assert graph.total_variation(z, lap) == pytest.approx(brute)


def random_problem(seed, n=60, dim=12):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dim)) * rng.uniform(0.2, 5, size=(n, 1))  # norm disparity
    seqs = [rng.integers(1, n + 1, size=8) for _ in range(40)]
    lap = graph.laplacian(graph.build_graph(seqs, n, k=3, window=2), "sym")
    return x, lap


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_rec_pca_beats_random_orthonormal_projections(alpha):
    x, lap = random_problem(2)
    d = 4
    proj = recpca.rec_pca(x, lap, d, alpha)
    xbar, _ = recpca.prepare(x)
    best = recpca.objective(xbar, lap, proj.w, alpha)
    rng = np.random.default_rng(3)
    for _ in range(2000):
        w, _ = np.linalg.qr(rng.normal(size=(x.shape[1], d)))
        assert recpca.objective(xbar, lap, w, alpha) <= best + 1e-9
    assert np.allclose(proj.w.T @ proj.w, np.eye(d), atol=1e-10)
    assert best == pytest.approx(proj.eigenvalues.sum(), rel=1e-6)


def test_alpha_zero_is_pca_from_svd():
    x, lap = random_problem(4)
    proj = recpca.rec_pca(x, lap, 5, alpha=0.0)
    xbar, _ = recpca.prepare(x)
    _, s, vt = np.linalg.svd(xbar.astype(np.float64), full_matrices=False)
    assert np.allclose(proj.eigenvalues, s[:5] ** 2, rtol=1e-5)
    # same subspace (columns may differ in sign only)
    assert np.allclose(np.abs(proj.w.T @ vt[:5].T), np.eye(5), atol=1e-5)
    assert proj.z.dtype == np.float32 and proj.z.shape == (x.shape[0], 5)


def test_rec_pca_lowers_total_variation_as_alpha_grows():
    x, lap = random_problem(5)
    tv = [graph.total_variation(recpca.rec_pca(x, lap, 4, a).z, lap) for a in (0, 0.5, 1.0)]
    assert tv[0] >= tv[1] >= tv[2]


@pytest.mark.parametrize("alpha", [0.3, 1.0, 5.0])
def test_trace_normalized_form_against_brute_force(alpha):
    """The objective of the optimum equals the sum of M's top-d eigenvalues, M is
    G / tr(G) - alpha H / tr(H) built densely, and no random orthonormal basis beats it."""
    x, lap = random_problem(7)
    d = 4
    proj = recpca.rec_pca(x, lap, d, alpha, form="trace_normalized")
    xbar, _ = recpca.prepare(x)
    x64, dense_l = xbar.astype(np.float64), lap.toarray()
    g, h = x64.T @ x64, x64.T @ dense_l @ x64
    m = g / np.trace(g) - alpha * h / np.trace(h)
    expected = np.sort(np.linalg.eigvalsh(m))[::-1][:d]
    assert np.allclose(proj.eigenvalues, expected, atol=1e-6)
    best = recpca.objective(xbar, lap, proj.w, alpha, form="trace_normalized")
    assert best == pytest.approx(expected.sum(), abs=1e-6)
    assert best == pytest.approx(np.trace(proj.w.T @ m @ proj.w), abs=1e-6)
    rng = np.random.default_rng(8)
    for _ in range(2000):
        w, _ = np.linalg.qr(rng.normal(size=(x.shape[1], d)))
        assert recpca.objective(xbar, lap, w, alpha, form="trace_normalized") <= best + 1e-9


def test_trace_normalized_alpha_zero_is_pca():
    x, lap = random_problem(9)
    pca = recpca.rec_pca(x, lap, 5, 0.0)
    normed = recpca.rec_pca(x, lap, 5, 0.0, form="trace_normalized")
    assert np.allclose(np.abs(pca.w.T @ normed.w), np.eye(5), atol=1e-5)
    xbar, _ = recpca.prepare(x)
    total = float(np.sum(xbar.astype(np.float64) ** 2))
    assert np.allclose(normed.eigenvalues * total, pca.eigenvalues, rtol=1e-5)


def test_trace_normalized_moves_further_from_pca_than_raw():
    """The reason for the form: raw M ~ (1 - alpha) X^T X when X^T L X ~ X^T X."""
    x, lap = random_problem(10, n=200, dim=16)
    xbar, _ = recpca.prepare(x)
    cos = {}
    for form in recpca.FORMS:
        w = recpca.rec_pca(x, lap, 4, 0.5, form=form).w
        cos[form] = recpca.diagnostics(xbar, lap, w)["pca_mean_principal_cosine"]
    assert cos["trace_normalized"] < cos["raw"]


def test_unknown_form_is_rejected():
    x, lap = random_problem(6)
    with pytest.raises(ValueError, match="unknown Rec-PCA form"):
        recpca.rec_pca(x, lap, 4, 0.5, form="other")


def test_diagnostics_against_direct_computation():
    x, lap = random_problem(11)
    xbar, _ = recpca.prepare(x)
    x64, dense_l = xbar.astype(np.float64), lap.toarray()
    w = recpca.rec_pca(x, lap, 3, 0.8).w
    info = recpca.diagnostics(xbar, lap, w, top=4)
    g, h = x64.T @ x64, x64.T @ dense_l @ x64
    _, _, vt = np.linalg.svd(x64, full_matrices=False)
    cosines = np.linalg.svd(vt[:3] @ w, compute_uv=False)
    assert np.allclose(info["pca_principal_cosines"], cosines, atol=1e-6)
    assert info["pca_mean_principal_cosine"] == pytest.approx(cosines.mean(), abs=1e-6)
    assert info["retention"] == pytest.approx(np.trace(w.T @ g @ w), rel=1e-6)
    assert info["graph_total_variation"] == pytest.approx(
        graph.total_variation(x64 @ w, lap), rel=1e-6
    )
    assert info["retained_variance_fraction"] == pytest.approx(
        np.trace(w.T @ g @ w) / np.trace(g), rel=1e-6
    )
    assert np.allclose(info["top_eigenvalues_xtx"], np.linalg.eigvalsh(g)[::-1][:4], rtol=1e-5)
    assert np.allclose(info["top_eigenvalues_xtlx"], np.linalg.eigvalsh(h)[::-1][:4], rtol=1e-5)
    # PCA against itself: every cosine 1, and no graph without a Laplacian
    pca_w = recpca.rec_pca(x, None, 3, 0.0).w
    alone = recpca.diagnostics(xbar, None, pca_w)
    assert np.allclose(alone["pca_principal_cosines"], 1.0, atol=1e-6)
    assert alone["graph_total_variation"] is None and alone["top_eigenvalues_xtlx"] is None


def test_rec_pca_rejects_bad_input():
    x, lap = random_problem(6)
    with pytest.raises(ValueError, match="output dimension"):
        recpca.rec_pca(x, lap, 100, 0.5)
    x[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        recpca.rec_pca(x, lap, 4, 0.5)


@pytest.mark.parametrize("tau", [1.0, 0.2])
def test_rho_matches_dense_hessian_of_ce_over_effective_items(tau):
    torch.manual_seed(0)
    n_rows, d, m = 30, 6, 4
    table = torch.randn(n_rows, d, dtype=torch.float64)
    h = torch.randn(3, d, dtype=torch.float64)
    pos = torch.tensor([3, 7, 11])
    rho = diagnostics.effective_condition_numbers(h, table, pos, hard_negatives=m, tau=tau)
    for b in range(3):
        logits = (h[b] @ table.T / tau).clone()
        logits[0] = float("-inf")
        others = logits.clone()
        others[pos[b]] = float("-inf")
        support = torch.cat([pos[b : b + 1], others.topk(m).indices])

        def loss(v):
            s = v @ table[support].T / tau
            return -torch.log_softmax(s, 0)[0]

        hess = torch.autograd.functional.hessian(loss, h[b])
        eig = torch.linalg.eigvalsh(hess)
        eig = eig[eig > 1e-8 * eig.max()]
        assert rho[b].item() == pytest.approx((eig.max() / eig.min()).item(), rel=1e-4)


def test_rho_with_unit_rows_bounds_top_eigenvalue():
    # with unit-norm items, tr(H) <= 1 / tau^2: the curvature bound behind normalisation
    torch.manual_seed(1)
    table = torch.nn.functional.normalize(torch.randn(50, 8), dim=1)
    h = torch.randn(5, 8) * 10
    rho = diagnostics.effective_condition_numbers(h, table, torch.arange(1, 6))
    assert torch.isfinite(rho).all() and (rho >= 1).all()


def test_norm_statistics_and_alignment():
    table = np.array([[3.0, 4.0], [0.0, 1.0], [1.0, 0.0]])
    stats = diagnostics.norm_statistics(table)
    assert stats["norm_max_min_ratio"] == pytest.approx(5.0)
    assert stats["norm_mean"] == pytest.approx(7 / 3)
    a = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=float))
    lap = graph.laplacian(a, "unnorm")
    # unit rows: (0.6,0.8) and (0,1) linked: tv = |e0-e1|^2 / tr(E^T E)=3
    expected = ((0.6 - 0) ** 2 + (0.8 - 1) ** 2) / 3
    assert diagnostics.alignment_tv(table, lap) == pytest.approx(expected)


def test_alpha_curve_starts_at_pca_and_trades_variance_for_smoothness():
    x, lap = random_problem(12, n=120, dim=14)
    xbar, _ = recpca.prepare(x)
    alphas = [0.0, 0.25, 0.5, 1.0, 2.0, 5.0]
    rows = recpca.alpha_curve(xbar, lap, 4, alphas)
    assert len(rows) == len(alphas) * len(recpca.FORMS)
    for form in recpca.FORMS:
        curve = [r for r in rows if r["form"] == form]
        assert curve[0]["mean_principal_cosine"] == pytest.approx(1.0, abs=1e-6)
        retained = [r["retained_variance_fraction"] for r in curve]
        tv = [r["graph_tv_fraction"] for r in curve]
        # the optimum of f - alpha g: f and g both non-increasing in alpha
        assert all(a >= b - 1e-9 for a, b in zip(retained, retained[1:]))
        assert all(a >= b - 1e-9 for a, b in zip(tv, tv[1:]))
        assert retained[-1] < retained[0] and tv[-1] < tv[0]
    # each point is the subspace rec_pca finds
    point = next(r for r in rows if r["form"] == "trace_normalized" and r["alpha"] == 1.0)
    w = recpca.rec_pca(x, lap, 4, 1.0, form="trace_normalized").w
    info = recpca.diagnostics(xbar, lap, w)
    assert point["mean_principal_cosine"] == pytest.approx(info["pca_mean_principal_cosine"])
    assert point["retained_variance_fraction"] == pytest.approx(info["retained_variance_fraction"])


def test_recpca_alpha_figure_is_written(tmp_path):
    import matplotlib.image
    import pandas as pd

    from llmrec.report import figures

    x, lap = random_problem(13)
    xbar, _ = recpca.prepare(x)
    frame = pd.DataFrame(recpca.alpha_curve(xbar, lap, 3, [0, 0.5, 1, 2])).assign(dataset="d")
    pdf, png = tmp_path / "f.pdf", tmp_path / "f.png"
    figures.recpca_alpha(frame, pdf, png, dpi=60)
    image = matplotlib.image.imread(png)
    assert image.ndim == 3 and image.std() > 0 and pdf.read_bytes()[:5] == b"%PDF-"


def test_rec_pca_rule_writes_the_form_and_diagnostics(workdir):
    """The rule's file name carries the form (raw: no suffix) and its JSON the diagnostics."""
    import json

    from conftest import snakemake
    from test_llm_finetune import write_processed

    write_processed(workdir / "results/data/ml-100k")
    reps = workdir / "results/reps/ml-100k/llm2rec-smollm2.npy"
    reps.parent.mkdir(parents=True)
    np.save(reps, np.random.default_rng(0).normal(size=(16, 10)).astype("f4"))
    folder = "results/recpca/ml-100k/llm2rec-smollm2"
    targets = [f"{folder}/d4_alpha0.5_K3.npy", f"{folder}/d4_alpha0.5_K3_trace_normalized.npy"]
    snakemake("--cores", "1", "--allowed-rules", "rec_pca", "--", *targets, cwd=workdir)
    raw = json.loads((workdir / f"{folder}/d4_alpha0.5_K3.json").read_text())
    normed = json.loads((workdir / f"{folder}/d4_alpha0.5_K3_trace_normalized.json").read_text())
    assert (raw["recpca_form"], normed["recpca_form"]) == ("raw", "trace_normalized")
    for info in (raw, normed):
        assert len(info["pca_principal_cosines"]) == 4 and info["graph_edges"] > 0
        assert 0 < info["retained_variance_fraction"] <= 1
        assert info["graph_total_variation"] <= info["pca_graph_total_variation"] + 1e-6
        assert len(info["top_eigenvalues_xtx"]) == 10 and len(info["top_eigenvalues_xtlx"]) == 10
