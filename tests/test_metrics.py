"""Tests of evaluation/: metrics on hand-computed cases, cross-checks against
cdt.metrics on random graphs, the likelihood, score_fit and read_benchmark.

cdt imports torch (slow): it is imported only inside the tests that use it.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from dagbench.graphs import dag_to_cpdag
from evaluation import metrics as M
from evaluation.likelihood import (NOISE_VAR_NO_DATA, heldout_scores,
                                   least_squares_fit, least_squares_fit_many,
                                   linear_gaussian_logpdf)
from evaluation.scoring import SCORE_KEYS, read_benchmark, score_fit
from simulators.base import Dataset


def G(d, *edges):
    g = np.zeros((d, d), np.int8)
    for i, j in edges:
        g[i, j] = 1
    return g


def random_dag(rng, d, p):
    g = np.triu(rng.random((d, d)) < p, k=1).astype(np.int8)
    perm = rng.permutation(d)
    return g[np.ix_(perm, perm)]


CHAIN = G(3, (0, 1), (1, 2))  # 0 -> 1 -> 2


# ------------------------------------------------------------------ SHD, hand cases

def test_shd_reversal_costs_one():
    assert M.shd(G(3, (1, 0), (1, 2)), CHAIN) == 1


def test_shd_missing_and_extra_edge_cost_one():
    assert M.shd(G(3, (0, 1)), CHAIN) == 1                   # 1 -> 2 missing
    assert M.shd(G(3, (0, 1), (1, 2), (0, 2)), CHAIN) == 1   # 0 -> 2 extra
    assert M.shd(np.zeros((3, 3)), CHAIN) == 2


def test_shd_combined_and_symmetric():
    est = G(3, (1, 0), (0, 2))  # reversed 0-1, missing 1->2, extra 0->2
    assert M.shd(est, CHAIN) == 3
    assert M.shd(CHAIN, est) == 3
    assert M.shd(CHAIN, CHAIN) == 0


def test_shd_cpdag_undirected_vs_directed_costs_one():
    assert M.shd_cpdag(G(2, (0, 1), (1, 0)), G(2, (0, 1))) == 1
    assert M.shd_cpdag(G(2, (1, 0)), G(2, (0, 1))) == 1
    assert M.shd_cpdag(G(2, (0, 1), (1, 0)), G(2, (0, 1), (1, 0))) == 0


def test_shd_cpdag_of_equivalent_and_of_v_structure():
    rev = G(3, (2, 1), (1, 0))  # Markov equivalent to CHAIN
    assert M.shd(rev, CHAIN) == 2
    assert M.shd_cpdag(dag_to_cpdag(rev), dag_to_cpdag(CHAIN)) == 0
    vs, ch = G(3, (0, 2), (1, 2)), G(3, (0, 2), (2, 1))  # collider vs chain on one skeleton
    assert M.shd(vs, ch) == 1
    # CPDAG(vs) keeps both edges directed, CPDAG(ch) has both undirected: 2 pairs differ
    assert M.shd_cpdag(dag_to_cpdag(vs), dag_to_cpdag(ch)) == 2


# ------------------------------------------------------------- cycles and E-SHD

CYC = G(3, (0, 1), (1, 0), (0, 2))  # a 2-cycle; SHD to CHAIN = 3 if it were counted


def test_expected_shd_excludes_cyclic_and_renormalises():
    graphs = np.stack([CHAIN, np.zeros((3, 3), np.int8), CYC])
    w = np.array([0.2, 0.3, 0.5])
    e, flag = M.expected_shd(graphs, w, CHAIN)
    # acyclic weights (0.2, 0.3) -> (0.4, 0.6); SHDs 0 and 2
    assert e == pytest.approx(1.2)
    assert flag is False


def test_expected_shd_all_cyclic_scores_empty_graph_and_flags():
    e, flag = M.expected_shd(np.stack([CYC, CYC]), [0.5, 0.5], CHAIN)
    assert (e, flag) == (2.0, True)
    # acyclic samples with no weight count as no acyclic mass
    e, flag = M.expected_shd(np.stack([CHAIN, CYC]), [0.0, 1.0], CHAIN)
    assert (e, flag) == (2.0, True)


def test_frac_cyclic_weighted_and_plain():
    graphs = np.stack([CHAIN, np.zeros((3, 3), np.int8), CYC])
    w = [0.2, 0.3, 0.5]
    assert M.frac_cyclic(graphs, w) == pytest.approx(0.5)
    assert M.frac_cyclic(graphs, w, weighted=False) == pytest.approx(1 / 3)
    assert M.frac_cyclic(G(2, (0, 0))) == 1.0  # a self-loop is a cycle


def test_edge_marginals():
    graphs = np.stack([G(3, (0, 1)), G(3, (0, 1), (1, 2)), G(3, (2, 1))])
    p = M.edge_marginals(graphs, [0.5, 0.25, 0.25])
    want = np.zeros((3, 3))
    want[0, 1], want[1, 2], want[2, 1] = 0.75, 0.25, 0.25
    np.testing.assert_allclose(p, want)


# ----------------------------------------------------------- AUROC / AUPRC / PR

def test_auroc_perfect_reversed_and_hand():
    off = ~np.eye(3, dtype=bool)
    assert M.auroc(CHAIN.astype(float), CHAIN) == 1.0
    assert M.auroc(np.where(off, 1.0 - CHAIN, 0.0), CHAIN) == 0.0
    # positives (0,1)=.9, (1,2)=.4; negatives .6 .1 .0 .3 -> (4 + 3) / 8
    p = np.array([[0, .9, .6], [.1, 0, .4], [.0, .3, 0]])
    assert M.auroc(p, CHAIN) == pytest.approx(7 / 8)
    # the diagonal is not scored: a high diagonal changes nothing
    assert M.auroc(p + 5 * np.eye(3), CHAIN) == pytest.approx(7 / 8)


def test_auprc_hand():
    p = np.array([[0, .9, .6], [.1, 0, .4], [.0, .3, 0]])
    # ranking: .9(+) .6(-) .4(+) ...; AP = .5 * 1 + .5 * 2/3
    assert M.auprc(p, CHAIN) == pytest.approx(5 / 6)
    # trapezoid over (R, P): (1, 2/3)->(.5, .5): .5*(7/12); (.5, 1)->(0, 1): .5
    assert M.auprc(p, CHAIN, method="trapezoid") == pytest.approx(19 / 24)
    assert M.auprc(CHAIN.astype(float), CHAIN) == 1.0


def test_auroc_auprc_degenerate_are_nan():
    empty = np.zeros((3, 3), np.int8)
    assert math.isnan(M.auroc(np.full((3, 3), .5), empty))
    assert math.isnan(M.auprc(np.full((3, 3), .5), empty))
    full = 1 - np.eye(3, dtype=np.int8)
    assert math.isnan(M.auroc(np.full((3, 3), .5), full))


def test_precision_recall_f1_hand():
    p = np.array([[0, .9, .6], [.1, 0, .5], [.0, .3, 0]])  # .5 is not > .5
    # predicted {01, 02}; true {01, 12}: tp 1, fp 1, fn 1
    assert M.precision_recall_f1(p, CHAIN) == pytest.approx((0.5, 0.5, 0.5))
    p[2, 1] = .7  # predicted {01, 02, 21}: tp 1, fp 2, fn 1
    assert M.precision_recall_f1(p, CHAIN) == pytest.approx((1 / 3, 1 / 2, 2 / 5))
    assert M.precision_recall_f1(CHAIN.astype(float), CHAIN) == (1.0, 1.0, 1.0)


def test_precision_recall_f1_zero_over_zero():
    empty = np.zeros((3, 3))
    assert M.precision_recall_f1(empty, CHAIN) == (0.0, 0.0, 0.0)
    assert M.precision_recall_f1(CHAIN.astype(float), empty) == (0.0, 0.0, 0.0)
    assert M.precision_recall_f1(empty, empty) == (1.0, 1.0, 1.0)


# ---------------------------------------------------------- cdt cross-checks

def test_shd_matches_cdt_on_random_graphs():
    """cdt.metrics.SHD(target, pred, double_for_anticausal=False) counts a pair once
    if either of its two entries differs, i.e. our pair-status SHD for graphs without
    self-loops (its default, True, counts a reversal twice)."""
    from cdt.metrics import SHD

    rng = np.random.default_rng(0)
    for _ in range(200):
        d = int(rng.integers(2, 12))
        a, b = random_dag(rng, d, rng.random()), random_dag(rng, d, rng.random())
        assert M.shd(a, b) == SHD(b, a, double_for_anticausal=False)
        # also on arbitrary directed graphs (2-cycles), self-loops removed
        c = (rng.random((d, d)) < .4).astype(int) * (1 - np.eye(d, dtype=int))
        assert M.shd(c, b) == SHD(b, c, double_for_anticausal=False)
    rev = G(3, (1, 0), (1, 2))
    assert SHD(CHAIN, rev) == 2 and M.shd(rev, CHAIN) == 1  # the convention differs


def test_precision_recall_and_auprc_match_cdt_on_random_graphs():
    """cdt.metrics.precision_recall(target, pred) returns (area, curve): it runs
    sklearn's precision_recall_curve on target.ravel(), pred.ravel() -- all d*d
    entries, diagonal included -- and returns auc(recall, precision) (trapezoidal
    area) and the list of (precision, recall) points, one per distinct score taken as
    a threshold 'score >= t', plus the end point (1, 0).
    Comparisons: (1) with pred = the 0/1 graph {p > 0.5} (diagonal 0) the curve point
    at threshold 1 is exactly that graph's (precision, recall), which must equal ours;
    (2) on the d(d-1) off-diagonal entries, passed to cdt as a [1, d(d-1)] matrix so
    that the diagonal cannot enter, cdt's area must equal our auprc(method='trapezoid')."""
    from cdt.metrics import precision_recall

    rng = np.random.default_rng(1)
    checked = 0
    for _ in range(60):
        d = int(rng.integers(3, 10))
        g = random_dag(rng, d, rng.uniform(.2, .7))
        if not g.any():
            continue
        p = np.clip(0.6 * g + rng.random((d, d)) * 0.7, 0, 1) * (1 - np.eye(d))
        pred = (p > 0.5).astype(float)
        if not pred.any():
            continue
        _, curve = precision_recall(g, pred)
        prec, rec, _ = M.precision_recall_f1(p, g)
        # the curve's points are (precision, recall); the one at threshold 1 is the
        # point with the smallest recall > 0 (the last before the end point (1, 0))
        at_one = curve[-2]
        assert at_one == pytest.approx((prec, rec))
        area, _ = precision_recall(M.offdiag(g)[None], M.offdiag(p)[None])
        assert M.auprc(p, g, method="trapezoid") == pytest.approx(area)
        checked += 1
    assert checked > 30


