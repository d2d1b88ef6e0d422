"""torchdibs: the latent graph model p(G | Z) and the acyclicity measure h(G)."""
from __future__ import annotations


import numpy as np
import pytest
import torch

import torchdibs as td
from dibs_helpers import all_graphs, seeded
from torchdibs.latent import edge_scores, log_prob_graphs, logistic_noise

torch.set_num_threads(1)




def test_edge_probs_at_t0_are_half_off_diagonal_and_zero_on_it():
    model = td.BGe(x=np.random.default_rng(0).normal(size=(20, 4)))
    dibs = td.MarginalDiBS(model=model, n_particles=3)
    z = dibs.init_state(seeded(0)).z  # [3, 4, 4, 2]
    p = td.edge_probs(z, dibs.alpha(0))  # [3, 4, 4]
    off = ~torch.eye(4, dtype=torch.bool)
    assert torch.all(p[:, off] == 0.5)
    assert torch.all(p.diagonal(dim1=-2, dim2=-1) == 0)
    assert dibs.alpha(10) == pytest.approx(10 * dibs.alpha_slope)  # linear schedule
    assert dibs.beta(7) == pytest.approx(7 * dibs.beta_slope)
    # later the scores matter: not all 0.5 any more
    assert not torch.all(td.edge_probs(z, dibs.alpha(10))[:, off] == 0.5)


def test_latent_graph_model_is_a_distribution_overall_graphs():
    z = 0.8 * torch.randn(2, 3, 2, 2, generator=seeded(1), dtype=torch.float64)  # [P, d, k, 2]
    g = all_graphs(3)  # [64, 3, 3]
    lp = log_prob_graphs(g[None], z[:, None], alpha=1.5)  # [2, 64]
    assert torch.allclose(lp.exp().sum(1), torch.ones(2, dtype=torch.float64))
    # and its edge marginals are σ(α s)
    marg = torch.einsum("pg,gij->pij", lp.exp(), g)
    assert torch.allclose(marg, td.edge_probs(z, 1.5))


def test_hard_samples_have_the_edge_probabilities_and_no_gradient():
    z = torch.randn(2, 4, 3, 2, generator=seeded(2)).requires_grad_(True)
    p = td.edge_probs(z, 0.7)
    g = td.sample_graphs(p, 4000, seeded(3))  # [2, 4000, 4, 4]
    assert not g.requires_grad
    assert torch.allclose(g.mean(1), p.detach(), atol=0.03)
    assert torch.all(g.diagonal(dim1=-2, dim2=-1) == 0)


def test_gumbel_soft_graphs_threshold_to_bernoulli_samples_of_p():
    # σ(τ(L + α s)) with L ~ Logistic(0, 1) becomes 1[L + α s > 0] as τ grows, which is
    # Bernoulli(σ(α s)): a wrong noise law (e.g. Gaussian) or sign would fail this
    z = torch.randn(2, 4, 3, 2, generator=seeded(4), dtype=torch.float64)
    eps = logistic_noise((2, 20000, 4, 4), seeded(5), dtype=torch.float64)
    g = td.soft_graphs(z, 0.9, eps, tau=1e4)  # [2, S, 4, 4]
    assert torch.allclose(g.mean(1), td.edge_probs(z, 0.9), atol=0.015)
    assert torch.all(g.diagonal(dim1=-2, dim2=-1) == 0)
    soft = td.soft_graphs(z, 0.9, eps[:, :10], tau=1.0)
    assert ((soft > 0) & (soft < 1))[:, :, ~torch.eye(4, dtype=torch.bool)].all()


def test_limit_graph_is_sign_of_u_v_transpose():
    z = torch.randn(3, 5, 4, 2, generator=seeded(6))
    g = td.limit_graphs(z).numpy()
    s = np.einsum("pik,pjk->pij", z[..., 0].numpy(), z[..., 1].numpy())
    want = (s > 0).astype(np.int8)
    want[:, np.arange(5), np.arange(5)] = 0
    assert g.dtype == np.int8 and np.array_equal(g, want)
    assert torch.allclose(edge_scores(z), torch.as_tensor(s), atol=1e-5)


def test_h_is_zero_on_dags_and_positive_on_cycles():
    rng = np.random.default_rng(0)
    d = 6
    perm = rng.permutation(d)
    dag = np.triu(rng.uniform(0.2, 1.0, size=(d, d)), k=1)[perm][:, perm]  # weighted DAG
    assert td.acyclicity(torch.as_tensor(dag)).item() == pytest.approx(0.0, abs=1e-12)
    cyc = dag.copy()
    inv = np.argsort(perm)  # new index of each original node; original order 0 < 1 < ... is topological
    cyc[inv[d - 1], inv[0]] = 1.0  # last -> first closes a cycle
    assert td.acyclicity(torch.as_tensor(cyc)).item() > 1e-3


def test_h_of_two_cycle_at_d2_is_one_half():
    g = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    # (I + G/2)^2 = [[1.25, 1], [1, 1.25]], trace 2.5, minus d = 2
    assert td.acyclicity(g).item() == pytest.approx(0.5, abs=1e-12)


def test_h_batched_and_unbatched_agree():
    g = torch.rand(2, 3, 5, 5, generator=seeded(7), dtype=torch.float64)  # [2, 3, d, d]
    hb = td.acyclicity(g)
    assert hb.shape == (2, 3)
    for a in range(2):
        for b in range(3):
            assert hb[a, b].item() == pytest.approx(td.acyclicity(g[a, b]).item(), rel=1e-12)
    assert td.acyclicity(g[0]).shape == (3,)


def test_h_gradient_matches_closed_form():
    # ∇_G h = ((I + G/d)^(d-1))ᵀ
    g = torch.rand(4, 4, generator=seeded(8), dtype=torch.float64).requires_grad_(True)
    (grad,) = torch.autograd.grad(td.acyclicity(g), g)
    m = torch.eye(4, dtype=torch.float64) + g.detach() / 4
    assert torch.allclose(grad, torch.linalg.matrix_power(m, 3).T)


def test_acyclicity_gradient_flows_through_soft_graphs_to_z():
    z = torch.randn(3, 4, 4, 2, generator=seeded(9)).requires_grad_(True)
    h = td.expected_acyclicity(z, alpha=1.0, tau=1.0, n_samples=16, generator=seeded(10))  # [3]
    assert h.shape == (3,) and torch.all(h > 0)
    (grad,) = torch.autograd.grad(h.sum(), z)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    # ascending the prior (−β ∇E[h]) lowers E[h] with the same noise
    z2 = z.detach() - 0.05 * grad
    h2 = td.expected_acyclicity(z2, alpha=1.0, tau=1.0, n_samples=16, generator=seeded(10))
    assert torch.all(h2 < h.detach())
