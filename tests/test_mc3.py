"""Structure MCMC (dagposterior.mcmc.mc3) and the ``mc3`` method plugin.

Correctness is checked against exact targets: the exact BGe posterior over every DAG
(d = 4, 5), and a flat score whose target is uniform over the DAGs allowed by
max_parents, where dropping the Hastings factor |nbd(G)| / |nbd(G')| visibly biases
the chain. Tolerances come from the Monte Carlo error: for K pooled samples with an
integrated autocorrelation time τ (estimated by batch means and asserted below a
bound), the effective sample size is N_eff = K / τ; an edge frequency then has
standard error <= 0.5 / sqrt(N_eff), and the total variation between the sampled DAG
frequencies and p has expectation ≈ Σ_G sqrt(p_G (1 − p_G) / N_eff) / sqrt(2π)
(E|N(0, σ²)| = σ sqrt(2/π), halved); simulated multinomial draws match this formula to
a few per cent at these sizes.

Run: python -m pytest tests/test_mc3.py -q
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from dagbench.graphs import is_dag
from dagbench.plugins import PluginError
from dagposterior.dags import all_dags, codes_to_graphs, graphs_to_codes
from dagposterior.mcmc import (MC3Result, _diagnostics, _sample, closure, kept_steps, mc3,
                               neighbourhood_size, valid_moves)
from methods.mc3 import MC3
from simulators.base import Dataset


# ------------------------------------------------------------------------------ helpers

class TableScores:
    """Local scores s(j, code) from a Python function, counting every lookup."""

    def __init__(self, d, fn=lambda j, code: 0.0):
        self.d, self.fn, self.calls = d, fn, []

    def families(self, nodes, codes):
        nodes, codes = np.atleast_1d(nodes), np.atleast_1d(codes)
        self.calls += list(zip(nodes.tolist(), codes.tolist()))
        return np.array([self.fn(j, c) for j, c in zip(nodes.tolist(), codes.tolist())], dtype=np.float64)


def popcount(x: int) -> int:
    return bin(x).count("1")


def chain_data(d: int, n: int, seed: int) -> np.ndarray:
    """n rows of the linear-Gaussian chain x_j = 0.8 x_{j-1} + N(0, 1): at n = 20 the
    BGe posterior is broad (at d = 4 the top DAG has p = 0.05, 134 DAGs have p > 1e-3)."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, d))
    for j in range(d):
        x[:, j] = (0.8 * x[:, j - 1] if j else 0.0) + rng.normal(size=n)
    return x


def random_dag(rng, d: int, density: float, max_parents: int = 0) -> np.ndarray:
    """A random DAG [d, d] int8 (random order), in-degree <= max_parents when > 0."""
    order = rng.permutation(d)
    g = np.zeros((d, d), dtype=np.int8)
    for b in range(d):
        for a in range(b):
            if rng.random() < density:
                g[order[a], order[b]] = 1
    if max_parents:
        for j in range(d):
            pa = np.flatnonzero(g[:, j])
            if len(pa) > max_parents:
                g[rng.choice(pa, len(pa) - max_parents, replace=False), j] = 0
    return g


def brute_force_moves(g: np.ndarray, max_parents: int):
    """(add, delete, reverse) masks by trying every move and testing the result."""
    d = len(g)
    add, dele, rev = (np.zeros((d, d), dtype=bool) for _ in range(3))

    def ok(h):
        return is_dag(h) and (max_parents == 0 or h.sum(0).max(initial=0) <= max_parents)

    for i in range(d):
        for j in range(d):
            if i == j:
                continue
            h = g.copy()
            if g[i, j]:
                h[i, j] = 0
                dele[i, j] = ok(h)
                h[j, i] = 1
                rev[i, j] = ok(h)
            else:
                h[i, j] = 1
                add[i, j] = ok(h)
    return add, dele, rev


def autocorr_time(ind: np.ndarray, n_chains: int, batch: int = 500) -> float:
    """Batch-means estimate of the integrated autocorrelation time (in steps, samples
    taken every step), the max over chains and over the columns of ``ind`` [K, m] that
    vary: τ = batch · Var(batch means) / Var(x)."""
    x = ind.reshape(n_chains, -1, ind.shape[-1]).astype(np.float64)
    worst = 0.0
    for ch in x:
        nb = len(ch) // batch
        means = ch[:nb * batch].reshape(nb, batch, -1).mean(1)
        var = ch.var(0)
        live = var > 0
        if live.any():
            worst = max(worst, float((batch * means.var(0, ddof=1)[live] / var[live]).max()))
    return worst


