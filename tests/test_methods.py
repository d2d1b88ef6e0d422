"""Method plugins: the generic contract for every discovered method, and the specific
behaviour of the baselines (PC, GES, NOTEARS, floors), the bootstrap and the template.

Run: python -m pytest tests/test_methods.py -q
"""
from __future__ import annotations

import json
import shutil
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

from dagbench.graphs import dag_to_cpdag, is_dag
from dagbench.plugins import PluginError, discover
from methods.base import GraphPosterior, Method, registry
from simulators.base import Dataset

ROOT = Path(__file__).resolve().parents[1]

# A 5-node linear-Gaussian DAG: 0 -> 1, 0 -> 2, 1 -> 3, 2 -> 3, 3 -> 4.
W5 = np.zeros((5, 5))
W5[0, 1], W5[0, 2], W5[1, 3], W5[2, 3], W5[3, 4] = 1.5, -1.2, 1.0, 1.3, -1.6
G5 = (W5 != 0).astype(np.int8)


def linear_data(w: np.ndarray, n: int, seed: int, noise: float = 1.0) -> Dataset:
    """Rows of x_j = sum_i w_ij x_i + N(0, noise^2), in index order (w is upper triangular)."""
    rng = np.random.default_rng(seed)
    d = len(w)

    def draw(m):
        x = np.zeros((m, d))
        for j in range(d):
            x[:, j] = x @ w[:, j] + noise * rng.normal(size=m)
        return x

    return Dataset(x=draw(n), x_heldout=draw(50), g_true=(w != 0).astype(np.int8))


def shd(a: np.ndarray, b: np.ndarray) -> int:
    """Node pairs whose status (absent, i -> j, j -> i, i - j) differs."""
    d = len(a)
    return sum((a[i, j], a[j, i]) != (b[i, j], b[j, i]) for i in range(d) for j in range(i + 1, d))


SMALL = {"steps": 20, "n_particles": 4, "n_grad_samples": 16, "n_acyclic_samples": 8,
         "num_iter": 500}  # num_iter: GOLEM's Adam steps (1e5 by default, ~1 ms each)


# per method, where a parameter's name means different things in different methods
# (NOTEARS-MLP's max_iter: dual steps, 100 by default, ~10 s in all here)
SMALL_BY_METHOD = {"notears_mlp": {"max_iter": 2}}


def small_params(cls) -> dict:
    """Parameters that keep a fit short (few steps / particles / MC samples for
    gradient samplers), for those of them the method takes."""
    return {**{k: v for k, v in SMALL.items() if k in cls.defaults}, **SMALL_BY_METHOD.get(cls.name, {})}


def contract_problems(post: GraphPosterior, d: int) -> list[str]:
    out = list(post.problems(d))
    m = post.marginals()
    if m.shape != (d, d) or (m < 0).any() or (m > 1).any():
        out.append(f"marginals bad: shape {m.shape}")
    try:
        json.dumps(post.info)
    except TypeError as exc:
        out.append(f"info is not JSON-able: {exc}")
    return out


try:
    METHODS = registry()
    REGISTRY_ERROR = None
except PluginError as exc:  # a broken plugin file must fail a test, not the collection
    METHODS, REGISTRY_ERROR = {}, exc


def test_registry_imports_and_template_is_not_discovered():
    assert REGISTRY_ERROR is None, str(REGISTRY_ERROR)
    for name in ("pc", "ges", "notears", "empty", "random_dag"):
        assert name in METHODS
    assert "corr_threshold" not in METHODS