# ------------------------------------------------------------------ likelihood

W3 = np.array([[0, 2.0, 1.0], [0, 0, -0.5], [0, 0, 0]])  # 0->1 (2), 0->2 (1), 1->2 (-.5)
V3 = np.array([1.0, 0.5, 2.0])


def test_linear_gaussian_logpdf_matches_scipy_and_drops_intervened_terms():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(5, 3))
    mask = np.zeros((5, 3), bool)
    mask[0, 1] = True   # row 0: node 1 intervened
    mask[3, [0, 2]] = True
    out = linear_gaussian_logpdf(x, mask, W3, V3)
    assert out.shape == (1, 5)
    for r in range(5):
        means = [0.0, 2 * x[r, 0], x[r, 0] - 0.5 * x[r, 1]]
        want = sum(norm.logpdf(x[r, j], means[j], np.sqrt(V3[j]))
                   for j in range(3) if not mask[r, j])
        assert out[0, r] == pytest.approx(want, rel=1e-12)
    full = linear_gaussian_logpdf(x, None, np.stack([W3, W3]), np.stack([V3, V3]))
    assert full.shape == (2, 5)
    assert full[0, 0] == pytest.approx(out[0, 0] + norm.logpdf(x[0, 1], 2 * x[0, 0], np.sqrt(.5)))


