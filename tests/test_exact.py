"""The exact posterior (dagposterior/, methods/exact.py) and the posterior-quality scores
(evaluation/posterior_quality.py)."""
from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import pytest
from scipy.special import multigammaln

from dagbench.graphs import dag_to_cpdag
from dagposterior import LocalScores, all_dags, codes_to_graphs, exact_posterior, graphs_to_codes
from dagposterior.dags import N_DAGS, _enumerate
from evaluation.metrics import shd, shd_stack
from evaluation.posterior_quality import KL_SMOOTHING, markov_equivalent, posterior_quality
from methods.base import GraphPosterior
from methods.exact import Exact
from simulators.base import Dataset


def chain_data(n: int, d: int, seed: int = 0) -> np.ndarray:
    """x [n, d] from the linear-Gaussian chain 0 -> 1 -> ... -> d-1, weights 1."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    for j in range(1, d):
        x[:, j] += x[:, j - 1]
    return x


def dataset(x: np.ndarray) -> Dataset:
    n, d = x.shape
    g = np.diag(np.ones(d - 1, dtype=np.int8), k=1)
    return Dataset(x=x, x_heldout=x[:5], g_true=g, interv_mask=np.zeros((n, d), bool),
                   interv_mask_heldout=np.zeros((5, d), bool), node_names=[f"X{j}" for j in range(d)],
                   params_true={}, meta={})


# ------------------------------------------------------------------------------ DAG lists

def test_dag_counts_are_robinsons_numbers():
    for d in range(6):
        assert len(all_dags(d)) == N_DAGS[d]
    assert [N_DAGS[d] for d in range(7)] == [1, 1, 3, 25, 543, 29281, 3781503]


@pytest.mark.parametrize("d", [3, 4])
def test_dag_list_equals_brute_force(d):
    """Every one of the 2^(d(d-1)) directed graphs, kept when networkx finds it acyclic."""
    off = [(i, j) for i in range(d) for j in range(d) if i != j]
    found = []
    for bits in itertools.product((0, 1), repeat=len(off)):
        g = np.zeros((d, d), np.int8)
        for (i, j), b in zip(off, bits):
            g[i, j] = b
        if nx.is_directed_acyclic_graph(nx.from_numpy_array(g, create_using=nx.DiGraph)):
            found.append(g)
    assert np.array_equal(np.sort(graphs_to_codes(np.array(found))), all_dags(d))


def test_codes_round_trip_and_cache(tmp_path, monkeypatch):
    codes = all_dags(4)
    assert np.array_equal(graphs_to_codes(codes_to_graphs(codes, 4)), codes)
    monkeypatch.setenv("DAGBENCH_CACHE", str(tmp_path))
    all_dags.cache_clear()
    try:
        np.save(tmp_path / "dags_d4.npy", np.arange(7, dtype=np.int64))     # a corrupted cache file
        assert np.array_equal(all_dags(4), _enumerate(4))                    # is recomputed
        assert len(np.load(tmp_path / "dags_d4.npy")) == 543                 # and rewritten
    finally:
        all_dags.cache_clear()


def test_enumeration_refuses_d7():
    with pytest.raises(ValueError, match="d <= 6"):
        all_dags(7)


# ------------------------------------------------------------------------- local scores

def bge_subset_logml(x: np.ndarray, s: list[int], alpha_mu=1.0, alpha_w=None) -> float:
    """log p(D_S) of the variables S under the Normal-Wishart prior of BGe, written from
    Geiger & Heckerman (2002, eq. 18/Theorem 3) and Kuipers et al. (2014, eq. 2), prior
    mean 0, T = t I: independent of torchdibs's per-node form."""
    n, d = x.shape
    alpha_w = d + 2.0 if alpha_w is None else alpha_w
    if not s:
        return 0.0
    t = alpha_mu * (alpha_w - d - 1) / (alpha_mu + 1)
    xs = x[:, s]
    ls = len(s)
    xbar = xs.mean(0)
    sn = (xs - xbar).T @ (xs - xbar)
    r = t * np.eye(ls) + sn + n * alpha_mu / (n + alpha_mu) * np.outer(xbar, xbar)
    a = alpha_w - d + ls        # degrees of freedom of the marginal Wishart on S
    return (-0.5 * n * ls * math.log(math.pi) + 0.5 * ls * math.log(alpha_mu / (n + alpha_mu))
            + multigammaln(0.5 * (n + a), ls) - multigammaln(0.5 * a, ls)
            + 0.5 * a * ls * math.log(t) - 0.5 * (n + a) * np.linalg.slogdet(r)[1])