@pytest.fixture(scope="module")
def data5() -> Dataset:
    return linear_data(W5, n=200, seed=0)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_method_contract(name, data5):
    cls = METHODS[name]
    method = cls(**small_params(cls))
    reason = method.skip(data5)
    if reason:
        pytest.skip(reason)
    post = method.fit(data5, seed=3)
    assert isinstance(post, GraphPosterior)
    assert contract_problems(post, 5) == []
    assert post.graphs.ndim == 3 and post.graphs.shape[1:] == (5, 5)
    assert np.issubdtype(post.graphs.dtype, np.integer)
    assert post.weights.dtype == np.float64 and abs(post.weights.sum() - 1) < 1e-9
    if not post.may_be_cyclic:
        assert all(is_dag(g) for g in post.graphs)
    if post.cpdag is not None:  # the DAGs of the class, each inside the CPDAG and with its CPDAG
        assert post.info["mec_size"] >= len(np.unique(post.graphs.reshape(len(post.graphs), -1), axis=0))
        for g in post.graphs:
            assert not (g & (1 - post.cpdag)).any()
            np.testing.assert_array_equal(dag_to_cpdag(g), post.cpdag)
    again = cls(**small_params(cls)).fit(data5, seed=3)
    np.testing.assert_array_equal(post.graphs, again.graphs)
    np.testing.assert_allclose(post.weights, again.weights, rtol=0, atol=1e-12)
    np.testing.assert_allclose(post.marginals(), again.marginals(), rtol=0, atol=1e-12)


# ---------------------------------------------------------------- causal-learn encoding

def _cl_graph(d, directed=(), undirected=(), bidirected=()):
    from causallearn.graph.Edge import Edge
    from causallearn.graph.Endpoint import Endpoint
    from causallearn.graph.GeneralGraph import GeneralGraph
    from causallearn.graph.GraphNode import GraphNode

    nodes = [GraphNode(f"X{i}") for i in range(d)]
    g = GeneralGraph(nodes)
    for i, j in directed:
        g.add_directed_edge(nodes[i], nodes[j])
    for i, j in undirected:
        g.add_edge(Edge(nodes[i], nodes[j], Endpoint.TAIL, Endpoint.TAIL))
    for i, j in bidirected:
        g.add_edge(Edge(nodes[i], nodes[j], Endpoint.ARROW, Endpoint.ARROW))
    return g, nodes


def test_causallearn_encoding_directed_undirected_reversed():
    from methods.pc import causallearn_to_pdag

    # 0 -> 1, 1 - 2, 3 -> 2 (j -> i for the pair (2, 3)), 3 <-> 4
    g, nodes = _cl_graph(5, directed=[(0, 1), (3, 2)], undirected=[(1, 2)], bidirected=[(3, 4)])
    # causal-learn's own reading of its matrix, independent of ours:
    assert g.is_parent_of(nodes[0], nodes[1]) and not g.is_parent_of(nodes[1], nodes[0])
    assert g.is_parent_of(nodes[3], nodes[2])
    assert g.is_undirected_from_to(nodes[1], nodes[2])
    D, U, counts = causallearn_to_pdag(g.graph)
    want_d = np.zeros((5, 5), int)
    want_d[0, 1] = want_d[3, 2] = 1
    want_u = np.zeros((5, 5), int)
    want_u[1, 2] = want_u[2, 1] = want_u[3, 4] = want_u[4, 3] = 1   # <-> read as undirected
    np.testing.assert_array_equal(D, want_d)
    np.testing.assert_array_equal(U, want_u)
    assert counts == {"n_directed": 2, "n_undirected": 1, "n_bidirected": 1, "n_other_marks": 0}


def test_cpdag_posterior_from_causallearn_graph():
    from methods.pc import cpdag_posterior

    # collider 0 -> 2 <- 1 plus 2 - 3, which Meek R1 must orient 2 -> 3
    g, _ = _cl_graph(4, directed=[(0, 2), (1, 2)], undirected=[(2, 3)])
    post = cpdag_posterior(g.graph, {})
    want = np.zeros((4, 4), int)
    want[0, 2] = want[1, 2] = want[2, 3] = 1
    np.testing.assert_array_equal(post.cpdag, want)
    np.testing.assert_array_equal(post.graphs[0], want)
    assert post.info["repair"] == "none" and post.problems(4) == []