def simulate_linear(rng, n, interv_node=None, frac=0.0):
    x = np.zeros((n, 3))
    mask = np.zeros((n, 3), bool)
    if interv_node is not None:
        mask[: int(frac * n), interv_node] = True
    for j in range(3):
        x[:, j] = x @ W3[:, j] + rng.normal(size=n) * np.sqrt(V3[j])
        x[mask[:, j], j] = rng.normal(size=mask[:, j].sum()) * 2.0  # do(x_j ~ N(0, 4))
    return x, mask


def test_least_squares_recovers_weights_and_excludes_intervened_rows():
    rng = np.random.default_rng(3)
    x, mask = simulate_linear(rng, 40_000, interv_node=1, frac=0.5)
    g = (W3 != 0).astype(np.int8)
    w, v = least_squares_fit(x, mask, g)
    np.testing.assert_allclose(w, W3, atol=0.05)
    np.testing.assert_allclose(v, V3, rtol=0.05)
    # using node 1's intervened rows too would bias its weight towards 0
    w_bad, _ = least_squares_fit(x, None, g)
    assert abs(w_bad[0, 1] - 2.0) > 0.3


def test_least_squares_hand():
    """No intercept, ML variance = mean squared residual (not the residuals' variance)."""
    x = np.array([[1.0, 1.0], [2.0, 3.0]])
    w, v = least_squares_fit(x, None, G(2, (0, 1)))
    # w = sum x0 x1 / sum x0^2 = 7/5; residuals -0.4, 0.2
    assert w[0, 1] == pytest.approx(7 / 5) and w[1, 0] == 0
    assert v == pytest.approx([(1 + 4) / 2, (0.16 + 0.04) / 2])


def test_least_squares_refuses_degenerate_fits_instead_of_flooring():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(10, 3))
    x[:, 1] = 3 * x[:, 0]  # determined exactly by its parent
    mask = np.zeros((10, 3), bool)
    mask[:, 2] = True      # node 2 never observed
    w, v = least_squares_fit(x, mask, G(3, (0, 1), (1, 2)))
    assert np.isnan(v[1]) and w[0, 1] == 0      # no ML variance: refused, not floored
    assert v[0] > 0 and w[1, 2] == 0 and v[2] == NOISE_VAR_NO_DATA
    # the same node without its parent is an ordinary fit
    assert least_squares_fit(x, mask, G(3, (1, 2)))[1][1] == pytest.approx(np.mean(x[:, 1] ** 2))
    # one row, one parent: underdetermined, refused
    w, v = least_squares_fit(x[:1], None, G(3, (0, 2)))
    assert np.isnan(v[2]) and np.isfinite(w).all()
    # nearly but not exactly determined (1 - R^2 ~ 1e-8 > 1e-10): an ordinary fit
    x[:, 1] = 3 * x[:, 0] + 1e-4 * rng.normal(size=10)
    assert least_squares_fit(x, None, G(3, (0, 1)))[1][1] > 0


def test_least_squares_many_equals_one_by_one():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(50, 4))
    graphs = np.stack([random_dag(rng, 4, .5) for _ in range(6)])
    W, V = least_squares_fit_many(x, None, graphs)
    for k in range(6):
        w, v = least_squares_fit(x, None, graphs[k])
        np.testing.assert_allclose(W[k], w)
        np.testing.assert_allclose(V[k], v)