def bge_graph_logml(x, g) -> float:
    """log p(D | G) = sum_j log p(D_{j ∪ pa_j}) − log p(D_{pa_j}) (Geiger & Heckerman 2002)."""
    d = g.shape[0]
    out = 0.0
    for j in range(d):
        pa = [i for i in range(d) if g[i, j]]
        out += bge_subset_logml(x, sorted(pa + [j])) - bge_subset_logml(x, pa)
    return out


def test_exact_d2_by_hand():
    """d = 2, uniform prior: three DAGs; 0 -> 1 and 1 -> 0 score equal (BGe is score
    equivalent), and their weight relative to the empty graph is the ratio of marginal
    likelihoods from the independent formula above."""
    x = chain_data(50, 2, seed=3)
    post = exact_posterior(LocalScores(x, graph_prior="uniform"))
    g = codes_to_graphs(post.codes, 2)
    lml = np.array([bge_graph_logml(x, gk) for gk in g])
    want = np.exp(lml - lml.max())
    want /= want.sum()
    np.testing.assert_allclose(post.weights, want, rtol=1e-9)
    empty = graphs_to_codes(np.zeros((1, 2, 2)))[0]
    w = dict(zip(post.codes.tolist(), post.weights))
    assert abs(w[1 << 1] - w[1 << 2]) < 1e-12 and w[empty] < 0.01     # x1 = x0 + noise: an edge


@pytest.mark.parametrize("prior", ["er", "sf", "uniform"])
def test_exact_d3_against_independent_enumeration(prior):
    """Every directed graph on 3 nodes scored with the independent BGe formula and the
    torchdibs prior object (not the local-score table), cyclic ones dropped."""
    import torch

    from torchdibs.priors import make_graph_prior

    x = chain_data(12, 3, seed=1)
    epn = 0.5
    post = exact_posterior(LocalScores(x, graph_prior=prior, edges_per_node=epn))
    graphs = codes_to_graphs(post.codes, 3)
    pr = make_graph_prior(prior, n_vars=3, edges_per_node=epn)
    logp = np.array([bge_graph_logml(x, g) + float(pr.log_prob(torch.as_tensor(g, dtype=torch.float64)))
                     for g in graphs])
    want = np.exp(logp - logp.max())
    want /= want.sum()
    np.testing.assert_allclose(post.weights, want, rtol=1e-8, atol=1e-14)


def test_exact_d4_interventional_matches_dibs_bge():
    """With intervened rows, the exact posterior uses torchdibs's BGe (the DiBS plugins'
    likelihood) on every DAG: its log weights differ from log_marginal_hard + prior by one
    constant."""
    import torch

    from torchdibs.likelihoods import BGe
    from torchdibs.priors import make_graph_prior

    x = chain_data(40, 4, seed=2)
    mask = np.zeros_like(x, dtype=bool)
    mask[:10, 1] = True
    x[:10, 1] = 3.0
    post = exact_posterior(LocalScores(x, mask, graph_prior="er", edges_per_node=0.5))
    g = torch.as_tensor(post.graphs(), dtype=torch.float64)
    ref = (BGe(x=x, interv_mask=mask).log_marginal_hard(g)
           + make_graph_prior("er", n_vars=4, edges_per_node=0.5).log_prob(g)).numpy()
    diff = post.log_weights - ref
    assert np.ptp(diff) < 1e-8


# ------------------------------------------------------------------------------ plugin

def test_exact_plugin_returns_whole_posterior():
    data = dataset(chain_data(30, 4))
    m = Exact()
    post = m.fit(data, seed=0)
    assert post.problems(4) == []
    assert len(post.graphs) == 543 and abs(post.weights.sum() - 1) < 1e-12
    np.testing.assert_allclose(post.edge_probs, np.einsum("k,kij->ij", post.weights, post.graphs), atol=1e-12)
    assert post.info["n_dags"] == 543 and 0 < post.info["map_prob"] <= 1


