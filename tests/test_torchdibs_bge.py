"""torchdibs: the BGe marginal likelihood."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import gammaln, multigammaln

import torchdibs as td

torch.set_num_threads(1)


def linear_gaussian_data(g: np.ndarray, n: int, seed: int, noise: float = 1.0) -> np.ndarray:
    """x [n, d] from x_j = Σ_i w_ij x_i + N(0, noise²), weights ±U(0.5, 2) on g's edges."""
    rng = np.random.default_rng(seed)
    d = len(g)
    w = g * rng.choice([-1.0, 1.0], size=(d, d)) * rng.uniform(0.5, 2.0, size=(d, d))
    x = np.zeros((n, d))
    done: list[int] = []
    while len(done) < d:  # ancestral order
        for j in range(d):
            if j not in done and all(i in done for i in np.nonzero(g[:, j])[0]):
                x[:, j] = x @ w[:, j] + noise * rng.normal(size=n)
                done.append(j)
    return x


def _t(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


def naive_bge(x: np.ndarray, g: np.ndarray, alpha_mu: float = 1.0) -> float:
    """BGe of one hard DAG by explicit submatrix determinants (Kuipers et al. 2014)."""
    n, d = x.shape
    alpha_l = d + 2.0
    t = alpha_mu * (alpha_l - d - 1) / (alpha_mu + 1)
    xbar = x.mean(0)
    s = (x - xbar).T @ (x - xbar)
    r = t * np.eye(d) + s + (n * alpha_mu / (n + alpha_mu)) * np.outer(xbar, xbar)
    total = 0.0
    for j in range(d):
        pa = list(np.nonzero(g[:, j])[0])
        fam = pa + [j]
        l = len(pa)
        ld_pa = np.linalg.slogdet(r[np.ix_(pa, pa)])[1] if pa else 0.0
        ld_fam = np.linalg.slogdet(r[np.ix_(fam, fam)])[1]
        total += (0.5 * (math.log(alpha_mu) - math.log(n + alpha_mu)) - 0.5 * n * math.log(math.pi)
                  + gammaln(0.5 * (n + alpha_l - d + l + 1)) - gammaln(0.5 * (alpha_l - d + l + 1))
                  + 0.5 * (alpha_l - d + 2 * l + 1) * math.log(t)
                  + 0.5 * (n + alpha_l - d + l) * ld_pa - 0.5 * (n + alpha_l - d + l + 1) * ld_fam)
    return total


def test_d2_complete_dag_matches_normal_wishart_evidence_by_hand():
    # For a complete DAG the BGe score is the Normal-Wishart marginal likelihood
    # p(D) = π^(-nd/2) (α_μ/(n+α_μ))^(d/2) Γ_d((n+α_λ)/2)/Γ_d(α_λ/2) |T|^(α_λ/2) |R|^(-(n+α_λ)/2)
    rng = np.random.default_rng(0)
    x1 = rng.normal(size=30)
    x = np.stack([x1, 1.5 * x1 + 0.5 * rng.normal(size=30) + 0.3], 1)  # x1 -> x2, non-zero mean
    n, d = x.shape
    a_mu, a_l = 1.0, d + 2.0
    t = a_mu * (a_l - d - 1) / (a_mu + 1)  # 0.25
    xbar = x.mean(0)
    r = t * np.eye(d) + (x - xbar).T @ (x - xbar) + n * a_mu / (n + a_mu) * np.outer(xbar, xbar)
    want = (-0.5 * n * d * math.log(math.pi) + 0.5 * d * math.log(a_mu / (n + a_mu))
            + multigammaln(0.5 * (n + a_l), d) - multigammaln(0.5 * a_l, d)
            + 0.5 * a_l * d * math.log(t) - 0.5 * (n + a_l) * np.linalg.slogdet(r)[1])
    bge = td.BGe(x=x)
    for g in ([[0, 1], [0, 0]], [[0, 0], [1, 0]]):
        assert bge.log_marginal(_t(g)).item() == pytest.approx(want, rel=1e-10)
    # and the empty graph differs (x1 and x2 are dependent)
    assert bge.log_marginal(_t([[0, 0], [0, 0]])).item() < want - 1.0


def test_markov_equivalent_dags_score_equal_and_others_differ():
    chain = np.array([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]])
    x = linear_gaussian_data(chain, 60, seed=1)
    bge = td.BGe(x=x)
    rev = chain.T  # 4 -> 3 -> 2 -> 1
    fork = np.array([[0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]])  # 1 <- 2 -> 3 -> 4
    vstruct = np.array([[0, 1, 0, 0], [0, 0, 0, 0], [0, 1, 0, 1], [0, 0, 0, 0]])  # 1 -> 2 <- 3 -> 4
    s = bge.log_marginal(_t(np.stack([chain, rev, fork, vstruct])))
    assert s[1].item() == pytest.approx(s[0].item(), rel=1e-10)
    assert s[2].item() == pytest.approx(s[0].item(), rel=1e-10)
    assert abs(s[3].item() - s[0].item()) > 1e-3


def test_covered_edge_reversals_keep_the_score():
    # reversing a covered edge i -> j (pa(j) = pa(i) ∪ {i}) stays in the equivalence class
    rng = np.random.default_rng(2)
    d = 6
    g = np.triu((rng.random((d, d)) < 0.6).astype(int), k=1)
    x = linear_gaussian_data(g, 80, seed=3)
    bge = td.BGe(x=x)
    base = bge.log_marginal(_t(g)).item()
    n_checked = 0
    for i, j in zip(*np.nonzero(g)):
        pa_i, pa_j = set(np.nonzero(g[:, i])[0]), set(np.nonzero(g[:, j])[0])
        if pa_j == pa_i | {i}:
            g2 = g.copy()
            g2[i, j], g2[j, i] = 0, 1
            assert bge.log_marginal(_t(g2)).item() == pytest.approx(base, rel=1e-10)
            n_checked += 1
    assert n_checked >= 1