def test_heldout_scores_hand():
    logp = np.log([[0.5, 0.25], [0.1, 0.2]])
    s = heldout_scores(logp, [0.5, 0.5])
    assert s["ll_heldout"] == pytest.approx((np.log(.3) + np.log(.225)) / 2)
    assert s["ell_heldout"] == pytest.approx(0.5 * np.log([.5, .25]).mean() + 0.5 * np.log([.1, .2]).mean())
    # log-sum-exp: stable at large magnitudes
    s = heldout_scores(logp - 5000, [0.5, 0.5])
    assert s["ll_heldout"] == pytest.approx((np.log(.3) + np.log(.225)) / 2 - 5000)


def test_heldout_scores_jensen_and_single_sample():
    rng = np.random.default_rng(6)
    for _ in range(50):
        K, m = int(rng.integers(1, 6)), int(rng.integers(1, 20))
        logp = rng.normal(scale=5, size=(K, m)) - 10
        w = rng.dirichlet(np.ones(K))
        s = heldout_scores(logp, w)
        assert s["ll_heldout"] >= s["ell_heldout"] - 1e-9
    logp = rng.normal(size=(1, 7))
    s = heldout_scores(logp, [1.0])
    assert s["ll_heldout"] == pytest.approx(s["ell_heldout"]) == pytest.approx(logp.mean())


# ------------------------------------------------------------------ score_fit

@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    x, mask = simulate_linear(rng, 400)
    xh, mh = simulate_linear(rng, 100)
    return Dataset(x=x, x_heldout=xh, g_true=(W3 != 0).astype(np.int8), interv_mask=mask,
                   interv_mask_heldout=mh)


def point_fit(g, **extra):
    g = np.asarray(g, np.int8)
    return {"graphs": g[None], "weights": np.ones(1), "edge_probs": g.astype(float), **extra}


def test_score_fit_perfect_posterior(data):
    s = score_fit(point_fit(data.g_true), data)
    assert tuple(s) == SCORE_KEYS
    assert s["shd"] == s["e_shd"] == s["shd_map"] == s["shd_cpdag"] == 0
    assert s["auroc"] == 1 and s["auprc"] == 1 and s["f1"] == 1
    assert s["precision"] == s["recall"] == 1
    assert s["ll_source"] == "least_squares" and s["ll_heldout"] == pytest.approx(s["ell_heldout"])
    assert s["frac_cyclic"] == 0 and s["all_cyclic"] is False
    assert s["n_edges_est"] == s["n_edges_true"] == 3
    # the least-squares fit of the true graph beats that of the empty graph
    assert s["ll_heldout"] > score_fit(point_fit(np.zeros((3, 3))), data)["ll_heldout"]


def test_score_fit_empty_graph(data):
    s = score_fit(point_fit(np.zeros((3, 3))), data)
    assert s["shd"] == s["shd_map"] == s["n_edges_true"] == 3
    assert s["recall"] == s["f1"] == 0 and s["n_edges_est"] == 0
    assert s["auroc"] == 0.5


def test_score_fit_posterior_with_cyclic_sample(data):
    g = data.g_true
    cyc = g.copy()
    cyc[2, 0] = 1                                    # 0 -> 2 -> 0
    empty = np.zeros((3, 3), np.int8)
    graphs = np.stack([g, empty, cyc, g])
    w = np.array([0.15, 0.25, 0.4, 0.2])
    fit = {"graphs": graphs, "weights": w, "edge_probs": M.edge_marginals(graphs, w)}
    s = score_fit(fit, data)
    # acyclic mass: g 0.35 (two copies), empty 0.25 -> renormalised 7/12, 5/12; SHD 0, 3
    assert s["e_shd"] == pytest.approx(3 * 5 / 12) and s["shd"] == s["e_shd"]
    assert s["frac_cyclic"] == pytest.approx(0.4) and s["frac_cyclic_unweighted"] == 0.25
    assert s["n_edges_est"] == pytest.approx(3 * 7 / 12)
    # MAP: identical samples' weights are summed, so g (0.35) beats empty (0.25) although
    # each single copy of g weighs less than empty
    assert s["shd_map"] == 0
    # the likelihood over the two acyclic graphs with weights 7/12, 5/12
    ref = score_fit({"graphs": np.stack([g, empty]), "weights": np.array([7, 5]) / 12,
                     "edge_probs": fit["edge_probs"]}, data)
    for key in ("ll_heldout", "ell_heldout", "e_shd", "shd_cpdag"):
        assert s[key] == pytest.approx(ref[key])
    assert s["ll_heldout"] != pytest.approx(s["ell_heldout"])
    # model log densities: the cyclic sample's huge values must not enter
    logp = np.array([np.full(100, -1.0), np.full(100, -3.0), np.full(100, 1e3), np.full(100, -1.0)])
    sm = score_fit({**fit, "logp_heldout": logp}, data)
    assert sm["ll_source"] == "model"
    assert sm["ell_heldout"] == pytest.approx(-(7 * 1 + 5 * 3) / 12)
    assert sm["ll_heldout"] == pytest.approx(np.log(7 / 12 * np.exp(-1) + 5 / 12 * np.exp(-3)))


