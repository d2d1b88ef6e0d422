"""torchdibs: the joint likelihoods (linear Gaussian, MLP) against naive per-row code."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import torchdibs as td

torch.set_num_threads(1)
LOG2PI = math.log(2 * math.pi)


def _normal_logpdf(x, mean, var):
    return -0.5 * (LOG2PI + np.log(var)) - (x - mean) ** 2 / (2 * var)


def _setup(seed=0, n=25, d=4):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    mask = rng.random((n, d)) < 0.2
    g = rng.random((2, 3, d, d)) * (1 - np.eye(d))  # soft graphs [P, S, d, d]
    g[0, 0] = (g[0, 0] > 0.5)  # and one hard one
    return rng, x, mask, g


def test_linear_log_joint_equals_naive_rows_plus_prior():
    rng, x, mask, g = _setup()
    P, S, d = g.shape[0], g.shape[1], x.shape[1]
    theta = rng.normal(size=(P, d * d))
    lin = td.LinearGaussian(x=x, interv_mask=mask, obs_noise=0.3, sigma_edge=1.5, dtype=torch.float64)
    got = lin.log_joint(torch.as_tensor(g), torch.as_tensor(theta)).numpy()  # [P, S]
    for p in range(P):
        th = theta[p].reshape(d, d)
        for s in range(S):
            w = g[p, s] * th
            ll = (_normal_logpdf(x, x @ w, 0.3) * ~mask).sum()
            prior = (g[p, s] * _normal_logpdf(th, 0.0, 1.5 ** 2)).sum()
            assert got[p, s] == pytest.approx(ll + prior, rel=1e-10)


def test_linear_row_densities_leave_out_intervened_terms():
    rng, x, mask, g = _setup(1)
    d = x.shape[1]
    lin = td.LinearGaussian(x=x, obs_noise=0.2, dtype=torch.float64)
    gk = torch.as_tensor(g[0])  # [K=3, d, d]
    theta = torch.as_tensor(rng.normal(size=(3, d * d)))
    rows = lin.log_density_rows(x, mask, gk, theta).numpy()  # [K, m]
    assert rows.shape == (3, len(x))
    for k in range(3):
        w = g[0, k] * theta[k].numpy().reshape(d, d)
        want = (_normal_logpdf(x, x @ w, 0.2) * ~mask).sum(1)
        np.testing.assert_allclose(rows[k], want, rtol=1e-10)
    # the intervened value of a node enters only as a parent, not through its own term
    no_mask = lin.log_density_rows(x, np.zeros_like(mask), gk, theta).numpy()
    assert np.all(no_mask[:, mask.any(1)] != rows[:, mask.any(1)])


def _mlp_naive(x, g, w1, b1, w2, b2):
    """means [n, d] of x_j = W2_j · relu(W1_j (g[:, j] ⊙ x) + b1_j) + b2_j, node by node."""
    n, d = x.shape
    out = np.zeros((n, d))
    for j in range(d):
        h = np.maximum((x * g[:, j]) @ w1[j] + b1[j], 0.0)  # [n, H]
        out[:, j] = h @ w2[j] + b2[j]
    return out


def test_mlp_log_joint_and_row_densities_equal_naive_per_node_code():
    rng, x, mask, g = _setup(2)
    P, S, d = g.shape[0], g.shape[1], x.shape[1]
    mlp = td.MLPGaussian(x=x, interv_mask=mask, hidden=3, obs_noise=0.4, sigma_param=2.0,
                         dtype=torch.float64)
    theta = torch.as_tensor(rng.normal(size=(P, mlp.n_theta)))
    got = mlp.log_joint(torch.as_tensor(g), theta).numpy()  # [P, S]
    w1, b1, w2, b2 = (a.numpy() for a in mlp.unpack(theta))
    for p in range(P):
        rest = sum(_normal_logpdf(a[p], 0.0, 4.0).sum() for a in (b1, w2, b2))
        for s in range(S):
            mu = _mlp_naive(x, g[p, s], w1[p], b1[p], w2[p], b2[p])
            ll = (_normal_logpdf(x, mu, 0.4) * ~mask).sum()
            prior_w1 = (g[p, s].T[:, :, None] * _normal_logpdf(w1[p], 0.0, 4.0)).sum()
            assert got[p, s] == pytest.approx(ll + prior_w1 + rest, rel=1e-10)
    rows = mlp.log_density_rows(x, mask, torch.as_tensor(g[:, 0]), theta).numpy()  # [P, n]
    for p in range(P):
        mu = _mlp_naive(x, g[p, 0], w1[p], b1[p], w2[p], b2[p])
        np.testing.assert_allclose(rows[p], (_normal_logpdf(x, mu, 0.4) * ~mask).sum(1), rtol=1e-10)


def test_graph_priors():
    er = td.ErdosRenyiPrior(n_vars=10, edges_per_node=1.0)
    assert er.p == pytest.approx(10 / 45)
    g = torch.zeros(2, 10, 10)
    g[1, 0, 1] = 1.0
    lp = er.log_prob(g)
    assert (lp[1] - lp[0]).item() == pytest.approx(math.log(er.p / (1 - er.p)), rel=1e-6)
    assert td.ErdosRenyiPrior(n_vars=3, edges_per_node=2.0).p == 0.5  # capped
    sf = td.ScaleFreePrior(n_vars=3)
    h = torch.tensor([[0.0, 1, 1], [0, 0, 1], [0, 0, 0]])
    assert sf.log_prob(h).item() == pytest.approx(-3 * (math.log(2) + math.log(3)))
    soft = torch.full((3, 3), 0.5) * (1 - torch.eye(3))
    assert sf.log_prob(soft).item() == pytest.approx(-9 * math.log(2.0))