def frequencies(graphs: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Sample frequency of each DAG of the sorted ``codes`` [N]; asserts every sample is one."""
    q = graphs_to_codes(graphs)
    pos = np.searchsorted(codes, q)
    assert (pos < len(codes)).all() and (codes[np.minimum(pos, len(codes) - 1)] == q).all()
    return np.bincount(pos, minlength=len(codes)) / len(q)


def expected_tv(p: np.ndarray, n_eff: float) -> float:
    """E[TV(empirical of n_eff iid draws, p)] ≈ Σ sqrt(p (1 − p) / n_eff) / sqrt(2π)."""
    return float(np.sqrt(p * (1 - p) / n_eff).sum() / math.sqrt(2 * math.pi))


# ------------------------------------------------------------------- moves and closure

def test_closure_is_reachability():
    rng = np.random.default_rng(0)
    for d in (1, 2, 5, 9):
        g = random_dag(rng, d, 0.4)
        want = np.zeros((d, d), dtype=bool)
        power = np.eye(d, dtype=np.int64)
        for _ in range(d):                      # paths of length 1 .. d
            power = np.minimum(power @ g, 1)
            want |= power.astype(bool)
        np.testing.assert_array_equal(closure(g) > 0, want)


def test_neighbourhood_equals_brute_force_on_random_dags():
    rng = np.random.default_rng(1)
    for trial in range(120):
        d = int(rng.integers(1, 8))
        mp = int(rng.choice([0, 0, 1, 2, 3]))
        g = random_dag(rng, d, float(rng.uniform(0.1, 0.9)), mp)
        want = brute_force_moves(g, mp)
        got = valid_moves(g, mp)
        for name, w, h in zip(("add", "delete", "reverse"), want, got):
            np.testing.assert_array_equal(h, w, err_msg=f"{name} moves, trial {trial}, d {d}, max_parents {mp}")
        assert neighbourhood_size(g, mp) == sum(int(w.sum()) for w in want)
    # a reversal blocked by another path: 0 -> 1 -> 2 and 0 -> 2 (0 -> 2 not reversible)
    g = np.zeros((3, 3), dtype=np.int8)
    g[0, 1] = g[1, 2] = g[0, 2] = 1
    _, _, rev = valid_moves(g)
    assert not rev[0, 2] and rev[0, 1] and rev[1, 2]


def test_valid_moves_refuses_cycles():
    g = np.zeros((3, 3), dtype=np.int8)
    g[0, 1] = g[1, 2] = g[2, 0] = 1
    with pytest.raises(ValueError, match="cycle"):
        valid_moves(g)


# -------------------------------------------------------------------- exact targets

def test_hastings_correction_matters():
    """Flat scores, d = 4, max_parents = 1: the target is uniform over the 125 DAGs with
    in-degree <= 1, whose neighbourhoods range from 4 to 12 moves. Without the Hastings
    factor the chain samples ∝ |nbd(G)| instead, at total variation 0.143 from uniform
    (computed below); with it, the sample must be within the Monte Carlo error."""
    d, mp, n_chains, steps = 4, 1, 4, 10000
    codes = all_dags(d)
    g_all = codes_to_graphs(codes, d)
    allowed = g_all.sum(1).max(1) <= mp
    p = allowed / allowed.sum()
    nbd = np.array([neighbourhood_size(g, mp) if ok else 0 for g, ok in zip(g_all, allowed)], float)
    wrong = nbd / nbd.sum()
    tv_wrong = 0.5 * np.abs(wrong - p).sum()
    assert tv_wrong > 0.14

    kw = dict(steps=steps, burn_in=1000, thin=1, n_chains=n_chains, max_parents=mp, seed=0)
    good = mc3(TableScores(d), **kw)
    bad = _sample(TableScores(d), hastings=False, **kw)
    k = len(good.graphs)
    # τ of the DAG indicators measures 6-8 steps here; the bound 15 gives N_eff >= 2400
    # and a tolerance E[TV] = 0.090, halfway between 0 and the biased chain's 0.143.
    ind = graphs_to_codes(good.graphs)[:, None] == codes[allowed][None, :]
    tau = autocorr_time(ind, n_chains)
    assert tau < 15
    tol = expected_tv(p[allowed], k / 15)
    tv_good = 0.5 * np.abs(frequencies(good.graphs, codes) - p).sum()
    tv_bad = 0.5 * np.abs(frequencies(bad.graphs, codes) - p).sum()
    assert tv_good < tol < tv_bad, (tv_good, tol, tv_bad)
    # the uncorrected chain lands near its own (wrong) stationary distribution
    assert 0.5 * np.abs(frequencies(bad.graphs, codes) - wrong).sum() < tol


@pytest.fixture(scope="module")
def bge4():
    from dagposterior.exact import exact_posterior
    from dagposterior.scores import LocalScores

    scores = LocalScores(chain_data(4, 20, 0))
    return scores, exact_posterior(scores)


def test_agrees_with_exact_posterior_d4(bge4):
    """K = 4 × 18,000 pooled states. Measured τ: 16 for the DAG indicators, 30 for the
    edge indicators (batch means); the bounds 25 and 50 give N_eff >= 2,880 and 1,440:
    TV tolerance E[TV | N_eff = 2,880] = 0.106 (observed 0.04) and edge tolerance
    4 · 0.5 / sqrt(1,440) = 0.053 (observed <= 0.02)."""
    scores, exact = bge4
    n_chains = 4
    res = mc3(scores, steps=20000, burn_in=2000, thin=1, n_chains=n_chains, seed=0)
    k = len(res.graphs)
    codes = exact.codes
    top = codes[exact.weights > 0.005]
    assert autocorr_time(graphs_to_codes(res.graphs)[:, None] == top[None, :], n_chains) < 25
    assert autocorr_time(res.graphs.reshape(k, -1), n_chains) < 50
    tv = 0.5 * np.abs(frequencies(res.graphs, codes) - exact.weights).sum()
    assert tv < expected_tv(exact.weights, k / 25), tv
    edge_err = np.abs(res.graphs.mean(0) - exact.edge_marginals()).max()
    assert edge_err < 4 * 0.5 / math.sqrt(k / 50), edge_err
    # the log scores reported are the unnormalised log posterior of each sample
    i = np.arange(0, k, 997)
    want = np.log(exact.prob(res.graphs[i])) + exact.log_evidence
    np.testing.assert_allclose(res.log_scores[i], want, rtol=0, atol=1e-8)
    assert res.info["rhat_log_score"] < 1.05


def test_agrees_with_exact_edge_marginals_d5():
    """d = 5 (29,281 DAGs, too many for a TV test at this K): edge marginals only.
    K = 4 × 13,500; edge τ measures 60-120 steps, bound 200: N_eff >= 270, tolerance
    4 · 0.5 / sqrt(270) = 0.12 (observed <= 0.03)."""
    from dagposterior.exact import exact_posterior
    from dagposterior.scores import LocalScores

    scores = LocalScores(chain_data(5, 20, 1))
    exact = exact_posterior(scores)
    n_chains = 4
    res = mc3(scores, steps=15000, burn_in=1500, thin=1, n_chains=n_chains, seed=0)
    k = len(res.graphs)
    assert autocorr_time(res.graphs.reshape(k, -1), n_chains) < 200
    edge_err = np.abs(res.graphs.mean(0) - exact.edge_marginals()).max()
    assert edge_err < 4 * 0.5 / math.sqrt(k / 200), edge_err


# ------------------------------------------------------------------ chain mechanics

def test_samples_are_dags_within_max_parents_and_single_moves_apart():
    """A score that rewards every parent (+1.5 nats each) pushes the chain to dense
    DAGs, where cycles and the in-degree limit are hit constantly."""
    d = 8
    for mp in (0, 2):
        scores = TableScores(d, lambda j, code: 1.5 * popcount(code))
        res = mc3(scores, steps=3000, burn_in=0, thin=1, n_chains=1, max_parents=mp, seed=4)
        g = res.graphs
        assert all(is_dag(x) for x in g)
        indeg = g.sum(1).max(1)
        if mp:
            assert indeg.max() == mp                      # the limit binds ...
        else:
            assert indeg.max() > 2                        # ... and without it is exceeded
        assert g[len(g) // 2:].sum((1, 2)).mean() > d        # denser than any tree
        # consecutive states differ by one move: 0 entries, 1 (add/delete) or a reversal
        diff = (g[1:] != g[:-1]).reshape(len(g) - 1, -1).sum(1)
        assert set(np.unique(diff)) <= {0, 1, 2}
        rev = np.flatnonzero(diff == 2)
        assert len(rev) > 0
        for t in rev[:50]:
            a, b = g[t], g[t + 1]
            assert ((a ^ b) == (a ^ b).T).all()           # the same pair, flipped
        # every (node, parent set) was scored once
        assert len(scores.calls) == len(set(scores.calls)) == res.info["n_families_scored"]


def test_kept_steps_and_sample_count():
    np.testing.assert_array_equal(kept_steps(10, 3, 3), [4, 7, 10])
    np.testing.assert_array_equal(kept_steps(10, 0, 1), np.arange(1, 11))
    np.testing.assert_array_equal(kept_steps(10, 9, 5), [10])
    res = mc3(TableScores(3), steps=10, burn_in=3, thin=3, n_chains=2, seed=0)
    assert res.graphs.shape == (6, 3, 3) and res.graphs.dtype == np.int8
    np.testing.assert_array_equal(res.chain, [0, 0, 0, 1, 1, 1])
    # thinning takes every thin-th state of the same path
    full = mc3(TableScores(3), steps=10, burn_in=0, thin=1, n_chains=2, seed=0)
    np.testing.assert_array_equal(res.graphs[:3], full.graphs[[3, 6, 9]])
    np.testing.assert_array_equal(res.graphs[3:], full.graphs[[13, 16, 19]])


def test_seeds_reproduce_and_differ():
    scores = TableScores(6, lambda j, code: 0.3 * popcount(code))
    kw = dict(steps=2000, burn_in=500, thin=5, n_chains=2)
    a, b, c = mc3(scores, seed=7, **kw), mc3(scores, seed=7, **kw), mc3(scores, seed=8, **kw)
    np.testing.assert_array_equal(a.graphs, b.graphs)
    np.testing.assert_array_equal(a.log_scores, b.log_scores)
    assert a.info["acceptance_rate"] == b.info["acceptance_rate"]
    assert not np.array_equal(a.graphs, c.graphs)
    # chain c draws from SeedSequence(seed).spawn(n_chains)[c]: chain 0 of two chains is
    # the single chain, and the two chains differ
    one = mc3(scores, seed=7, **{**kw, "n_chains": 1})
    np.testing.assert_array_equal(one.graphs, a.graphs[a.chain == 0])
    assert not np.array_equal(a.graphs[a.chain == 0], a.graphs[a.chain == 1])


def test_diagnostics_expose_disagreeing_chains():
    g = np.zeros((2, 3, 2, 2), dtype=np.int8)             # [chains, samples, d, d]
    g[0, :, 0, 1] = 1                                     # chain 0: always 0 -> 1
    g[1, :, 1, 0] = 1                                     # chain 1: always 1 -> 0
    info = _diagnostics(g.reshape(6, 2, 2), np.array([1.0, 1.1, 1.2, 5.0, 5.1, 5.2]), 2, 3)
    assert info["max_edge_marginal_diff"] == 1.0
    assert info["rhat_log_score"] > 10
    assert info["n_distinct_graphs"] == 2
    one = _diagnostics(g[0], np.zeros(3), 1, 3)
    assert one["max_edge_marginal_diff"] is None and one["rhat_log_score"] is None


@pytest.mark.parametrize("kwargs, name", [
    ({"steps": 0}, "steps"), ({"steps": 2.5}, "steps"), ({"steps": True}, "steps"),
    ({"burn_in": -1}, "burn_in"), ({"burn_in": 100}, "burn_in"), ({"thin": 0}, "thin"),
    ({"n_chains": 0}, "n_chains"), ({"max_parents": -1}, "max_parents"), ({"seed": -3}, "seed"),
])
def test_mc3_refuses_bad_arguments(kwargs, name):
    args = {"steps": 100, "burn_in": 10, "thin": 1, "n_chains": 1, "max_parents": 0, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=f"'{name}'"):
        mc3(TableScores(3), **args)


def test_non_finite_local_score_is_refused():
    with pytest.raises(ValueError, match="node 1"):
        mc3(TableScores(3, lambda j, code: math.nan if j == 1 else 0.0), steps=10, burn_in=0)


def test_single_node_never_moves():
    res = mc3(TableScores(1), steps=5, burn_in=0, n_chains=2)
    assert res.graphs.shape == (10, 1, 1) and not res.graphs.any()
    assert res.info["acceptance_rate"] == [0.0, 0.0]


# ----------------------------------------------------------------------- the plugin

@pytest.mark.parametrize("params, name", [
    ({"burn_in": 1.0}, "burn_in"), ({"burn_in": -0.1}, "burn_in"), ({"thin": 0}, "thin"),
    ({"steps": 0}, "steps"), ({"n_chains": 0}, "n_chains"), ({"max_parents": -1}, "max_parents"),
    ({"edges_per_node": 0.0}, "edges_per_node"), ({"graph_prior": "flat"}, "graph_prior"),
    ({"steps": 10.5}, "steps"),
])
def test_plugin_refuses_bad_params(params, name):
    with pytest.raises(PluginError, match=f"'{name}'"):
        MC3(**params)


def test_plugin_priors_match_scores_and_dibs():
    from dagposterior.scores import GRAPH_PRIORS
    from methods.dibs_bge import COMMON_CHOICES, COMMON_DEFAULTS

    assert MC3.choices["graph_prior"] == GRAPH_PRIORS == COMMON_CHOICES["graph_prior"]
    for key in ("graph_prior", "edges_per_node"):
        assert MC3.defaults[key] == COMMON_DEFAULTS[key]


def test_plugin_fit_uses_interventions():
    from dagposterior.scores import LocalScores

    rng = np.random.default_rng(3)
    n, d = 60, 3
    x = chain_data(d, n, 3)
    mask = np.zeros((n, d), dtype=bool)
    mask[:20, 1] = True                                   # node 1 clamped in 20 rows
    x[:20, 1] = rng.normal(size=20) * 2.0
    data = Dataset(x=x, x_heldout=np.zeros((2, d)), g_true=np.zeros((d, d)), interv_mask=mask)
    method = MC3(steps=400, burn_in=0.25, thin=3, n_chains=2)
    post = method.fit(data, seed=5)
    assert post.problems(d) == [] and not post.may_be_cyclic
    np.testing.assert_allclose(post.weights, 1 / len(post.graphs))
    json.dumps(post.info)
    kw = dict(steps=400, burn_in=100, thin=3, n_chains=2, seed=5)
    with_mask = mc3(LocalScores(x, mask), **kw)
    without = mc3(LocalScores(x, None), **kw)
    assert not np.array_equal(with_mask.graphs, without.graphs)
    np.testing.assert_array_equal(post.graphs, with_mask.graphs)
    assert MC3.uses_interventions


def test_plugin_result_type():
    assert MC3().burn_in_steps() == 50000
    assert MC3(steps=20).burn_in_steps() == 10
    res = mc3(TableScores(2), steps=4, burn_in=1, thin=2)
    assert isinstance(res, MC3Result)


def test_parent_sets_beyond_63_nodes():
    """Parent sets are bit codes; at d >= 64 they do not fit an int64 (bnlearn's magic-irri,
    d = 64, failed with 'a parent set contains its own child'). The score of node 0 with
    parent 65 must equal that of node 0 with parent 1 once columns 1 and 65 are swapped,
    and a short chain at d = 66 must run."""
    from dagposterior.scores import LocalScores

    x = chain_data(66, 30, 1)
    swapped = x.copy()
    swapped[:, [1, 65]] = x[:, [65, 1]]
    high, low = LocalScores(x), LocalScores(swapped)
    assert math.isclose(high.family(0, 1 << 65), low.family(0, 1 << 1), rel_tol=1e-12)
    res = mc3(high, steps=300, burn_in=100, seed=0)
    assert res.graphs.shape[1:] == (66, 66) and all(is_dag(g) for g in res.graphs)
