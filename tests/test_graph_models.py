"""The graph models of simulators/graphs.py (er, sf, sf_out, ws, sbm, grg): acyclicity,
edge counts derived from each model, determinism per seed, their parameters in the
SCM simulators; and the SERGIO simulator (simulators/sergio.py), which runs on them."""
from __future__ import annotations

import math

import numpy as np
import pytest

from dagbench.graphs import is_dag
from dagbench.plugins import PluginError
from simulators.base import registry
from simulators.graphs import (GRAPH_DEFAULTS, GRAPH_KINDS, block_sizes, lattice_size, sample_graph,
                               sbm_edge_probability, scale_free, scale_free_out)

SIMULATORS = registry()


def draws(kind, d, e, n_draws, seed=0, **params):
    rng = np.random.default_rng(seed)
    return [sample_graph(kind, d, e, rng, **params) for _ in range(n_draws)]


def assert_mean_near(counts, expected):
    """The mean of ``counts`` within 4 standard errors (from their own spread) of ``expected``."""
    counts = np.asarray(counts, dtype=float)
    se = counts.std(ddof=1) / math.sqrt(len(counts))
    assert abs(counts.mean() - expected) <= 4 * se + 1e-9, (counts.mean(), expected, se)


# ---------------------------------------------------------------- every model
@pytest.mark.parametrize("kind", GRAPH_KINDS)
@pytest.mark.parametrize("d", [2, 3, 7, 30])
def test_every_model_gives_a_dag(kind, d):
    e = 1.0 if d > 2 else 0.0
    params = {"sbm_blocks": min(3, d)}
    for g in draws(kind, d, e, 25, seed=d, **params):
        assert g.shape == (d, d) and g.dtype == np.int8
        assert set(np.unique(g)) <= {0, 1}
        assert not np.diag(g).any()
        assert is_dag(g)


@pytest.mark.parametrize("kind", GRAPH_KINDS)
def test_same_seed_same_graph_other_seed_other_graph(kind):
    def one(seed):
        return sample_graph(kind, 30, 2.0, np.random.default_rng(seed), grg_radius=0.3)

    a, b, c = one(11), one(11), one(12)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("kind", ["ws", "sbm", "grg"])
def test_orientation_is_not_the_column_order(kind):
    # oriented by a random order, then relabelled: edges point both up and down the columns
    gs = draws(kind, 30, 2.0, 5, seed=4, grg_radius=0.3)
    assert all(np.triu(g, 1).any() and np.tril(g, -1).any() for g in gs)


# ---------------------------------------------------------------- expected edge counts
def test_er_edge_count():
    d, e = 30, 2.0  # each of d(d-1)/2 pairs with p = 2e / (d-1): e d expected
    assert_mean_near([g.sum() for g in draws("er", d, e, 400)], e * d)


@pytest.mark.parametrize("kind", ["sf", "sf_out"])
@pytest.mark.parametrize("m", [1, 2, 3])
def test_scale_free_edge_count_is_exact(kind, m):
    d = 20  # node k of the construction gets min(m, k) edges
    for g in draws(kind, d, float(m), 10):
        assert g.sum() == sum(min(m, k) for k in range(d))


def test_sf_out_is_the_transpose_of_sf():
    for seed in range(5):
        a = scale_free(15, 2, np.random.default_rng(seed), power=1.5)
        b = scale_free_out(15, 2, np.random.default_rng(seed), power=1.5)
        assert np.array_equal(a.T, b)
    # heavy-tailed out-degree: every node of the construction has min(m, k) parents
    for g in draws("sf_out", 12, 2.0, 10):
        assert sorted(g.sum(axis=0)) == sorted(min(2, k) for k in range(12))


