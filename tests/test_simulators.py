"""Simulator plugins: the Dataset contract for every discovered simulator, determinism,
and specific checks of the graph models, mechanisms, noise and interventions."""
from __future__ import annotations

import random
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from dagbench.graphs import is_dag
from dagbench.plugins import PluginError
from simulators.base import Dataset, registry
from simulators.graphs import erdos_renyi, sample_graph, scale_free
from simulators.linear import LinearSimulator

SIMULATORS = registry()
# a user-supplied dataset for the csv plugin: 5 columns with a header, 80 rows
CSV_PATH = Path(tempfile.mkdtemp()) / "user.csv"
np.savetxt(CSV_PATH, np.random.default_rng(0).normal(size=(80, 5)), delimiter=",",
           header="a,b,c,d,e", comments="")
SMALL = {"d": 5, "n": 60, "n_heldout": 20, "edges_per_node": 1.0, "expected_degree": 1.0,
         "path": str(CSV_PATH)}


def small(cls, **extra):
    """A 5-node instance of ``cls`` (only the small-problem keys it declares)."""
    kw = {k: v for k, v in SMALL.items() if k in cls.defaults}
    return cls(**kw, **extra)


# ---------------------------------------------------------------- generic contract
@pytest.mark.parametrize("name", sorted(SIMULATORS))
def test_dataset_contract(name, tmp_path):
    sim = small(SIMULATORS[name])
    ds = sim.simulate(seed=0)
    assert ds.problems() == []
    d = sim.params.get("d", ds.d)
    assert ds.x.shape[1] == d and ds.x.shape[0] >= sim.params.get("n", 2)
    assert ds.x_heldout.shape[1] == d and ds.x_heldout.shape[0] >= sim.params.get("n_heldout", 1)
    assert ds.x.dtype == np.float64 and ds.x_heldout.dtype == np.float64
    assert ds.g_true.dtype == np.int8 and ds.g_true.shape == (d, d)
    assert ds.interv_mask.dtype == bool and ds.interv_mask.shape == ds.x.shape
    assert ds.interv_mask_heldout.shape == ds.x_heldout.shape
    assert is_dag(ds.g_true)
    assert len(ds.node_names) == d
    if sim.params.get("standardise"):
        obs = ~ds.interv_mask.any(axis=1)
        np.testing.assert_allclose(ds.x[obs].mean(axis=0), 0.0, atol=1e-8)
        np.testing.assert_allclose(ds.x[obs].std(axis=0), 1.0, atol=1e-8)
    assert ds.meta["simulator"] == name and ds.meta["seed"] == 0
    assert ds.meta["params"] == sim.params
    for key, arr in ds.params_true.items():
        assert np.all(np.isfinite(arr)), key
    if "weights" in ds.params_true:
        assert ds.params_true["weights"].shape == (d, d)
        assert np.array_equal(ds.params_true["weights"] != 0, ds.g_true == 1)
    # what the simulate rule does: save and load back (metadata must be JSON)
    ds.save(tmp_path / "data.npz")
    back = Dataset.load(tmp_path / "data.npz")
    assert np.array_equal(back.x, ds.x) and np.array_equal(back.g_true, ds.g_true)
    assert back.meta["params"] == sim.params


def _same(a: Dataset, b: Dataset) -> bool:
    arrays = ["x", "x_heldout", "g_true", "interv_mask", "interv_mask_heldout"]
    if any(getattr(a, k).tobytes() != getattr(b, k).tobytes() for k in arrays):
        return False
    if set(a.params_true) != set(b.params_true):
        return False
    return all(a.params_true[k].tobytes() == b.params_true[k].tobytes() for k in a.params_true)


def _scramble_global_rngs(k: int) -> None:
    np.random.set_state(np.random.RandomState(k).get_state())
    random.setstate(random.Random(k).getstate())
    if "torch" in sys.modules:
        sys.modules["torch"].rand(k)  # advances torch's global generator


