"""torchdibs end to end: the seed's chain, large weights, and AUROC at d = 10."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

import torchdibs as td

torch.set_num_threads(1)
TRUE_CHAIN = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])


def chain_data(n: int, w12: float, w23: float, seed: int, noise: float = 1.0) -> np.ndarray:
    """The seed's chain X1 -> X2 -> X3: X1 ~ N(0, 1), X2 = w12 X1 + ε, X3 = w23 X2 + ε."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = w12 * x1 + noise * rng.normal(size=n)
    x3 = w23 * x2 + noise * rng.normal(size=n)
    return np.stack([x1, x2, x3], 1)


def er_linear_gaussian(d: int, n: int, seed: int, edges_per_node: float = 1.0):
    """(x [n, d], g [d, d]): random ER DAG, weights ±U(0.5, 2), unit noise, ancestral sampling."""
    rng = np.random.default_rng(seed)
    p = min(1.0, 2 * edges_per_node / (d - 1))
    perm = rng.permutation(d)
    g = np.triu(rng.random((d, d)) < p, k=1).astype(int)[perm][:, perm]
    w = g * rng.choice([-1.0, 1.0], size=(d, d)) * rng.uniform(0.5, 2.0, size=(d, d))
    x = np.zeros((n, d))
    for j in np.argsort(perm):  # node a is the original perm[a]: increasing perm is topological
        x[:, j] = x @ w[:, j] + rng.normal(size=n)
    return x, g


def auroc(g: np.ndarray, probs: np.ndarray) -> float:
    off = ~np.eye(len(g), dtype=bool)
    return roc_auc_score(g[off], probs[off])


def _markov_equivalent_to_chain(g: np.ndarray) -> bool:
    skel = g | g.T
    return (np.array_equal(skel, TRUE_CHAIN | TRUE_CHAIN.T)
            and not (g[0, 1] and g[2, 1]))  # the only possible v-structure 1 -> 2 <- 3


def test_marginal_bge_recovers_the_chain_up_to_equivalence():
    x = chain_data(200, 2.0, -1.5, seed=0)
    post = td.fit_dibs(x, model="bge", steps=200, n_particles=20, seed=0, posterior="dibs+",
                       edges_per_node=0.5, progress=False)
    adj = post.edge_marginals() + post.edge_marginals().T
    assert adj[0, 1] > 0.9 and adj[1, 2] > 0.9, adj
    assert adj[0, 2] < 0.2, adj
    assert _markov_equivalent_to_chain(post.graphs[np.argmax(post.weights)])


def _weighted_edge_weight(post, i, j):
    w = post.weights * post.graphs[:, i, j]
    return float((w * post.theta.reshape(-1, 3, 3)[:, i, j]).sum() / w.sum())


def test_joint_linear_recovers_the_chain_and_its_weights():
    x = chain_data(200, 2.0, -1.5, seed=0)
    post = td.fit_dibs(x, model="linear", obs_noise=1.0, steps=500, n_particles=20, seed=0, lr=0.01,
                       lr_theta=0.05, posterior="dibs+", edges_per_node=0.5, progress=False)
    m = post.edge_marginals()
    assert m[0, 1] > 0.9 and m[1, 2] > 0.9, m
    assert m[TRUE_CHAIN == 0].max() < 0.1, m
    assert _weighted_edge_weight(post, 0, 1) == pytest.approx(2.0, rel=0.1)
    assert _weighted_edge_weight(post, 1, 2) == pytest.approx(-1.5, rel=0.1)


@pytest.mark.parametrize("opts", [dict(optimizer="rmsprop"), dict(optimizer="adam", grad_clip=50.0)])
def test_large_weight_chain_does_not_blow_up(opts):
    # the seed's pain point: coefficients around ±5 to ±10 made θ explode
    x = chain_data(200, 8.0, -5.0, seed=1)
    post = td.fit_dibs(x, model="linear", obs_noise=1.0, steps=400, n_particles=10, seed=0, lr=0.01,
                       lr_theta=0.05, posterior="dibs+", edges_per_node=0.5, progress=False, **opts)
    assert np.isfinite(post.theta).all() and np.isfinite(post.weights).all()
    assert post.edge_marginals()[0, 1] > 0.9
    assert _weighted_edge_weight(post, 0, 1) == pytest.approx(8.0, rel=0.1)


def test_bge_auroc_on_d10_erdos_renyi_over_three_seeds():
    scores = []
    for seed in range(3):
        x, g = er_linear_gaussian(10, 100, seed)
        post = td.fit_dibs(x, model="bge", steps=300, n_particles=20, seed=seed, progress=False)
        scores.append(auroc(g, post.edge_marginals()))
    print(f"DiBS-BGe AUROC at d = 10, n = 100: {np.round(scores, 3)} mean {np.mean(scores):.3f}")
    assert np.mean(scores) > 0.85, scores