def test_score_fit_all_cyclic(data):
    cyc = G(3, (0, 1), (1, 0))
    fit = {"graphs": cyc[None], "weights": np.ones(1), "edge_probs": cyc.astype(float),
           "logp_heldout": np.zeros((1, 100))}
    s = score_fit(fit, data)
    assert s["all_cyclic"] is True and s["frac_cyclic"] == 1
    assert s["shd"] == s["shd_map"] == 3 and s["n_edges_est"] == 0
    assert s["ll_source"] == "least_squares"
    assert s["ll_heldout"] == pytest.approx(score_fit(point_fit(np.zeros((3, 3))), data)["ll_heldout"])


def test_score_fit_linear_params_and_cpdag(data):
    g = data.g_true
    s = score_fit(point_fit(g, linear_weights=W3[None], noise_vars=V3[None]), data)
    want = linear_gaussian_logpdf(data.x_heldout, data.interv_mask_heldout, W3, V3).mean()
    assert s["ll_source"] == "linear" and s["ll_heldout"] == pytest.approx(want)
    # a given CPDAG is used for shd_cpdag: CPDAG(g) is fully undirected (no v-structure)
    wrong = G(3, (0, 1), (1, 2), (0, 2))  # = g, but directed
    assert score_fit(point_fit(g, cpdag=wrong), data)["shd_cpdag"] == 3
    assert score_fit(point_fit(g, cpdag=dag_to_cpdag(g)), data)["shd_cpdag"] == 0


# ------------------------------------------------------------- read_benchmark

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def test_read_benchmark(tmp_path):
    f = tmp_path / "b.tsv"
    f.write_text(HEADER + "12.3456\t0:00:12\t250.12\t900.0\t240.0\t245.0\t0.1\t0.2\t95.0\t11.8\n")
    assert read_benchmark(f) == pytest.approx({"wall_s": 12.3456, "max_rss_mb": 250.12})
    f.write_text(HEADER + "2.0\t0:00:02\tNA\tNA\tNA\tNA\tNA\tNA\tNA\tNA\n"
                 + "4.0\t0:00:04\t-\t-\t-\t-\t-\t-\t-\t-\n")
    out = read_benchmark(f)
    assert out["wall_s"] == 3.0 and math.isnan(out["max_rss_mb"])
    f.write_text(HEADER + "2.0\t0:00:02\t10.5\t1\t1\t1\t1\t1\t1\t1\n4.0\t0:00:04\t20.5\t1\t1\t1\t1\t1\t1\t1\n")
    assert read_benchmark(f) == pytest.approx({"wall_s": 3.0, "max_rss_mb": 20.5})


def test_score_fit_on_saved_graph_posterior(tmp_path, data):
    """What the evaluate step reads: the arrays GraphPosterior.save writes."""
    from methods.base import GraphPosterior

    g = data.g_true
    cp = dag_to_cpdag(g)                                   # fully undirected here
    post = GraphPosterior(cpdag=cp)                        # the 3! orders of a triangle
    post.save(tmp_path / "fit.npz")
    s = score_fit(GraphPosterior.load_arrays(tmp_path / "fit.npz"), data)
    # the reversals of the 6 orders against the true one: 0, 1, 1, 2, 2, 3
    assert s["shd"] == s["e_shd"] == pytest.approx(1.5) and s["shd_map"] == pytest.approx(1.5)
    assert s["shd_cpdag"] == 0 and s["ll_source"] == "least_squares"
    # every true edge has p = 0.5, not > 0.5: nothing predicted
    assert (s["precision"], s["recall"], s["f1"]) == (0.0, 0.0, 0.0)
    # all 6 off-diagonal entries (3 true edges, 3 reversals) are 0.5: all ties
    assert s["auroc"] == 0.5


def test_interventional_heldout_ll_scores_only_the_intervened_rows():
    from simulators.base import get as get_simulator

    ds = get_simulator("linear")(d=5, n=60, n_heldout=40, n_interv_nodes=1, n_interv_rows=15,
                                 heldout_interventional=True, n_heldout_interv_nodes=2).simulate(seed=3)
    rows = ds.interv_mask_heldout.any(axis=1)
    assert rows.sum() == 30 and (~rows).sum() == 40
    w = ds.params_true["weights"][None]
    v = (ds.params_true["noise_scale"] ** 2)[None]
    s = score_fit(point_fit(ds.g_true, linear_weights=w, noise_vars=v), ds)
    logp = linear_gaussian_logpdf(ds.x_heldout, ds.interv_mask_heldout, w, v)[0]
    assert s["ll_heldout_interv"] == pytest.approx(logp[rows].mean())
    assert s["ll_heldout"] == pytest.approx(logp.mean())
    assert s["ll_heldout_interv"] != pytest.approx(s["ll_heldout"])
    # observational held-out data: no interventional rows, so NaN
    obs = get_simulator("linear")(d=5, n=60).simulate(seed=3)
    assert math.isnan(score_fit(point_fit(obs.g_true), obs)["ll_heldout_interv"])


# -------------------------------------------------- calibration: Brier and ECE

# CHAIN's off-diagonal entries, row-major: (0,1) (0,2) (1,0) (1,2) (2,0) (2,1), labels
# 1 0 0 1 0 0; the marginals below put one entry exactly at 0.0 and one exactly at 1.0.
P_HAND = np.array([[0.0, 0.9, 0.2],
                   [0.1, 0.0, 0.6],
                   [0.0, 1.0, 0.0]])


