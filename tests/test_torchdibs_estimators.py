"""torchdibs: gradient estimators of ∇ log E_{p(G|Z)}[f(G)] against exact enumeration at d = 3."""
from __future__ import annotations


import itertools

import numpy as np
import pytest
import torch

import torchdibs as td
from dibs_helpers import all_graphs, seeded
from torchdibs.estimators import grad_theta
from torchdibs.latent import log_prob_graphs

torch.set_num_threads(1)
D = 3
ALPHA = 1.0




def _data(n: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, D))
    x[:, 1] += x[:, 0]
    x[:, 2] -= x[:, 1]
    return x


@pytest.fixture(scope="module")
def setup():
    bge = td.BGe(x=_data())
    z = 0.7 * torch.randn(2, D, 2, 2, generator=seeded(0), dtype=torch.float64)  # [P, d, k, 2]
    graphs = all_graphs(D)  # [64, d, d]
    log_f_all = bge.log_marginal(graphs)  # [64]
    zr = z.clone().requires_grad_(True)
    lp = log_prob_graphs(graphs[None], zr[:, None], ALPHA)  # [P, 64]
    (exact,) = torch.autograd.grad(torch.logsumexp(lp + log_f_all[None], 1).sum(), zr)  # [P, d, k, 2]
    return bge, z, exact


def _rel_errors(est, bge, z, exact, sizes, reps=2, seed=1):
    gen = seeded(seed)

    def log_f(g, *, hard):
        return bge.log_marginal(g)

    out = []
    for s in sizes:
        errs = [((est.grad_z(z, log_f, alpha=ALPHA, n_samples=s, generator=gen) - exact).norm()
                 / exact.norm()).item() for _ in range(reps)]
        out.append(float(np.mean(errs)))
    return out


def test_score_function_estimator_approaches_exact_gradient(setup):
    bge, z, exact = setup
    errs = _rel_errors(td.make_estimator("score"), bge, z, exact, [64, 1024, 16384])
    assert errs[0] > errs[1] > errs[2], errs
    assert errs[2] < 0.08, errs


def _node_log_f(bge):
    def log_f(g, *, hard):
        return bge.log_marginal(g)
    log_f.node_scores = bge.node_scores_hard
    return log_f


def test_node_wise_score_estimator_approaches_exact_gradient(setup):
    # log E[f] = Σ_j log E[f_j] holds exactly (independent edges, decomposable score), so
    # the per-node weights target the same gradient as 'score'
    bge, z, exact = setup
    est, gen = td.make_estimator("score_node"), seeded(1)
    errs = [((est.grad_z(z, _node_log_f(bge), alpha=ALPHA, n_samples=s, generator=gen) - exact).norm()
             / exact.norm()).item() for s in (64, 1024, 16384)]
    assert errs[0] > errs[1] > errs[2], errs
    assert errs[2] < 0.05, errs


def _exact_by_nodes(bge, z, alpha):
    """∇_Z Σ_j log E[exp f_j(G[:, j])], each node's 2^(d-1) parent sets enumerated."""
    d = z.shape[1]
    others = torch.tensor(list(itertools.product([0.0, 1.0], repeat=d - 1)), dtype=torch.float64)
    zr = z.clone().requires_grad_(True)
    p = torch.sigmoid(alpha * torch.einsum("pik,pjk->pij", zr[..., 0], zr[..., 1]))  # [P, d, d]
    total = 0.0
    for j in range(d):
        m = torch.cat([others[:, :j], torch.zeros(len(others), 1, dtype=torch.float64), others[:, j:]], 1)
        f = bge.family_scores_hard(torch.full((len(m),), j), m)  # [2^(d-1)]
        pj = torch.cat([p[:, :j, j], p[:, j + 1:, j]], 1)  # [P, d-1]
        lp = others @ torch.log(pj).T + (1 - others) @ torch.log1p(-pj).T  # [2^(d-1), P]
        total = total + torch.logsumexp(lp + f[:, None], 0).sum()
    (grad,) = torch.autograd.grad(total, zr)
    return grad