def test_pdag_repairs():
    from methods.pc import pdag_with_extension

    # a directed 3-cycle: orientations contradict, they are demoted and re-extended
    D = np.zeros((3, 3), int)
    D[0, 1] = D[1, 2] = D[2, 0] = 1
    cpdag, dag, repair = pdag_with_extension(D, np.zeros((3, 3), int))
    assert repair == "demote_cycle_orientations"
    assert is_dag(dag) and ((dag | dag.T) == (D | D.T)).all()
    # a chordless undirected 4-cycle has no extension without a new v-structure
    U = np.zeros((4, 4), int)
    for a, b in [(0, 1), (1, 2), (2, 3), (3, 0)]:
        U[a, b] = U[b, a] = 1
    cpdag, dag, repair = pdag_with_extension(np.zeros((4, 4), int), U)
    assert repair == "topological_order"
    assert is_dag(dag) and ((dag | dag.T) == U).all()
    np.testing.assert_array_equal(cpdag, dag_to_cpdag(dag))


@pytest.mark.parametrize("name", ["pc", "ges"])
def test_collider_oriented_chain_undirected(name):
    rng = np.random.default_rng(1)
    n = 3000
    a, b = rng.normal(size=n), rng.normal(size=n)
    c = 0.8 * a + 0.8 * b + rng.normal(size=n)
    collider = Dataset(x=np.c_[a, b, c], x_heldout=np.zeros((2, 3)), g_true=np.zeros((3, 3)))
    post = METHODS[name]().fit(collider, seed=0)
    want = np.zeros((3, 3), int)
    want[0, 2] = want[1, 2] = 1
    np.testing.assert_array_equal(post.cpdag, want)
    np.testing.assert_array_equal(post.graphs[0], want)
    np.testing.assert_array_equal(post.marginals(), want)

    b2 = 0.8 * a + rng.normal(size=n)
    c2 = 0.8 * b2 + rng.normal(size=n)
    chain = Dataset(x=np.c_[a, b2, c2], x_heldout=np.zeros((2, 3)), g_true=np.zeros((3, 3)))
    post = METHODS[name]().fit(chain, seed=0)
    skel = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    np.testing.assert_array_equal(post.cpdag, skel)
    assert ((post.graphs[0] | post.graphs[0].T) == skel).all() and is_dag(post.graphs[0])
    # the class's three DAGs 0->1->2, 0<-1<-2, 0<-1->2, equally likely: p(0 -> 1) = 1/3
    assert len(post.graphs) == 3 and post.info["mec_size"] == 3
    np.testing.assert_allclose(post.marginals(), [[0, 1 / 3, 0], [2 / 3, 0, 2 / 3], [0, 1 / 3, 0]])


def test_params_are_checked():
    with pytest.raises(PluginError):
        METHODS["pc"](alpha=1.5)
    with pytest.raises(PluginError):
        METHODS["pc"](indep_test="chisq")
    with pytest.raises(PluginError):
        METHODS["ges"](max_parents=0)
    with pytest.raises(PluginError):
        METHODS["notears"](loss="logistic")


# ---------------------------------------------------------------- NOTEARS

def test_notears_gradient_matches_autograd():
    import torch

    from methods.notears import notears_objective

    rng = np.random.default_rng(0)
    d = 4
    x = rng.normal(size=(100, d))
    S = torch.from_numpy(x.T @ x / 100)
    w = np.abs(rng.normal(size=2 * d * d)) * 0.3
    f, h = notears_objective(S, 0.1, 10.0, 0.5)
    value, grad = f(w)

    wt = torch.tensor(w, requires_grad=True)
    W = (wt[:d * d] - wt[d * d:]).view(d, d)
    R = torch.eye(d, dtype=torch.float64) - W
    ht = torch.trace(torch.linalg.matrix_exp(W * W)) - d
    ref = 0.5 * torch.trace(R.T @ S @ R) + 5.0 * ht ** 2 + 0.5 * ht + 0.1 * wt.sum()
    ref.backward()
    assert abs(value - ref.item()) < 1e-10
    np.testing.assert_allclose(grad, wt.grad.numpy(), rtol=1e-9, atol=1e-10)
    assert abs(h(w) - ht.item()) < 1e-12