def test_exact_plugin_refuses_large_d_and_bad_params():
    assert "d <= 5" in Exact().skip(dataset(chain_data(30, 6)))
    assert Exact().skip(dataset(chain_data(30, 5))) is None
    assert any("max_d" in p for p in Exact.param_problems({"max_d": 7}))
    assert any("graph_prior" in p for p in Exact.param_problems({"graph_prior": "bad"}))


# --------------------------------------------------------------------- posterior quality

def test_shd_stack_and_markov_equivalence_against_reference_functions():
    g_true = codes_to_graphs(all_dags(4)[[17]], 4)[0]
    graphs = codes_to_graphs(all_dags(4), 4)
    np.testing.assert_array_equal(shd_stack(graphs[::7], g_true), [shd(g, g_true) for g in graphs[::7]])
    c_true = dag_to_cpdag(g_true)
    want = np.array([np.array_equal(dag_to_cpdag(g), c_true) for g in graphs])
    np.testing.assert_array_equal(markov_equivalent(graphs, g_true), want)
    assert want.sum() >= 1


def test_posterior_quality_by_hand_d2():
    """p = exact over {empty, 0 -> 1, 1 -> 0} = (p0, p1, p1); q = point mass on 0 -> 1 = G*."""
    x = chain_data(8, 2, seed=5)
    post = exact_posterior(LocalScores(x, graph_prior="uniform"))
    w = dict(zip(post.codes.tolist(), post.weights))
    p0, p1 = w[0], w[1 << 1]
    g = np.array([[0, 1], [0, 0]], np.int8)
    q = posterior_quality(post, g[None], np.ones(1), g.astype(float), g, e_shd=0.0)
    eps = KL_SMOOTHING
    assert q["tv"] == pytest.approx(1 - p1, abs=1e-12)
    kl = p0 * math.log(p0 / (eps / 3)) + p1 * math.log(p1 / (1 - eps + eps / 3)) + p1 * math.log(p1 / (eps / 3))
    assert q["kl"] == pytest.approx(kl, rel=1e-9)
    assert q["edge_mae"] == pytest.approx(((1 - p1) + p1) / 2, abs=1e-12)
    assert q["mec_mass"] == 1.0 and q["exact_mec_mass"] == pytest.approx(2 * p1)
    assert q["exact_e_shd"] == pytest.approx(p0 * 1 + p1 * 1) and q["e_shd_gap"] == pytest.approx(p0 + p1)


def test_exact_scores_zero_distance_to_itself():
    data = dataset(chain_data(20, 4, seed=4))
    fit = Exact().fit(data, seed=0)
    post = exact_posterior(LocalScores(data.x))
    keep = fit.weights > 0
    e_shd = float(fit.weights @ shd_stack(fit.graphs, data.g_true))
    q = posterior_quality(post, fit.graphs[keep], fit.weights[keep] / fit.weights[keep].sum(),
                          fit.edge_probs, data.g_true, e_shd=e_shd)
    assert q["tv"] < 1e-12 and q["edge_mae"] < 1e-12 and q["e_shd_gap"] < 1e-9
    assert 0 <= q["kl"] <= -math.log(1 - KL_SMOOTHING)         # only the smoothing's share
    assert q["mec_mass"] == pytest.approx(q["exact_mec_mass"])


def test_point_cpdag_answer_spreads_over_its_class():
    """A CPDAG answer is the uniform distribution over its class; the true chain's class
    (3 DAGs at d = 3) then carries all of q's mass."""
    data = dataset(chain_data(20, 3))
    post = exact_posterior(LocalScores(data.x))
    c = dag_to_cpdag(data.g_true)
    gp = GraphPosterior(cpdag=c)
    q = posterior_quality(post, gp.graphs, gp.weights, gp.marginals(), data.g_true,
                          e_shd=float(gp.weights @ shd_stack(gp.graphs, data.g_true)))
    assert len(gp.graphs) == 3 and q["mec_mass"] == pytest.approx(1.0)