@pytest.mark.parametrize("kind, axis", [("sf", 0), ("sf_out", 1)])
@pytest.mark.parametrize("power", [1.0, 2.0])
def test_preferential_attachment_power(kind, axis, power):
    # d = 4, m = 1: node 1 -> 0; node 2 picks node 0 with weight 1^p + 1 = 2 against
    # node 1's 0^p + 1 = 1; then node 0 (in-degree 2) has weight 2^p + 1 against 1 and 1.
    # P(node 0 collects all three edges) = 2/3 * (2^p + 1) / (2^p + 3): 0.4 (p = 1), 10/21 (p = 2)
    expected = 2 / 3 * (2 ** power + 1) / (2 ** power + 3)
    hits = [g.sum(axis=axis).max() == 3 for g in draws(kind, 4, 1.0, 4000, seed=5, sf_power=power)]
    se = math.sqrt(expected * (1 - expected) / len(hits))
    assert abs(np.mean(hits) - expected) < 4 * se


@pytest.mark.parametrize("d, dim", [(20, 2), (20, 3), (50, 2), (10, 1)])
def test_watts_strogatz_edge_count(d, dim):
    # periodic lattice of side s (s^dim >= d) with nei = 1: dim * N edges, N = s^dim (s >= 3);
    # rewiring keeps the count; deleting N - d random nodes keeps an edge with probability
    # d(d-1) / (N(N-1))
    s = lattice_size(d, dim)
    big = s ** dim
    assert s >= 3 and (s - 1) ** dim < d <= big
    expected = dim * big * d * (d - 1) / (big * (big - 1))
    counts = [g.sum() for g in draws("ws", d, 0.0, 300, ws_dim=dim, ws_rewire=0.3)]
    if big == d:
        assert set(counts) == {dim * d}
    else:
        assert_mean_near(counts, expected)


@pytest.mark.parametrize("d, dim", [(25, 2), (27, 3), (12, 1)])
def test_watts_strogatz_without_rewiring_is_the_lattice(d, dim):
    # s^dim = d: no node deleted, every node has 2 dim lattice neighbours
    for g in draws("ws", d, 0.0, 5, ws_dim=dim, ws_rewire=0.0):
        assert np.all((g + g.T).sum(axis=0) == 2 * dim)


def test_watts_strogatz_neighbourhood():
    # ring (dim 1) with nei = 2: every node joined to the 4 nearest, d * nei edges
    for g in draws("ws", 12, 0.0, 5, ws_dim=1, ws_nei=2, ws_rewire=0.0):
        assert g.sum() == 24 and np.all((g + g.T).sum(axis=0) == 4)


def test_lattice_size_is_exact_in_integers():
    assert lattice_size(27, 3) == 3 and lattice_size(28, 3) == 4 and lattice_size(64, 3) == 4
    assert lattice_size(25, 2) == 5 and lattice_size(26, 2) == 6 and lattice_size(2, 5) == 2