def test_brier_hand():
    # squared errors: (0.9-1)^2 + 0.2^2 + 0.1^2 + (0.6-1)^2 + 0^2 + (1.0-0)^2
    #               = 0.01 + 0.04 + 0.01 + 0.16 + 0 + 1 = 1.22; / 6 entries = 0.20333
    assert M.brier_score(P_HAND, CHAIN) == pytest.approx(1.22 / 6)
    assert M.brier_score(CHAIN.astype(float), CHAIN) == 0
    assert M.brier_score(1.0 - CHAIN, CHAIN) == 1        # (the diagonal of 1 - G is not scored)
    assert M.brier_score(np.zeros((3, 3)), CHAIN) == pytest.approx(2 / 6)  # share of true edges


def test_ece_hand_with_both_bin_edges():
    # 10 bins [0, .1) [.1, .2) ... [.9, 1.0] (the last one right-closed):
    #   bin 0: {0.0 (no edge)}        |0.0 - 0|   = 0    weight 1/6
    #   bin 1: {0.1 (no edge)}        |0.1 - 0|   = 0.1  weight 1/6
    #   bin 2: {0.2 (no edge)}        |0.2 - 0|   = 0.2  weight 1/6
    #   bin 6: {0.6 (edge)}           |0.6 - 1|   = 0.4  weight 1/6
    #   bin 9: {0.9 (edge), 1.0 (no)} |0.95 - 0.5| = 0.45 weight 2/6
    # ECE = (0 + 0.1 + 0.2 + 0.4 + 2 * 0.45) / 6 = 1.6 / 6 = 0.26667. (Were 1.0 in a bin of
    # its own: (0.1 + 0.2 + 0.4 + |0.9 - 1| + |1.0 - 0|) / 6 = 1.8 / 6.)
    assert M.expected_calibration_error(P_HAND, CHAIN) == pytest.approx(1.6 / 6)
    mean_p, freq, count = M.reliability_bins([P_HAND], [CHAIN])
    assert count.tolist() == [1, 1, 1, 0, 0, 0, 1, 0, 0, 2]
    assert mean_p[9] == pytest.approx(0.95) and freq[9] == 0.5
    assert mean_p[0] == 0 and freq[6] == 1
    assert np.isnan(mean_p[3]) and np.isnan(freq[3])                  # empty bin
    # interior edges belong to the bin above: 0.3 in [.3, .4), 0.7 in [.7, .8)
    _, _, count = M.reliability_bins([np.array([[0, 0.3], [0.7, 0]])], [G(2, (0, 1))])
    assert count.tolist() == [0, 0, 0, 1, 0, 0, 0, 1, 0, 0]
    _, _, count = M.reliability_bins([np.array([[0, 0.3], [0.7, 0]])], [G(2, (0, 1))], n_bins=2)
    assert count.tolist() == [1, 1]


def test_ece_zero_when_calibrated_and_brier_still_positive():
    # four entries at 0.5, two of them true edges; the two others at 0.0, neither an edge
    p = np.array([[0, 0.5, 0.5], [0.5, 0, 0.5], [0.0, 0.0, 0]])
    assert M.expected_calibration_error(p, CHAIN) == 0
    assert M.brier_score(p, CHAIN) == pytest.approx(4 * 0.25 / 6)  # calibrated, not sharp
    assert M.expected_calibration_error(CHAIN.astype(float), CHAIN) == 0
    # one marginal off by 0.2 in a bin of its own: ECE = 0.2 / 6
    q = CHAIN.astype(float)
    q[2, 0] = 0.2
    assert M.expected_calibration_error(q, CHAIN) == pytest.approx(0.2 / 6)


def test_reliability_bins_pool_fits_of_different_sizes():
    a = M.reliability_bins([P_HAND], [CHAIN])
    b = M.reliability_bins([np.array([[0, 0.95], [0.05, 0]])], [G(2, (0, 1))])
    mean_p, freq, count = M.reliability_bins([P_HAND, np.array([[0, 0.95], [0.05, 0]])],
                                             [CHAIN, G(2, (0, 1))])
    assert (count == a[2] + b[2]).all()
    assert mean_p[9] == pytest.approx((0.9 + 1.0 + 0.95) / 3) and freq[9] == pytest.approx(2 / 3)
    assert mean_p[0] == pytest.approx(0.05 / 2) and freq[0] == 0


def test_calibration_input_errors_and_degenerate_cases():
    with pytest.raises(ValueError, match="probabilities"):
        M.brier_score(P_HAND * 2, CHAIN)
    with pytest.raises(ValueError, match="probabilities"):
        M.expected_calibration_error(np.full((3, 3), np.nan), CHAIN)
    with pytest.raises(ValueError, match=r"\[d, d\]"):
        M.brier_score(np.zeros((2, 2)), CHAIN)
    with pytest.raises(ValueError, match="n_bins"):
        M.expected_calibration_error(P_HAND, CHAIN, n_bins=0)
    with pytest.raises(ValueError, match="2 edge_probs but 1"):
        M.reliability_bins([P_HAND, P_HAND], [CHAIN])
    # a rounding excess is clipped, not refused
    assert M.brier_score(CHAIN * (1 + 1e-12), CHAIN) == pytest.approx(0)
    assert math.isnan(M.brier_score(np.zeros((1, 1)), np.zeros((1, 1))))
    assert math.isnan(M.expected_calibration_error(np.zeros((1, 1)), np.zeros((1, 1))))