def test_soft_bge_at_01_inputs_equals_hard_bge():
    rng = np.random.default_rng(4)
    d = 5
    x = linear_gaussian_data(np.triu(np.ones((d, d), int), 1), 40, seed=5)
    bge = td.BGe(x=x)
    graphs = []
    for _ in range(12):
        perm = rng.permutation(d)
        graphs.append(np.triu((rng.random((d, d)) < 0.5).astype(int), 1)[perm][:, perm])
    gs = _t(np.stack(graphs))  # [12, d, d]
    naive = np.array([naive_bge(x, g) for g in graphs])
    soft_path = bge.log_marginal(gs).numpy()  # masked-matrix (differentiable) path
    hard_path = bge.log_marginal_hard(gs).numpy()  # deduplicated 0/1 path
    np.testing.assert_allclose(soft_path, naive, rtol=1e-10)
    np.testing.assert_allclose(hard_path, naive, rtol=1e-10)
    # continuity: slightly soft inputs give nearly the same value, with finite gradients
    soft = (gs * (1 - 2e-6) + 1e-6).requires_grad_(True)
    val = bge.log_marginal(soft)
    np.testing.assert_allclose(val.detach().numpy(), naive, rtol=1e-4)
    (grad,) = torch.autograd.grad(val.sum(), soft)
    assert torch.isfinite(grad).all()


def test_soft_bge_gradient_matches_finite_differences():
    x = linear_gaussian_data(np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0]]), 25, seed=6)
    bge = td.BGe(x=x)
    g = torch.rand(3, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 0.8 + 0.1
    g = g * (1 - torch.eye(3, dtype=torch.float64))
    g.requires_grad_(True)
    (grad,) = torch.autograd.grad(bge.log_marginal(g), g)
    eps = 1e-6
    for i, j in [(0, 1), (1, 0), (2, 1), (0, 2)]:
        e = torch.zeros(3, 3, dtype=torch.float64)
        e[i, j] = eps
        fd = (bge.log_marginal(g.detach() + e) - bge.log_marginal(g.detach() - e)).item() / (2 * eps)
        assert grad[i, j].item() == pytest.approx(fd, rel=1e-5, abs=1e-6)


def test_interventional_rows_drop_the_intervened_nodes_own_term():
    g = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    x = linear_gaussian_data(g, 50, seed=7)
    mask = np.zeros_like(x, dtype=bool)
    mask[:15, 1] = True  # node 1 intervened on in the first 15 rows
    full = td.BGe(x=x).node_scores(_t(g))  # [3]
    interv = td.BGe(x=x, interv_mask=mask).node_scores(_t(g))
    rest = td.BGe(x=x[15:]).node_scores(_t(g))
    assert interv[1].item() == pytest.approx(rest[1].item(), rel=1e-10)  # node 1: its 35 observed rows
    assert interv[0].item() == pytest.approx(full[0].item(), rel=1e-10)  # others: every row
    assert interv[2].item() == pytest.approx(full[2].item(), rel=1e-10)
    assert abs(interv[1].item() - full[1].item()) > 1.0


@pytest.mark.parametrize("interv", [False, True])
@pytest.mark.parametrize("d", [12, 57, 75, 120])
def test_deduplicated_bge_equals_the_masked_path(d, interv):
    """The hard path (distinct families, compact Choleskys of submatrices gathered from R)
    must score every graph as the masked (differentiable) path does, sparse and dense, with
    repeated graphs; above 56 nodes a parent set is packed into several words; with
    interventions every node has its own R."""
    from torchdibs.likelihoods import _pack_bits, _unpack_bits

    rng = np.random.default_rng(d)
    x = rng.normal(size=(30, d))
    mask = rng.random((30, d)) < 0.2 if interv else None
    bge = td.BGe(x=x, interv_mask=mask)
    assert (bge._R_shared is None) == interv
    graphs = []
    for p_edge in (0.02, 0.3):
        for _ in range(2):
            perm = rng.permutation(d)
            graphs.append(np.triu((rng.random((d, d)) < p_edge).astype(int), 1)[perm][:, perm])
    gs = _t(np.stack(graphs + graphs[:1]))  # [5, d, d], the first graph twice
    hard = bge.log_marginal_hard(gs).numpy()
    np.testing.assert_allclose(hard, bge.log_marginal(gs).numpy(), rtol=1e-10)
    assert hard[0] == hard[-1]
    bits = torch.as_tensor(rng.random((7, d)) < 0.5)
    assert torch.equal(_unpack_bits(_pack_bits(bits), d), bits)


def test_unique_rows_matches_torch_unique_dim():
    from torchdibs.likelihoods import _unique_rows

    g = torch.Generator().manual_seed(0)
    rows = torch.randint(0, 3, (500, 4), generator=g) * torch.tensor([1, 2 ** 40, 7, 2 ** 55])  # repeats, large words
    uniq, inverse = _unique_rows(rows)
    ref = torch.unique(rows, dim=0)
    assert len(uniq) == len(ref)
    assert torch.equal(torch.unique(uniq, dim=0), ref)  # the same distinct rows, in some order
    assert torch.equal(uniq[inverse], rows)  # each row maps to its own value
    empty_u, empty_i = _unique_rows(rows[:0])
    assert empty_u.shape == (0, 4) and empty_i.shape == (0,)