@pytest.mark.parametrize("name", sorted(SIMULATORS))
def test_same_seed_same_data_bit_for_bit(name):
    cls = SIMULATORS[name]
    _scramble_global_rngs(1)
    a = small(cls).simulate(seed=7)
    _scramble_global_rngs(2)  # a simulator must not depend on global RNG state
    b = small(cls).simulate(seed=7)
    assert _same(a, b)
    c = small(cls).simulate(seed=8)
    assert not np.array_equal(a.x, c.x)


def test_plugin_modules_import_without_cdt_or_torch():
    code = ("import sys; from simulators.base import registry; registry(); "
            "heavy = [m for m in ('cdt', 'torch') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- graphs
def test_er_expected_edge_count():
    rng = np.random.default_rng(0)
    d, e = 10, 1.5
    counts = [erdos_renyi(d, e, rng).sum() for _ in range(2000)]
    assert abs(np.mean(counts) - e * d) < 0.4  # sd of the mean ~0.07


def test_er_rejects_impossible_density():
    with pytest.raises(ValueError, match="edges_per_node"):
        erdos_renyi(5, 2.5, np.random.default_rng(0))


def test_sf_each_added_node_has_m_children():
    rng = np.random.default_rng(1)
    d, m = 12, 2
    for _ in range(20):
        g = scale_free(d, m, rng)
        assert is_dag(g) and g.dtype == np.int8
        assert sorted(g.sum(axis=1)) == sorted(min(m, k) for k in range(d))


def test_sf_attachment_is_preferential():
    # d = 3, m = 1: node 1 -> node 0 always; node 2 picks node 0 (in-degree 1) with
    # probability (1+1) / ((1+1) + (0+1)) = 2/3, giving node 0 in-degree 2; uniform
    # attachment would give 1/2.
    rng = np.random.default_rng(2)
    hits = np.mean([scale_free(3, 1, rng).sum(axis=0).max() == 2 for _ in range(3000)])
    assert abs(hits - 2 / 3) < 0.04


@pytest.mark.parametrize("kind", ["er", "sf"])
def test_node_labels_are_permuted(kind):
    rng = np.random.default_rng(3)
    graphs = [sample_graph(kind, 6, 1.0, rng) for _ in range(40)]
    # with the identity order topological every edge would point from lower to higher index
    assert any(np.tril(g, k=-1).any() for g in graphs)
    assert any(np.triu(g, k=1).any() for g in graphs)


# ---------------------------------------------------------------- linear mechanism
def _regress_on_parents(ds: Dataset):
    """Least-squares weights [d, d] and residual sd [d] of each node on its true parents."""
    x = ds.x[~ds.interv_mask.any(axis=1)]
    d = ds.d
    w, sd = np.zeros((d, d)), np.zeros(d)
    for j in range(d):
        pa = np.flatnonzero(ds.g_true[:, j])
        design = np.column_stack([x[:, pa], np.ones(len(x))])
        coef, *_ = np.linalg.lstsq(design, x[:, j], rcond=None)
        w[pa, j] = coef[:-1]
        sd[j] = (x[:, j] - design @ coef).std()
    return w, sd


@pytest.mark.parametrize("standardise", [False, True])
def test_linear_regression_recovers_true_weights(standardise):
    sim = LinearSimulator(d=5, n=20000, n_heldout=10, edges_per_node=1.5, noise_scale=0.3,
                          noise_scale_high=2.0, standardise=standardise)
    ds = sim.simulate(seed=4)
    w, sd = _regress_on_parents(ds)
    assert ds.g_true.sum() >= 3
    scale = np.abs(ds.params_true["weights"]).max()
    np.testing.assert_allclose(w, ds.params_true["weights"], atol=0.03 * scale)
    np.testing.assert_allclose(sd, ds.params_true["noise_scale"], rtol=0.03)


def test_changing_heldout_size_keeps_training_data():
    a = LinearSimulator(d=5, n=50, n_heldout=10).simulate(seed=5)
    b = LinearSimulator(d=5, n=50, n_heldout=30).simulate(seed=5)
    assert np.array_equal(a.g_true, b.g_true)
    # standardisation uses training rows only, so the training data match exactly
    assert np.array_equal(a.x, b.x)


def test_noise_families_tails():
    def kurtosis(noise):
        ds = LinearSimulator(d=3, n=20000, n_heldout=10, edges_per_node=0.0, noise=noise,
                             standardise=False).simulate(seed=6)
        z = ds.x - np.median(ds.x, axis=0)
        return (z ** 4).mean(axis=0) / (z ** 2).mean(axis=0) ** 2, ds.x.std(axis=0)

    k_gauss, sd_gauss = kurtosis("gaussian")
    k_laplace, sd_laplace = kurtosis("laplace")
    k_cauchy, _ = kurtosis("cauchy")
    assert np.all(np.abs(k_gauss - 3) < 0.3)
    assert np.all((k_laplace > 5) & (k_laplace < 7.5))  # Laplace: 6
    assert np.all(k_cauchy > 50)
    np.testing.assert_allclose(sd_gauss, 1.0, rtol=0.03)
    np.testing.assert_allclose(sd_laplace, 1.0, rtol=0.05)  # variance-matched Laplace


def test_heteroskedastic_noise_depends_on_parents():
    def spread(hetero):
        ds = LinearSimulator(d=2, n=20000, n_heldout=10, edges_per_node=0.5, standardise=False,
                             heteroskedastic=hetero, hetero_length_scale=1.0).simulate(seed=7)
        (i,), (j,) = np.nonzero(ds.g_true)
        resid = ds.x[:, j] - ds.params_true["weights"][i, j] * ds.x[:, i]
        bins = np.array_split(np.argsort(ds.x[:, i]), 5)
        sds = [resid[b].std() for b in bins]
        return max(sds) / min(sds), ds

    ratio_hom, ds_hom = spread(False)
    ratio_het, ds_het = spread(True)
    assert ratio_hom < 1.1
    assert ratio_het > 1.3
    assert "noise_scale" in ds_hom.params_true and "noise_scale" not in ds_het.params_true


# ---------------------------------------------------------------- interventions
def test_fixed_interventions():
    sim = LinearSimulator(d=6, n=40, n_heldout=10, edges_per_node=1.5, n_interv_nodes=2,
                          n_interv_rows=2000, interv_value=3.0, interv_std=0.0, standardise=False)
    ds = sim.simulate(seed=8)
    assert ds.x.shape == (40 + 2 * 2000, 6)
    assert not ds.interv_mask[:40].any()
    assert np.all(ds.interv_mask[40:].sum(axis=1) == 1)  # exactly the clamped node
    nodes = ds.meta["interv_nodes"]
    assert len(set(nodes)) == 2
    w = ds.params_true["weights"]
    for b, j in enumerate(nodes):
        rows = slice(40 + 2000 * b, 40 + 2000 * (b + 1))
        mask = ds.interv_mask[rows]
        assert mask[:, j].all() and not np.delete(mask, j, axis=1).any()
        assert np.all(ds.x[rows, j] == 3.0)
        # every other node still follows its equation, fed with the clamped value
        resid = ds.x[rows] - ds.x[rows] @ w
        others = [k for k in range(6) if k != j]
        np.testing.assert_allclose(resid[:, others].std(axis=0), 1.0, rtol=0.1)
    assert not ds.interv_mask_heldout.any()


def test_random_interventions_and_standardise():
    sim = LinearSimulator(d=5, n=300, n_heldout=10, edges_per_node=1.0, n_interv_nodes=1,
                          n_interv_rows=4000, interv_value=2.0, interv_std=0.5, standardise=False)
    raw = sim.simulate(seed=9)
    (j,) = raw.meta["interv_nodes"]
    vals = raw.x[raw.interv_mask[:, j], j]
    assert abs(vals.mean() - 2.0) < 0.05 and abs(vals.std() - 0.5) < 0.05

    fixed = LinearSimulator(d=5, n=300, n_heldout=10, edges_per_node=1.0, n_interv_nodes=1,
                            n_interv_rows=50, interv_value=2.0, interv_std=0.0).simulate(seed=9)
    (j,) = fixed.meta["interv_nodes"]
    col = fixed.x[fixed.interv_mask[:, j], j]
    assert np.ptp(col) < 1e-12  # still one value after standardisation
    obs = ~fixed.interv_mask.any(axis=1)
    np.testing.assert_allclose(fixed.x[obs].std(axis=0), 1.0, atol=1e-8)  # stats from observational rows


def test_heldout_interventions_on_unseen_nodes():
    sim = LinearSimulator(d=6, n=40, n_heldout=30, n_interv_nodes=2, n_interv_rows=10,
                          heldout_interventional=True, n_heldout_interv_nodes=3)
    ds = sim.simulate(seed=10)
    assert ds.x_heldout.shape == (30 + 3 * 10, 6)
    assert not ds.interv_mask_heldout[:30].any()
    train_nodes = set(np.nonzero(ds.interv_mask.any(axis=0))[0])
    held_nodes = set(np.nonzero(ds.interv_mask_heldout.any(axis=0))[0])
    assert len(train_nodes) == 2 and len(held_nodes) == 3
    assert not train_nodes & held_nodes


# ---------------------------------------------------------------- parameter checks
@pytest.mark.parametrize("params, named", [
    ({"d": 1}, "'d'"),
    ({"noise": "student"}, "'noise'"),
    ({"weight_low": 0.0}, "'weight_low'"),
    ({"weight_low": 2.0, "weight_high": 1.0}, "'weight_high'"),
    ({"d": 5, "edges_per_node": 3.0}, "'edges_per_node'"),
    ({"graph": "sf", "edges_per_node": 1.5}, "'edges_per_node'"),
    ({"n_heldout": 0}, "'n_heldout'"),
    ({"d": 4, "n_interv_nodes": 5}, "'n_interv_nodes'"),
    ({"d": 4, "n_interv_nodes": 3, "heldout_interventional": True, "n_heldout_interv_nodes": 2},
     "'n_heldout_interv_nodes'"),
])
def test_bad_parameter_is_named(params, named):
    with pytest.raises(PluginError, match=named):
        LinearSimulator(**params)


def test_other_plugins_check_their_parameters():
    with pytest.raises(PluginError, match="'hidden'"):
        SIMULATORS["mlp"](hidden=0)
    with pytest.raises(PluginError, match="'length_scale_high'"):
        SIMULATORS["rff"](length_scale_low=5.0, length_scale_high=1.0)
    with pytest.raises(PluginError, match="'expected_degree'"):
        SIMULATORS["cdt"](d=5, expected_degree=3.0)


# ---------------------------------------------------------------- cdt
def test_cdt_unsupported_mechanism_is_a_clear_error():
    cdt_sim = SIMULATORS["cdt"]
    with pytest.raises(PluginError, match="sigmoid_mix.*numpy 2"):
        cdt_sim(mechanism="sigmoid_mix")
    with pytest.raises(PluginError, match="'mechanism'"):
        cdt_sim(mechanism="no_such_mechanism")
    # a failure inside cdt itself is re-raised naming the mechanism
    sim = small(cdt_sim)
    sim.params["mechanism"] = "sigmoid_mix"
    with pytest.raises(ValueError, match="cdt mechanism 'sigmoid_mix' failed here"):
        sim.simulate(seed=0)


def test_cdt_linear_weights_and_global_rng_untouched():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    ds = SIMULATORS["cdt"](d=5, n=3000, n_heldout=10, expected_degree=1.0).simulate(seed=11)
    assert np.array_equal(np.random.get_state()[1], before)
    assert ds.g_true.sum() >= 2
    w, _ = _regress_on_parents(ds)
    np.testing.assert_allclose(w, ds.params_true["weights"], atol=0.05)


def test_cdt_heldout_rows_come_from_the_same_distribution():
    # cdt's mixture sampler returns root rows grouped by component; unshuffled, the
    # held-out split would be the last components only
    ds = SIMULATORS["cdt"](d=3, n=1000, n_heldout=1000, expected_degree=0.0).simulate(seed=12)
    gap = np.abs(ds.x.mean(axis=0) - ds.x_heldout.mean(axis=0))
    assert np.all(gap < 0.25), gap  # standard error of the gap ~0.045


def test_cdt_nn_mechanism_is_deterministic():
    # the nn mechanism draws its weights from torch's global generator
    sim = SIMULATORS["cdt"]
    _scramble_global_rngs(3)
    a = small(sim, mechanism="nn").simulate(seed=13)
    _scramble_global_rngs(4)
    b = small(sim, mechanism="nn").simulate(seed=13)
    assert _same(a, b)


# ---------------------------------------------------------------- user-supplied CSV data
def _csv(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_csv_dataset_with_graph(tmp_path):
    from simulators.csv_file import CsvDataset
    rng = np.random.default_rng(1)
    a = rng.normal(size=50)
    data = _csv(tmp_path, "x.csv", "a,b\n" + "\n".join(f"{u},{2 * u + rng.normal()}" for u in a))
    graph = _csv(tmp_path, "g.csv", "a,b\n0,1\n0,0\n")
    ds = CsvDataset(path=data, graph_path=graph, heldout_fraction=0.2).simulate(seed=3)
    assert ds.node_names == ["a", "b"] and ds.x.shape == (40, 2) and ds.x_heldout.shape == (10, 2)
    assert ds.g_true.tolist() == [[0, 1], [0, 0]] and ds.meta["graph_known"]
    other = CsvDataset(path=data, graph_path=graph).simulate(seed=4)
    assert not np.array_equal(ds.x, other.x)  # the seed chooses the held-out rows


@pytest.mark.parametrize("text,graph,fragment", [
    ("a,b\n1,2\n3,nan\n4,5\n6,7\n8,9\n", None, "non-finite"),
    ("a,b\n1,2\n1,3\n1,5\n1,7\n1,9\n", None, "constant columns: a"),
    ("a,b\n1,x\n3,4\n4,5\n6,7\n8,9\n", None, "non-numeric columns b"),
    ("a,b\n1,2\n3,1\n4,5\n6,7\n8,9\n", "0,1,0\n0,0,1\n0,0,0\n", "is 3 x 3 but the data has d = 2"),
    ("a,b\n1,2\n3,1\n4,5\n6,7\n8,9\n", "0,1\n1,0\n", "has a cycle"),
    ("a,b\n1,2\n3,1\n", None, "too few"),
])
def test_csv_dataset_bad_input_is_named(tmp_path, text, graph, fragment):
    from simulators.base import DataError
    from simulators.csv_file import CsvDataset
    data = _csv(tmp_path, "bad.csv", text)
    kw = {"graph_path": _csv(tmp_path, "g.csv", graph)} if graph else {}
    with pytest.raises(DataError) as info:
        CsvDataset(path=data, **kw).simulate(seed=0)
    msg = str(info.value)
    assert fragment in msg
    assert "bad.csv" in msg or "g.csv" in msg  # the message names the file


# ---------------------------------------------------------------- Sachs (real data)
def test_sachs_serves_cdt_data_with_the_acyclic_consensus_graph():
    from simulators.sachs import Sachs
    ds = Sachs(heldout_fraction=0.1).simulate(seed=0)
    assert len(ds.x) + len(ds.x_heldout) == 7466 and ds.d == 11
    assert len(ds.x_heldout) == 747
    assert is_dag(ds.g_true) and ds.g_true.sum() == 17
    idx = {name: i for i, name in enumerate(ds.node_names)}
    assert ds.g_true[idx["praf"], idx["pmek"]] == 1 and ds.g_true[idx["pmek"], idx["p44/42"]] == 1
    assert ds.g_true[idx["plcg"], idx["PIP3"]] == 1 and ds.g_true[idx["PIP3"], idx["plcg"]] == 0
    assert Sachs(n=500).simulate(seed=0).n == 500