def test_notears_recovers_linear_gaussian_dag():
    # noise sd 2: the L1 shrinkage of a weight is about lambda1 / var(parent), so unit
    # variances would shrink -1.2 by ~15 % by design of the objective, not by error
    data = linear_data(W5, n=1000, seed=1, noise=2.0)
    post = METHODS["notears"]().fit(data, seed=0)
    assert post.problems(5) == [] and is_dag(post.graphs[0])
    assert shd(post.graphs[0], G5) <= 1
    w = post.linear_weights[0]
    true = W5 != 0
    assert np.all(np.abs(w[true] - W5[true]) <= 0.15 * np.abs(W5[true]))
    resid = data.x - data.x @ w
    np.testing.assert_allclose(post.noise_vars[0], np.mean(resid ** 2, axis=0))
    assert np.all(np.abs(post.noise_vars[0] - 4.0) < 0.8)
    # the loss is on centred data: a constant shift of every column changes nothing
    shifted = Dataset(x=data.x + 5.0, x_heldout=data.x_heldout, g_true=data.g_true)
    moved = METHODS["notears"]().fit(shifted, seed=0)
    np.testing.assert_array_equal(moved.graphs, post.graphs)
    np.testing.assert_allclose(moved.linear_weights, post.linear_weights, atol=0.03)


def test_notears_break_cycles_removes_weakest():
    from methods.notears import break_cycles

    W = np.zeros((4, 4))
    W[0, 1], W[1, 2], W[2, 0], W[2, 3] = 1.0, 0.5, 0.9, 0.2   # cycle 0 -> 1 -> 2 -> 0
    out, removed = break_cycles(W)
    assert is_dag(out != 0)
    assert removed == [[1, 2, 0.5]]
    assert out[2, 3] == 0.2 and out[0, 1] == 1.0 and out[2, 0] == 0.9


# ---------------------------------------------------------------- floors

def test_empty_and_random_dag():
    data = linear_data(W5, n=50, seed=2)
    assert METHODS["empty"]().fit(data, seed=0).graphs.sum() == 0
    seen = set()
    for seed in range(20):
        post = METHODS["random_dag"](n_samples=3).fit(data, seed=seed)
        assert post.graphs.shape == (3, 5, 5)
        np.testing.assert_allclose(post.weights, 1 / 3)
        for g in post.graphs:
            assert g.sum() == G5.sum() and is_dag(g) and not np.diag(g).any()
            seen.add(g.tobytes())
    assert len(seen) > 30          # not one fixed graph (nor the true one)
    dense = np.triu(np.ones((6, 6), dtype=np.int8), 1)          # complete DAG: 15 edges
    full = Dataset(x=np.random.default_rng(0).normal(size=(10, 6)), x_heldout=np.zeros((2, 6)),
                   g_true=dense)
    g = METHODS["random_dag"]().fit(full, seed=5).graphs[0]
    assert g.sum() == 15 and is_dag(g)


# ---------------------------------------------------------------- bootstrap

class _FixedCPDAG(Method):
    """Always the CPDAG 0 - 1 (a class of two DAGs); records the data it saw."""

    name = "_fixed_cpdag_test"
    defaults: dict = {}
    seen: list = []

    def fit(self, data, *, seed):
        type(self).seen.append((data.x.copy(), data.interv_mask.copy(), seed))
        d = data.d
        g = np.zeros((d, d), np.int8)
        g[0, 1] = 1
        return GraphPosterior(cpdag=g | g.T)