def test_node_wise_exact_gradient_equals_whole_graph_exact_gradient(setup):
    # the identity score_node rests on: log E[f(G)] = Σ_j log E[exp f_j(G[:, j])]
    bge, z, exact = setup
    torch.testing.assert_close(_exact_by_nodes(bge, z, ALPHA), exact, rtol=1e-9, atol=1e-9)


def test_node_wise_score_estimator_has_lower_error_than_score_at_larger_d():
    # at d = 8 one softmax over whole graphs is dominated by a few draws; per node it is not
    x = np.random.default_rng(3).normal(size=(60, 8))
    x[:, 1:] += 0.8 * x[:, :-1]
    bge = td.BGe(x=x)
    z = 0.5 * torch.randn(3, 8, 8, 2, generator=seeded(7), dtype=torch.float64)
    exact = _exact_by_nodes(bge, z, ALPHA)
    log_f = _node_log_f(bge)
    errs = {}
    for name in ("score", "score_node"):
        e = [((td.make_estimator(name).grad_z(z, log_f, alpha=ALPHA, n_samples=128, generator=seeded(10 + r))
               - exact).norm() / exact.norm()).item() for r in range(4)]
        errs[name] = float(np.mean(e))
    assert errs["score_node"] < 0.5 * errs["score"], errs
    print(errs)


def test_node_wise_score_estimator_needs_node_scores(setup):
    bge, z, _ = setup
    with pytest.raises(ValueError, match="decomposes over nodes"):
        td.make_estimator("score_node").grad_z(z, lambda g, *, hard: bge.log_marginal(g), alpha=ALPHA,
                                               n_samples=4, generator=seeded(1))


def test_gumbel_estimator_approaches_exact_gradient(setup):
    # the Gumbel estimator targets the relaxed expectation; at τ = 10 its bias is small
    # enough that the error against the discrete gradient keeps falling with S
    bge, z, exact = setup
    errs = _rel_errors(td.make_estimator("gumbel", tau=10.0), bge, z, exact, [256, 4096, 65536])
    assert errs[0] > errs[1] > errs[2], errs
    assert errs[2] < 0.12, errs


def test_theta_gradient_approaches_exact_gradient():
    x = _data(n=12, seed=1)
    lin = td.LinearGaussian(x=x, obs_noise=0.5, dtype=torch.float64)
    z = 0.7 * torch.randn(2, D, 2, 2, generator=seeded(2), dtype=torch.float64)
    theta = torch.randn(2, D * D, generator=seeded(3), dtype=torch.float64)  # [P, T]
    graphs = all_graphs(D)
    th = theta.clone().requires_grad_(True)
    lj = lin.log_joint(graphs[None].expand(2, -1, -1, -1), th)  # [P, 64]
    lp = log_prob_graphs(graphs[None], z[:, None], ALPHA)  # [P, 64]
    (exact,) = torch.autograd.grad(torch.logsumexp(lp + lj, 1).sum(), th)
    gen = seeded(4)
    errs = []
    for s in (64, 16384):
        est = grad_theta(z, theta, lin.log_joint, alpha=ALPHA, n_samples=s, generator=gen)
        errs.append(((est - exact).norm() / exact.norm()).item())
    assert errs[1] < errs[0] and errs[1] < 0.05, errs


def test_estimators_are_registered_and_shaped():
    assert {"score", "gumbel"} <= set(td.ESTIMATORS)
    with pytest.raises(ValueError, match="unknown estimator"):
        td.make_estimator("nope")
    bge = td.BGe(x=_data())
    z = torch.randn(4, D, 5, 2, generator=seeded(5))

    def log_f(g, *, hard):
        assert g.shape == (4, 7, D, D)
        return bge.log_marginal(g)

    for name in ("score", "gumbel"):
        g = td.make_estimator(name).grad_z(z, log_f, alpha=0.5, n_samples=7, generator=seeded(6))
        assert g.shape == z.shape and g.dtype == z.dtype and torch.isfinite(g).all()
