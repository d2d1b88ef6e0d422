"""The wrapped methods of the breadth issue: each recovers an easy graph it should recover.

Every dataset puts the causal order against the column order (the graphs are permuted),
so a wrapper that reads its package's adjacency transposed (row -> column against
column -> row), or orders by column index, gets the wrong graph and fails. CPDAG methods
are tested on a collider, whose class is a single DAG; GIES on interventions that orient
a chain, whose observational class is undirected.

Run: python -m pytest tests/test_breadth_methods.py -q
"""
from __future__ import annotations

import numpy as np
import pytest

from dagbench.graphs import is_dag
from methods.base import GraphPosterior, registry
from simulators.base import Dataset

METHODS = registry()
N = 500


def sem(w: np.ndarray, order: list[int], n: int, rng, noise: str = "gauss", scale=1.0,
        fn=None, interv: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows of x_j = f(sum_i w[i, j] x_i) + e_j in topological ``order``; ``fn`` maps
    (j, parents' weighted inputs [n, p]) to x_j's mean when given (nonlinear). ``interv``
    {node: sd}: that node is set to N(0, sd^2) instead (a hard intervention)."""
    d = len(w)
    x = np.zeros((n, d))
    mask = np.zeros((n, d), bool)
    for j in order:
        e = rng.normal(size=n) if noise == "gauss" else rng.uniform(-np.sqrt(3), np.sqrt(3), size=n)
        mean = x @ w[:, j] if fn is None else fn(j, x)
        x[:, j] = mean + scale * e
        if interv and j in interv:
            x[:, j] = interv[j] * rng.normal(size=n)
            mask[:, j] = True
    return x, mask


def dataset(x, mask=None, g=None) -> Dataset:
    d = x.shape[1]
    return Dataset(x=x, x_heldout=x[:20], g_true=np.zeros((d, d)) if g is None else g,
                   interv_mask=mask)


# A 4-node chain against the column order: 2 -> 0 -> 3 -> 1, weights 1.5, -1.5, 1.5
# (variances grow along the chain: 1, 3.25, 8.3, 19.7).
CHAIN_ORDER = [2, 0, 3, 1]
W_CHAIN = np.zeros((4, 4))
W_CHAIN[2, 0], W_CHAIN[0, 3], W_CHAIN[3, 1] = 1.5, -1.5, 1.5
G_CHAIN = (W_CHAIN != 0).astype(np.int8)

# A collider with a child, against the column order: 3 -> 1 <- 0, 1 -> 2. Its CPDAG is
# the DAG itself (1 -> 2 is compelled by Meek's rule 1); the transposed graph
# (1 -> 3, 1 -> 0, 2 -> 1) has no v-structure, so its class is all undirected.
COLL_ORDER = [3, 0, 1, 2]
W_COLL = np.zeros((4, 4))
W_COLL[3, 1], W_COLL[0, 1], W_COLL[1, 2] = 1.0, -1.0, 0.8
G_COLL = (W_COLL != 0).astype(np.int8)


def assert_point_dag(post: GraphPosterior, want: np.ndarray):
    assert post.problems(len(want)) == []
    assert post.graphs.shape == (1,) + want.shape
    np.testing.assert_array_equal(post.graphs[0], want)


def assert_weights(post: GraphPosterior, w_true: np.ndarray, x: np.ndarray, rtol: float):
    w = post.linear_weights[0]
    true = w_true != 0
    assert np.all(np.abs(w[true] - w_true[true]) <= rtol * np.abs(w_true[true])), w
    assert (w[~true] == 0).all()
    assert post.noise_vars.shape == (1, len(w_true)) and (post.noise_vars > 0).all()


@pytest.fixture(scope="module")
def chain_gauss():
    x, _ = sem(W_CHAIN, CHAIN_ORDER, N, np.random.default_rng(0))
    return dataset(x, g=G_CHAIN)


@pytest.fixture(scope="module")
def collider_gauss():
    x, _ = sem(W_COLL, COLL_ORDER, N, np.random.default_rng(1))
    return dataset(x, g=G_COLL)


# ---------------------------------------------------------------- continuous optimisation

def test_dagma_recovers_chain(chain_gauss):
    post = METHODS["dagma"]().fit(chain_gauss, seed=0)
    assert_point_dag(post, G_CHAIN)
    assert_weights(post, W_CHAIN, chain_gauss.x, rtol=0.1)
    resid = chain_gauss.x - chain_gauss.x @ post.linear_weights[0]
    np.testing.assert_allclose(post.noise_vars[0], np.mean(resid ** 2, axis=0))


def test_dagma_leaves_caller_data_alone(chain_gauss):
    x = chain_gauss.x + 3.0                              # DagmaLinear centres its input in place
    data = dataset(x.copy())
    METHODS["dagma"](warm_iter=200, max_iter=400, T=2).fit(data, seed=0)
    np.testing.assert_array_equal(data.x, x)


def test_golem_ev_recovers_chain(chain_gauss):
    post = METHODS["golem_ev"](num_iter=6000).fit(chain_gauss, seed=0)
    assert_point_dag(post, G_CHAIN)
    assert_weights(post, W_CHAIN, chain_gauss.x, rtol=0.1)
    # the EV model's own noise variance: one value shared by all nodes
    assert np.ptp(post.noise_vars[0]) == 0 and abs(post.noise_vars[0, 0] - 1.0) < 0.2


def test_golem_nv_recovers_chain(chain_gauss):
    import torch

    dtype = torch.get_default_dtype()
    post = METHODS["golem_nv"](num_iter=3000).fit(chain_gauss, seed=0)
    assert_point_dag(post, G_CHAIN)
    assert_weights(post, W_CHAIN, chain_gauss.x, rtol=0.1)
    assert post.info["init_from_ev"] is True
    # gCastle's import and fit leave torch's default dtype (float64 on its import) alone
    assert torch.get_default_dtype() == dtype


def test_notears_mlp_recovers_nonlinear_collider():
    # 3 -> 1 <- 0 and 1 -> 2 with tanh / sin links, uniform roots
    def fn(j, x):
        if j == 1:
            return 2 * np.tanh(x[:, 3]) - 2 * np.tanh(x[:, 0])
        if j == 2:
            return 2 * np.sin(x[:, 1])
        return np.zeros(len(x))

    rng = np.random.default_rng(0)
    x = np.zeros((N, 4))
    x[:, 3], x[:, 0] = rng.uniform(-2, 2, N), rng.uniform(-2, 2, N)
    x[:, 1] = fn(1, x) + 0.5 * rng.normal(size=N)
    x[:, 2] = fn(2, x) + 0.5 * rng.normal(size=N)
    data = dataset(x, g=G_COLL)
    post = METHODS["notears_mlp"]().fit(data, seed=0)
    assert_point_dag(post, G_COLL)
    # its own held-out density: finite, and better than a marginal Gaussian
    logp = post.log_density(x[:50], np.zeros((50, 4), bool))
    assert logp.shape == (1, 50) and np.isfinite(logp).all()
    marginal = -0.5 * (np.log(2 * np.pi * x.var(0)) + (x[:50] - x.mean(0)) ** 2 / x.var(0)).sum(1)
    assert logp[0].mean() > marginal.mean() + 0.5
    # an intervened node's term is left out
    mask = np.zeros((50, 4), bool)
    mask[:, 1] = True
    assert (post.log_density(x[:50], mask) != logp).all()


# ---------------------------------------------------------------- score / permutation search

@pytest.mark.parametrize("name", ["grasp", "boss", "exact_search"])
def test_cpdag_methods_orient_collider(name, collider_gauss):
    post = METHODS[name]().fit(collider_gauss, seed=0)
    assert post.problems(4) == []
    np.testing.assert_array_equal(post.cpdag, G_COLL)       # the class is this one DAG
    assert post.info["mec_size"] == 1
    np.testing.assert_array_equal(post.graphs[0], G_COLL)


@pytest.mark.parametrize("name", ["grasp", "boss", "exact_search"])
def test_cpdag_methods_leave_chain_undirected(name, chain_gauss):
    post = METHODS[name]().fit(chain_gauss, seed=0)
    skel = G_CHAIN | G_CHAIN.T
    np.testing.assert_array_equal(post.cpdag, skel)
    assert post.info["mec_size"] == 4 and len(post.graphs) == 4


@pytest.mark.parametrize("name", ["grasp", "boss"])
def test_permutation_search_keeps_caller_random_state(name, collider_gauss):
    import random

    random.seed(123)
    before = random.random()
    random.seed(123)
    METHODS[name]().fit(collider_gauss, seed=5)
    assert random.random() == before


def test_exact_search_skips_large_d():
    data = dataset(np.random.default_rng(0).normal(size=(30, 6)))
    assert METHODS["exact_search"](max_d=5).skip(data) is not None
    assert METHODS["exact_search"](max_d=6).skip(data) is None


# ---------------------------------------------------------------- non-Gaussian

def test_direct_lingam_recovers_chain_with_uniform_noise():
    x, _ = sem(W_CHAIN, CHAIN_ORDER, N, np.random.default_rng(3), noise="uniform")
    x = (x - x.mean(0)) / x.std(0)                          # standardised: no variance clue
    data = dataset(x, g=G_CHAIN)
    post = METHODS["direct_lingam"]().fit(data, seed=0)
    assert_point_dag(post, G_CHAIN)
    assert post.info["causal_order"] == CHAIN_ORDER
    # standardised weights are the true ones times sd(parent) / sd(child)
    sd = np.sqrt(np.array([3.25, 19.70, 1.0, 8.31]))
    w_std = W_CHAIN * sd[:, None] / sd[None, :]
    assert_weights(post, w_std, x, rtol=0.1)


# ---------------------------------------------------------------- interventional

def test_gies_orients_chain_with_interventions():
    # chain 2 -> 0 -> 1: observationally one undirected class of 3 DAGs
    w = np.zeros((3, 3))
    w[2, 0], w[0, 1] = 1.2, 1.2
    order = [2, 0, 1]
    g = (w != 0).astype(np.int8)
    rng = np.random.default_rng(4)
    obs, m0 = sem(w, order, N, rng)
    data = dataset(obs, m0, g)
    post = METHODS["gies"]().fit(data, seed=0)
    np.testing.assert_array_equal(post.cpdag, g | g.T)       # observational: the CPDAG
    assert post.info["is_cpdag"] and post.info["n_environments"] == 1

    # + rows with node 0 (the middle) clamped: both edges are oriented, the class is g
    x1, m1 = sem(w, order, N, rng, interv={0: 2.0})
    data = dataset(np.vstack([obs, x1]), np.vstack([m0, m1]), g)
    post = METHODS["gies"]().fit(data, seed=0)
    assert post.problems(3) == []
    assert post.info["targets"] == [[], [0]]
    assert post.cpdag is None and post.info["imec_size"] == 1     # a DAG, not its (undirected) CPDAG
    np.testing.assert_array_equal(post.graphs, g[None])

    # + rows with node 1 (the sink) clamped instead: only 0 -> 1 is oriented; the
    # interventional class (2 - 0 -> 1: 2 DAGs) is smaller than the CPDAG's (3 DAGs)
    x2, m2 = sem(w, order, N, rng, interv={1: 2.0})
    data = dataset(np.vstack([obs, x2]), np.vstack([m0, m2]), g)
    post = METHODS["gies"]().fit(data, seed=0)
    assert post.problems(3) == []
    assert post.cpdag is None and not post.info["is_cpdag"] and post.info["imec_size"] == 2
    assert len(post.graphs) == 2 and all(is_dag(gk) for gk in post.graphs)
    p = post.marginals()
    assert p[0, 1] == 1 and p[1, 0] == 0
    assert p[2, 0] == pytest.approx(0.5) and p[0, 2] == pytest.approx(0.5)


def test_gies_skips_node_intervened_everywhere():
    x = np.random.default_rng(0).normal(size=(40, 3))
    mask = np.zeros((40, 3), bool)
    mask[:, 2] = True
    assert "intervened on in every" in METHODS["gies"]().skip(dataset(x, mask))


def test_gies_environments():
    from methods.gies import environments

    x = np.arange(12, dtype=float).reshape(6, 2)
    mask = np.array([[0, 0], [1, 0], [0, 0], [0, 1], [1, 0], [0, 0]], bool)
    data, targets = environments(x, mask)
    assert targets == [[], [1], [0]]
    np.testing.assert_array_equal(data[0], x[[0, 2, 5]])
    np.testing.assert_array_equal(data[1], x[[3]])
    np.testing.assert_array_equal(data[2], x[[1, 4]])


# ---------------------------------------------------------------- sanity floors

def test_sortnregress_recovers_raw_chain(chain_gauss):
    post = METHODS["sortnregress"]().fit(chain_gauss, seed=0)
    assert_point_dag(post, G_CHAIN)
    assert post.info["order"] == CHAIN_ORDER
    assert_weights(post, W_CHAIN, chain_gauss.x, rtol=0.1)
    # OLS refit on the chosen parents (no intercept)
    x = chain_gauss.x
    coef = np.linalg.lstsq(x[:, [0]], x[:, 3], rcond=None)[0]
    assert post.linear_weights[0, 0, 3] == pytest.approx(coef[0])


def test_r2_sortnregress_recovers_fan_in_on_any_scale():
    # 0, 1, 3 -> 2 (a sink explained by three parents has the largest R²); columns
    # rescaled by very different factors, which would mislead var-sortnregress
    w = np.zeros((4, 4))
    w[0, 2], w[1, 2], w[3, 2] = 1.5, -1.5, 1.5
    g = (w != 0).astype(np.int8)
    x, _ = sem(w, [0, 1, 3, 2], N, np.random.default_rng(5))
    x = x * np.array([10.0, 5.0, 0.1, 20.0])
    post = METHODS["r2_sortnregress"]().fit(dataset(x, g=g), seed=0)
    assert_point_dag(post, g)
    assert post.info["order"][-1] == 2 and post.info["criterion"] == "r2"
    var_post = METHODS["sortnregress"]().fit(dataset(x, g=g), seed=0)
    assert not np.array_equal(var_post.graphs[0], g)     # variance order: 2 first, so no edge into it