@pytest.mark.parametrize("blocks, damp", [(5, 0.1), (10, 0.1), (5, 1.0)])
def test_sbm_edge_count(blocks, damp):
    # p is chosen per draw of the block sizes so that E[#edges] = e d (no cap at d = 30:
    # even equal blocks, the smallest denominator, give p < 1)
    d, e = 30, 2.0
    assert sbm_edge_probability([d // blocks] * blocks, e, damp) < 1
    counts = [g.sum() for g in draws("sbm", d, e, 400, sbm_blocks=blocks, sbm_damp=damp)]
    assert_mean_near(counts, e * d)


def test_sbm_probability_formula_and_blocks():
    rng = np.random.default_rng(0)
    for _ in range(50):
        sizes = block_sizes(30, 5, rng)
        assert len(sizes) == 5 and sum(sizes) == 30 and min(sizes) >= 1
    # two blocks of 2 and 3: intra pairs 1 + 3, inter pairs 6; e d = 5 -> p = 5 / (4 + 0.5 * 6)
    assert sbm_edge_probability([2, 3], 1.0, 0.5) == pytest.approx(5 / 7)
    assert sbm_edge_probability([1, 1], 1.0, 0.0) == 0.0


def test_sbm_without_inter_block_edges_falls_apart_into_blocks():
    import networkx as nx

    for g in draws("sbm", 30, 2.0, 20, sbm_blocks=5, sbm_damp=0.0):
        skeleton = nx.from_numpy_array(g + g.T)
        assert nx.number_connected_components(skeleton) >= 5


@pytest.mark.parametrize("radius", [0.1, 0.3])
def test_grg_edge_count(radius):
    # two uniform points of the unit square lie within r <= 1 with probability
    # pi r^2 - 8 r^3 / 3 + r^4 / 2
    d = 30
    prob = math.pi * radius ** 2 - 8 * radius ** 3 / 3 + radius ** 4 / 2
    counts = [g.sum() for g in draws("grg", d, 0.0, 400, grg_radius=radius)]
    assert_mean_near(counts, prob * d * (d - 1) / 2)


def test_grg_radius_beyond_the_diagonal_joins_everything():
    for g in draws("grg", 8, 0.0, 3, grg_radius=1.5):
        assert g.sum() == 8 * 7 // 2


# ---------------------------------------------------------------- in the simulators
@pytest.mark.parametrize("sim", ["linear", "mlp", "rff", "sergio"])
@pytest.mark.parametrize("kind", GRAPH_KINDS)
def test_simulators_take_every_graph_model(sim, kind):
    cls = SIMULATORS[sim]
    ds = cls(d=12, n=80, n_heldout=10, graph=kind, edges_per_node=1.0, grg_radius=0.4).simulate(seed=3)
    assert ds.problems() == []
    assert is_dag(ds.g_true) and ds.meta["n_edges"] == ds.g_true.sum()
    assert ds.meta["params"]["graph"] == kind


def test_graph_parameters_reach_the_model():
    a = SIMULATORS["linear"](d=25, n=50, n_heldout=5, graph="ws", ws_rewire=0.0).simulate(seed=1)
    assert a.g_true.sum() == 50  # 5 x 5 torus, no rewiring: 2 * 25 edges
    b = SIMULATORS["linear"](d=27, n=50, n_heldout=5, graph="ws", ws_dim=3, ws_rewire=0.0).simulate(seed=1)
    assert b.g_true.sum() == 81  # 3 x 3 x 3 torus: 3 * 27 edges
    c = SIMULATORS["linear"](d=8, n=50, n_heldout=5, graph="grg", grg_radius=1.5).simulate(seed=1)
    assert c.g_true.sum() == 28


@pytest.mark.parametrize("params, named", [
    ({"graph": "ws", "ws_dim": 0}, "'ws_dim'"),
    ({"graph": "ws", "ws_nei": 0}, "'ws_nei'"),
    ({"graph": "ws", "ws_rewire": 1.5}, "'ws_rewire'"),
    ({"graph": "sbm", "sbm_blocks": 0}, "'sbm_blocks'"),
    ({"graph": "sbm", "d": 4, "sbm_blocks": 5}, "'sbm_blocks'"),
    ({"graph": "sbm", "sbm_damp": 2.0}, "'sbm_damp'"),
    ({"graph": "sbm", "d": 5, "edges_per_node": 3.0}, "'edges_per_node'"),
    ({"graph": "grg", "grg_radius": 0.0}, "'grg_radius'"),
    ({"graph": "sf_out", "edges_per_node": 1.5}, "'edges_per_node'"),
    ({"graph": "sf", "sf_power": -1.0}, "'sf_power'"),
    ({"graph": "tree"}, "'graph'"),
])
@pytest.mark.parametrize("sim", ["linear", "sergio"])
def test_bad_graph_parameter_is_named(sim, params, named):
    with pytest.raises(PluginError, match=named):
        SIMULATORS[sim](**params)


def test_defaults_are_avicis():
    # AVICI's test-domain configs: scale_free_inv power 0.5/1.5 (training: 1), watts_strogatz
    # dim 2/3, nei 1, p 0.3; sbm n_blocks 5/10, damp 0.1; grg radius 0.1
    assert GRAPH_DEFAULTS == {"sf_power": 1.0, "ws_dim": 2, "ws_nei": 1, "ws_rewire": 0.3,
                              "sbm_blocks": 5, "sbm_damp": 0.1, "grg_radius": 0.1}
    for sim in ("linear", "mlp", "rff", "sergio"):
        assert all(SIMULATORS[sim].defaults[k] == v for k, v in GRAPH_DEFAULTS.items())


# ---------------------------------------------------------------- SERGIO
def test_sergio_knockouts_and_global_rng():
    from simulators.sergio import Sergio

    np.random.seed(5)
    before = np.random.get_state()[1].copy()
    sim = Sergio(d=8, n=50, n_heldout=20, n_interv_nodes=2, n_interv_rows=30,
                 heldout_interventional=True, n_heldout_interv_nodes=2, standardise=False)
    ds = sim.simulate(seed=2)
    assert np.array_equal(np.random.get_state()[1], before)  # numpy's global state restored
    assert ds.x.shape == (50 + 2 * 30, 8) and ds.x_heldout.shape == (20 + 2 * 30, 8)
    assert not ds.interv_mask[:50].any() and np.all(ds.interv_mask[50:].sum(axis=1) == 1)
    for j in ds.meta["interv_nodes"]:
        rows = ds.interv_mask[:, j]
        assert rows.sum() == 30 and np.all(ds.x[rows, j] == 0.0)  # a knocked-out gene is silent
    assert not set(ds.meta["interv_nodes"]) & set(ds.meta["heldout_interv_nodes"])
    assert np.all(ds.x >= 0)  # concentrations
    assert ds.problems() == []


def test_sergio_knockout_semantics():
    # 0 -> 1 activation, 0 -> 2 repression, 1 cell type. With gene 0 knocked out, gene 1
    # has no production (Hill(0) = 0) and stays exactly 0; gene 2 loses its repression and
    # is produced at |K| (1 - Hill(0)) = |K|, so its mean is |K| / lambda; the wild type's
    # half-responses are kept.
    from simulators.sergio import _Network

    g = np.zeros((3, 3), dtype=np.int8)
    g[0, 1] = g[0, 2] = 1
    k = np.zeros((3, 3))
    k[0, 1], k[0, 2] = 3.0, -2.0
    net = _Network(g, k, hill=2.0, decay=1.0, b=np.array([[2.0], [1.0], [1.0]]), noise_s=1.0)
    rng = np.random.default_rng(0)
    wild = net.cells(2000, None, 1, None, False, rng)
    half = dict(net.half)
    assert half[(0, 1)] == pytest.approx(2.0)  # the regulator's steady state b / lambda
    ko = net.cells(2000, 0, 2, None, False, rng)
    assert net.half == half
    assert np.all(ko[:, 0] == 0) and np.all(ko[:, 1] == 0)
    assert abs(ko[:, 2].mean() - 2.0) < 0.3
    assert wild[:, 1].mean() > 0.5 and wild[:, 2].mean() < ko[:, 2].mean()


def test_sergio_technical_noise_gives_counts():
    from simulators.sergio import Sergio

    ds = Sergio(d=6, n=200, n_heldout=20, edges_per_node=1.0, tech_noise="illumina", counts=True,
                standardise=False).simulate(seed=4)
    assert np.array_equal(ds.x, np.round(ds.x))      # Poisson UMI counts
    assert (ds.x == 0).mean() > 0.5                  # dropouts (80th-percentile midpoint)
    assert ds.meta["tech_noise_params"]["dropout_percentile"] == 80
    with pytest.raises(PluginError, match="'tech_noise'"):
        Sergio(tech_noise="nanopore")