def test_bootstrap_resamples_rows_with_masks_and_averages_marginals():
    from dagbench.bootstrap import bootstrap_fit

    n, d = 40, 3
    x = np.c_[np.arange(n, dtype=float), np.random.default_rng(0).normal(size=(n, d - 1))]
    mask = np.zeros((n, d), bool)
    mask[:, 1] = np.arange(n) % 3 == 0                 # row identity -> its mask
    data = Dataset(x=x, x_heldout=np.zeros((2, d)), g_true=np.zeros((d, d)), interv_mask=mask)
    _FixedCPDAG.seen = []
    post = bootstrap_fit(_FixedCPDAG(), data, seed=7, n_boot=6)
    assert post.problems(d) == []
    # every resample's class (0 -> 1 and 1 -> 0) gets 1/6, spread evenly over its DAGs
    assert post.graphs.shape == (12, d, d)
    np.testing.assert_allclose(post.weights, 1 / 12)
    assert post.edge_probs[0, 1] == pytest.approx(0.5) and post.edge_probs[1, 0] == pytest.approx(0.5)
    assert post.cpdag is None and post.linear_weights is None
    assert post.info["n_boot"] == 6 and post.info["n_with_cpdag"] == 6
    seeds = set()
    for xb, mb, s in _FixedCPDAG.seen:
        rows = xb[:, 0].astype(int)
        np.testing.assert_array_equal(xb, x[rows])
        np.testing.assert_array_equal(mb, mask[rows])
        assert len(set(rows)) < n                      # drawn with replacement
        seeds.add(s)
    assert len(seeds) == 6 and len({r[0].tobytes() for r in _FixedCPDAG.seen}) == 6
    again = bootstrap_fit(_FixedCPDAG(), data, seed=7, n_boot=6)
    for a, b in zip(_FixedCPDAG.seen[:6], _FixedCPDAG.seen[6:]):
        np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(post.graphs, again.graphs)


def test_bootstrap_pc_edge_probs(data5):
    from dagbench.bootstrap import bootstrap_fit

    pc = METHODS["pc"]()
    post = bootstrap_fit(pc, data5, seed=0, n_boot=4)
    assert post.problems(5) == []
    # recompute: each resample's class weighs 1/4, spread evenly over its DAGs
    from dagbench.bootstrap import resample
    probs, sizes = [], []
    for child in np.random.SeedSequence(0).spawn(4):
        rows_seed, fit_seed = child.generate_state(2)
        one = pc.fit(resample(data5, np.random.default_rng(int(rows_seed))), seed=0)
        probs.append(one.marginals())
        sizes.append(one.info["mec_size"])
        np.testing.assert_allclose(one.weights, 1 / one.info["mec_size"])
    assert post.graphs.shape == (sum(sizes), 5, 5)
    np.testing.assert_allclose(post.weights, np.repeat([1 / (4 * s) for s in sizes], sizes))
    np.testing.assert_allclose(post.edge_probs, np.mean(probs, axis=0))


# ---------------------------------------------------------------- template

def test_template_copied_is_discovered_and_passes_contract(tmp_path, data5):
    pkg = f"dagbench_tmpl_{uuid.uuid4().hex[:8]}"
    (tmp_path / pkg).mkdir()
    (tmp_path / pkg / "__init__.py").write_text("")
    shutil.copy(ROOT / "methods" / "_template.py", tmp_path / pkg / "my_method.py")
    sys.path.insert(0, str(tmp_path))
    try:
        found = discover(pkg, Method)
    finally:
        sys.path.remove(str(tmp_path))
    assert list(found) == ["corr_threshold"]
    cls = found["corr_threshold"]
    post = cls().fit(data5, seed=0)
    assert contract_problems(post, 5) == []
    assert post.linear_weights.shape == (1, 5, 5) and is_dag(post.graphs[0])
    assert post.graphs.sum() > 0
    with pytest.raises(PluginError):
        cls(threshold=2.0)