# -------------------------------------------------- intervention distances (gadjid)

REV01 = G(3, (1, 0), (1, 2))  # CHAIN with 0 -> 1 reversed: 0 <- 1 -> 2


def test_sid_hand_chain_with_one_reversed_edge():
    # truth 0 -> 1 -> 2, guess 0 <- 1 -> 2; SID adjusts for the guess's parents of T:
    #  T=0, Z={1}: Y=1 is in Z (guess: no effect) but 1 is a descendant of 0: mistake;
    #              Y=2: Z={1} lies on the causal path 0 -> 1 -> 2: not valid: mistake.
    #  T=1, Z={}:  Y=0: the path 1 <- 0 stays open: mistake; Y=2: valid.
    #  T=2, Z={1}: Y=1 in Z, not a descendant of 2: right; Y=0: no causal path, 2 <- 1 <- 0
    #              blocked by 1: valid.  Total 3 of 6.
    d = M.intervention_distances(CHAIN, REV01)
    assert d == {"sid": 3.0, "parent_aid": 3.0, "ancestor_aid": 3.0}
    assert M.intervention_distances(CHAIN, CHAIN) == {"sid": 0.0, "parent_aid": 0.0, "ancestor_aid": 0.0}
    assert M.intervention_distances(CHAIN, np.zeros((3, 3)))["sid"] == 3  # pairs (1,0) (2,0) (2,1)
    # the count, not gadjid's fraction 3/6
    assert M.intervention_distances(REV01, CHAIN)["sid"] == 3


def test_intervention_distances_average_the_acyclic_samples():
    graphs = np.stack([CHAIN, REV01, CYC, CHAIN, np.zeros((3, 3), np.int8)])
    w = np.array([0.1, 0.3, 0.4, 0.1, 0.1])
    # acyclic mass: CHAIN 0.2 (two copies), REV01 0.3, empty 0.1 -> renormalised 1/3, 1/2, 1/6
    want = {k: (1 / 3) * M.intervention_distances(CHAIN, CHAIN)[k]
            + (1 / 2) * M.intervention_distances(CHAIN, REV01)[k]
            + (1 / 6) * M.intervention_distances(CHAIN, np.zeros((3, 3)))[k]
            for k in ("sid", "parent_aid", "ancestor_aid")}
    got = M.intervention_distances(CHAIN, graphs, w)
    assert got == pytest.approx(want) and got["sid"] == pytest.approx(3 / 2 + 3 / 6)
    # every sample cyclic (a 2-cycle, a self-loop): scored as the empty graph
    loop = CHAIN.copy()
    loop[2, 2] = 1
    assert M.intervention_distances(CHAIN, np.stack([CYC, loop])) == \
        M.intervention_distances(CHAIN, np.zeros((3, 3)))


def test_to_gadjid_cpdag_hand():
    # dagbench CPDAG: 0 -> 2 <- 1 (compelled), 0 - 3 undirected (1 both ways)
    c = G(4, (0, 2), (1, 2), (0, 3), (3, 0))
    want = np.array([[0, 0, 1, 2],      # gadjid: 1 = directed row -> column, 2 = undirected
                     [0, 0, 1, 0],      # (once, above the diagonal)
                     [0, 0, 0, 0],
                     [0, 0, 0, 0]], np.int8)
    got = M.to_gadjid_cpdag(c)
    assert got.dtype == np.int8 and (got == want).all()
    with pytest.raises(ValueError, match="self-loops"):
        M.to_gadjid_cpdag(np.eye(3))


def test_cpdag_answer_uses_gadjid_on_the_cpdag():
    # truth 0 -> 1 (node 2 apart), answer the class {0 - 1} = {0 -> 1, 1 -> 0}.
    # Parent-AID of the CPDAG: for T=0 and T=1 the undirected edge leaves the effect on
    # the other node unidentified (not amenable): 2 mistakes; pairs with node 2 are right.
    # SID over its DAGs: 0 -> 1 scores 0; 1 -> 0 scores 2 (T=0, Z={1}: 1 is a descendant
    # of 0; T=1, Z={}: 1 <- 0 open), mean (0 + 2) / 2 = 1.
    truth = G(3, (0, 1))
    cls = np.stack([G(3, (0, 1)), G(3, (1, 0))])
    c = G(3, (0, 1), (1, 0))
    got = M.intervention_distances(truth, cls, cpdag=c)
    assert got == {"sid": 1.0, "parent_aid": 2.0, "ancestor_aid": 2.0}
    assert M.intervention_distances(truth, cls) == {"sid": 1.0, "parent_aid": 1.0, "ancestor_aid": 1.0}
    # a mixed CPDAG: 0 -> 2 <- 1, 0 - 3; truth 3 -> 0 -> 2 <- 1 (a DAG of the class).
    # Parent-AID: T=0: Y=3 unidentified (0 - 3): 1; T=3: Y=0 and Y=2 (3 - 0 -> 2) unidentified: 2;
    # T=1, T=2 (Z = {0, 1}) right: total 3. Its other DAG, 0 -> 3, has SID 3 (T=0, Z={}: 0 <- 3
    # open; T=3, Z={0}: 0 is a descendant of 3, and blocks 3 -> 0 -> 2), so mean SID 1.5.
    truth = G(4, (3, 0), (0, 2), (1, 2))
    other = G(4, (0, 3), (0, 2), (1, 2))
    c = G(4, (0, 2), (1, 2), (0, 3), (3, 0))
    got = M.intervention_distances(truth, np.stack([truth, other]), cpdag=c)
    assert got == {"sid": 1.5, "parent_aid": 3.0, "ancestor_aid": 3.0}


