"""Markov equivalence classes (dagbench/mec.py) against brute force, and uniformity of
the sampler."""
import itertools

import numpy as np
import pytest
from scipy.stats import chisquare

from dagbench.graphs import dag_to_cpdag, is_dag
from dagbench.mec import canonical_cpdag, mec_distribution, mec_size


def brute_force_class(cpdag):
    """Every orientation of the undirected edges that is a DAG with the same CPDAG."""
    c = np.asarray(cpdag) != 0
    und = np.argwhere(np.triu(c & c.T))
    base = (c & ~c.T).astype(np.int8)
    out = []
    for bits in itertools.product([0, 1], repeat=len(und)):
        g = base.copy()
        for (i, j), b in zip(und, bits):
            if b:
                g[i, j] = 1
            else:
                g[j, i] = 1
        if is_dag(g) and np.array_equal(dag_to_cpdag(g), cpdag):
            out.append(g)
    return out


def random_dag(rng, d, p):
    g = np.triu(rng.random((d, d)) < p, 1).astype(np.int8)
    perm = rng.permutation(d)
    return g[np.ix_(perm, perm)]


def as_set(graphs):
    return {np.asarray(g, np.int8).tobytes() for g in graphs}


def test_listing_and_sizes_match_brute_force():
    rng = np.random.default_rng(1)
    for _ in range(120):
        cp = dag_to_cpdag(random_dag(rng, int(rng.integers(2, 8)), rng.uniform(0.2, 0.9)))
        want = brute_force_class(cp)
        mec = mec_distribution(cp)
        assert mec.exact and mec.size == len(want) == mec_size(cp) == len(mec.graphs)
        assert as_set(mec.graphs) == as_set(want)
        np.testing.assert_allclose(mec.weights, 1 / len(want))
        drawn = mec_distribution(cp, max_enumerate=0, n_samples=50, seed=3)
        assert not drawn.exact and drawn.size == len(want)
        assert as_set(drawn.graphs) <= as_set(want)


@pytest.mark.parametrize("n", [2, 3, 5])
def test_cliques_and_a_single_undirected_edge(n):
    """cliquepicking's own listing panics on a clique component; ours lists the n! orders."""
    cp = np.ones((n, n), np.int8) - np.eye(n, dtype=np.int8)
    mec = mec_distribution(cp)
    assert mec.size == len(mec.graphs) == [1, 1, 2, 6, 24, 120][n]
    assert len(as_set(mec.graphs)) == mec.size


def test_sampler_is_uniform():
    """A 32-DAG class drawn 16,000 times: counts agree with uniform (chi-square)."""
    g = np.zeros((7, 7), np.int8)
    for i, j in [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3), (3, 4), (4, 5), (3, 5), (5, 6)]:
        g[i, j] = 1
    cp = dag_to_cpdag(g)
    assert mec_size(cp) == 32
    draws = mec_distribution(cp, max_enumerate=0, n_samples=16_000, seed=0)
    _, counts = np.unique(draws.graphs.reshape(len(draws.graphs), -1), axis=0, return_counts=True)
    assert len(counts) == 32
    assert chisquare(counts).pvalue > 1e-3
    # seeded: the same draws again
    again = mec_distribution(cp, max_enumerate=0, n_samples=50, seed=0)
    np.testing.assert_array_equal(again.graphs, draws.graphs[:50])


def test_large_class_is_sampled_and_sizes_multiply():
    # two disjoint undirected 6-cliques: 720 * 720 DAGs, far above the listing limit
    cp = np.zeros((12, 12), np.int8)
    cp[:6, :6] = cp[6:, 6:] = 1
    np.fill_diagonal(cp, 0)
    mec = mec_distribution(cp)
    assert mec.size == 720 ** 2 and not mec.exact and len(mec.graphs) == 1000
    assert all(is_dag(g) and np.array_equal(dag_to_cpdag(g), cp) for g in mec.graphs[:50])
    # every ordered pair inside a clique is an edge half the time
    p = mec.graphs.mean(axis=0)
    assert abs(p[0, 1] - 0.5) < 0.06 and p[0, 7] == 0


def test_canonical_cpdag_of_a_pdag_and_refusals():
    # a PDAG with an orientation no v-structure forces: its class is the chain's
    pdag = np.array([[0, 1, 0], [0, 0, 1], [0, 1, 0]])    # 0 -> 1 - 2
    np.testing.assert_array_equal(canonical_cpdag(pdag), [[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    with pytest.raises(ValueError, match="no consistent DAG extension"):
        canonical_cpdag(np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]]))  # a directed 3-cycle
    with pytest.raises(ValueError, match="shape"):
        canonical_cpdag(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="not a CPDAG"):
        mec_distribution(pdag)


@pytest.mark.parametrize("bad, match", [
    (np.zeros((2, 3)), "shape"),
    (np.array([[0, 2], [0, 0]]), "other than 0 and 1"),
    (np.array([[0, np.nan], [0, 0]]), "other than 0 and 1"),
    (np.array([[1, 1], [1, 0]]), "self-loops"),
    (np.array([[0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0]]), "no consistent DAG extension"),
])
def test_graph_posterior_refuses_a_bad_cpdag_by_name(bad, match):
    """A plugin's malformed CPDAG (the last: an undirected 4-cycle, not chordal) is a clear
    error, not a silently reinterpreted graph."""
    from methods.base import GraphPosterior

    with pytest.raises(ValueError, match=match):
        GraphPosterior(cpdag=bad)
    with pytest.raises(ValueError, match="edge_probs cannot be given"):
        GraphPosterior(cpdag=np.zeros((2, 2)), edge_probs=np.zeros((2, 2)))
    collider = np.array([[0, 0, 1], [0, 0, 1], [0, 0, 0]])          # 0 -> 2 <- 1
    with pytest.raises(ValueError, match="not a DAG of the cpdag"):
        GraphPosterior(cpdag=collider, graphs=np.array([[0, 0, 0], [0, 0, 1], [1, 0, 0]]))
    assert len(GraphPosterior(cpdag=collider, graphs=collider).graphs) == 1