def test_intervention_distances_errors_and_small_graphs():
    with pytest.raises(ValueError, match="not a DAG"):
        M.intervention_distances(CYC, CHAIN)
    with pytest.raises(ValueError, match="must be"):
        M.intervention_distances(CHAIN, np.zeros((4, 4)))
    with pytest.raises(ValueError, match="cpdag has shape"):
        M.intervention_distances(CHAIN, CHAIN, cpdag=np.zeros((2, 2)))
    # d = 1: no pair to get wrong (gadjid itself refuses fewer than 2 nodes)
    assert M.intervention_distances(np.zeros((1, 1)), np.zeros((1, 1))) == \
        {"sid": 0.0, "parent_aid": 0.0, "ancestor_aid": 0.0}


def test_score_fit_calibration_and_intervention_distances(data):
    g = data.g_true                                      # complete DAG 0 -> 1 -> 2, 0 -> 2
    empty = np.zeros((3, 3), np.int8)
    graphs = np.stack([g, empty, G(3, (0, 1), (1, 0))])  # the last one cyclic
    w = np.array([0.3, 0.3, 0.4])
    fit = {"graphs": graphs, "weights": w, "edge_probs": M.edge_marginals(graphs, w)}
    s = score_fit(fit, data)
    p = fit["edge_probs"]
    assert s["brier"] == pytest.approx(M.brier_score(p, g))
    assert s["ece"] == pytest.approx(M.expected_calibration_error(p, g))
    # acyclic: g and empty at 1/2 each; SID(empty) = 4: pairs (1,0) (2,0) (2,1) and (1,2),
    # whose back-door path 1 <- 0 -> 2 the empty set leaves open
    assert s["sid"] == s["parent_aid"] == pytest.approx(2.0)
    assert s["ancestor_aid"] == pytest.approx(0.5 * M.intervention_distances(g, empty)["ancestor_aid"])
    # all cyclic: the empty graph on these too
    sc = score_fit(point_fit(G(3, (0, 1), (1, 0))), data)
    se = score_fit(point_fit(empty), data)
    for key in ("brier", "ece", "sid", "parent_aid", "ancestor_aid"):
        assert sc[key] == pytest.approx(se[key]), key
    assert se["brier"] == pytest.approx(0.5) and se["ece"] == pytest.approx(0.5)  # 3 of 6 at p = 0


def test_score_fit_cpdag_answer_gets_gadjid_cpdag_values():
    from methods.base import GraphPosterior

    # truth 0 -> 1 (2 apart), answer the class {0 - 1} as PC/GES give it
    rng = np.random.default_rng(0)
    ds = Dataset(x=rng.normal(size=(50, 3)), x_heldout=rng.normal(size=(20, 3)), g_true=G(3, (0, 1)))
    post = GraphPosterior(cpdag=G(3, (0, 1), (1, 0)))
    fit = {"graphs": post.graphs, "weights": post.weights, "edge_probs": post.marginals(),
           "cpdag": post.cpdag}
    s = score_fit(fit, ds)
    assert (s["sid"], s["parent_aid"], s["ancestor_aid"]) == (1.0, 2.0, 2.0)
    no_cpdag = score_fit({k: v for k, v in fit.items() if k != "cpdag"}, ds)
    assert (no_cpdag["sid"], no_cpdag["parent_aid"]) == (1.0, 1.0)
    # marginals 0.5 both ways on the one true edge's pair, 0 elsewhere:
    # Brier (0.5^2 + 0.5^2) / 6; ECE: bin 5 holds {0.5 (edge), 0.5 (no)}, calibrated: 0
    assert s["brier"] == pytest.approx(0.5 / 6) and s["ece"] == pytest.approx(0)


def test_score_fit_unknown_graph_gives_nan_graph_scores(data):
    from evaluation.scoring import GRAPH_SCORE_KEYS

    unknown = Dataset(x=data.x, x_heldout=data.x_heldout, g_true=np.zeros((3, 3), np.int8),
                      interv_mask=data.interv_mask, interv_mask_heldout=data.interv_mask_heldout,
                      meta={"graph_known": False})
    s = score_fit(point_fit(data.g_true), unknown)
    for key in ("brier", "ece", "sid", "parent_aid", "ancestor_aid"):
        assert key in GRAPH_SCORE_KEYS and math.isnan(s[key]), key
    assert np.isfinite(s["ll_heldout"])
