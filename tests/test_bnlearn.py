"""The bnlearn simulator (simulators/bnlearn.py): the linear-Gaussian networks pgmpy
ships, their structures and parameters, the covariance of the simulated data,
interventions, and the refusal of discrete and hybrid networks."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from dagbench.graphs import is_dag
from dagbench.plugins import PluginError
from simulators.base import DataError
from simulators.bnlearn import GAUSSIAN_NETWORKS, Bnlearn, load_network

pytest.importorskip("pgmpy")

# nodes and arcs as bnlearn's repository lists them (bnlearn.com/bnrepository)
BNLEARN_SIZES = {"ecoli70": (46, 70), "magic-niab": (44, 66), "magic-irri": (64, 102),
                 "arth150": (107, 150)}


def pgmpy_model(name):
    from pgmpy.utils import get_example_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return get_example_model(name)


@pytest.mark.parametrize("name", sorted(BNLEARN_SIZES))
def test_network_loads_with_bnlearns_size(name):
    assert GAUSSIAN_NETWORKS[name] == BNLEARN_SIZES[name]
    ds = Bnlearn(network=name, n=60, n_heldout=10).simulate(seed=0)
    d, arcs = BNLEARN_SIZES[name]
    assert ds.d == d and ds.g_true.sum() == arcs and is_dag(ds.g_true)
    model = pgmpy_model(name)
    assert ds.node_names == sorted(str(v) for v in model.nodes())  # the network's own names
    idx = {v: i for i, v in enumerate(ds.node_names)}
    assert {(ds.node_names[i], ds.node_names[j]) for i, j in zip(*np.nonzero(ds.g_true))} == \
        {(str(u), str(v)) for u, v in model.edges()}
    assert ds.problems() == []
    assert ds.meta["network"] == name and "pgmpy" in ds.meta["source"]
    if name == "ecoli70":
        assert ds.g_true[idx["icdA"], idx["aceB"]] == 1 and ds.g_true[idx["b1191"], idx["fixC"]] == 1


def test_ecoli70_parameters_are_bnlearns():
    # bnlearn's ecoli70: fixC = 0.3165 + 0.9406 b1191 + N(0, 1.0634^2), b1191 = 1.273 +
    # N(0, 0.7801^2) (the residual standard deviations; pgmpy's file stores their squares)
    net = load_network("ecoli70")
    idx = {v: i for i, v in enumerate(net["names"])}
    fixc, b1191 = idx["fixC"], idx["b1191"]
    assert net["intercepts"][fixc] == pytest.approx(0.3165) and net["weights"][b1191, fixc] == pytest.approx(0.9406)
    assert net["sd"][fixc] == pytest.approx(1.0634, abs=2e-4) and net["sd"][b1191] == pytest.approx(0.7801, abs=2e-4)
    assert net["intercepts"][b1191] == pytest.approx(1.273) and not net["g"][:, b1191].any()


@pytest.mark.parametrize("name", sorted(BNLEARN_SIZES))
def test_parameters_are_the_cpds(name):
    # x_j = beta_0 + sum_l beta_l x_{evidence_l} + N(0, std^2)
    net = load_network(name)
    idx = {v: i for i, v in enumerate(net["names"])}
    for cpd in pgmpy_model(name).get_cpds():
        j = idx[str(cpd.variable)]
        assert net["intercepts"][j] == cpd.beta[0] and net["sd"][j] == cpd.std
        expected = np.zeros(len(idx))
        for u, b in zip(cpd.evidence, cpd.beta[1:]):
            expected[idx[str(u)]] = b
        assert np.array_equal(net["weights"][:, j], expected)
    assert np.array_equal(net["weights"] != 0, net["g"] == 1)


def test_ecoli70_data_have_the_networks_covariance():
    # x = b + W^T x + e, e ~ N(0, diag(sd^2))  =>  mean (I - W^T)^-1 b, covariance
    # (I - W^T)^-1 diag(sd^2) (I - W)^-1. A sample covariance entry from n Gaussian rows
    # has variance (S_ii S_jj + S_ij^2) / n, a sample mean S_ii / n: 5 standard errors.
    n = 200_000
    ds = Bnlearn(network="ecoli70", n=n, n_heldout=10, standardise=False).simulate(seed=1)
    net = load_network("ecoli70")
    a = np.linalg.inv(np.eye(ds.d) - net["weights"].T)
    mean = a @ net["intercepts"]
    cov = a @ np.diag(net["sd"] ** 2) @ a.T
    var = np.diag(cov)
    se_cov = np.sqrt((np.outer(var, var) + cov ** 2) / n)
    assert np.all(np.abs(np.cov(ds.x, rowvar=False) - cov) <= 5 * se_cov)
    assert np.all(np.abs(ds.x.mean(axis=0) - mean) <= 5 * np.sqrt(var / n))
    np.testing.assert_array_equal(ds.params_true["weights"], net["weights"])
    np.testing.assert_array_equal(ds.params_true["noise_scale"], net["sd"])


def test_standardised_parameters_match_the_standardised_data():
    ds = Bnlearn(network="magic-niab", n=100_000, n_heldout=10).simulate(seed=2)
    x, w = ds.x, ds.params_true["weights"]
    for j in range(ds.d):
        pa = np.flatnonzero(ds.g_true[:, j])
        design = np.column_stack([x[:, pa], np.ones(len(x))])
        coef, *_ = np.linalg.lstsq(design, x[:, j], rcond=None)
        resid_sd = (x[:, j] - design @ coef).std()
        assert resid_sd == pytest.approx(ds.params_true["noise_scale"][j], rel=0.02)
        np.testing.assert_allclose(coef[:-1], w[pa, j], atol=0.02 + 0.02 * np.abs(w[pa, j]).max(initial=0))


def test_interventions_as_the_scm_simulators():
    sim = Bnlearn(network="ecoli70", n=50, n_heldout=20, n_interv_nodes=3, n_interv_rows=2000,
                  interv_value=1.5, interv_std=0.0, heldout_interventional=True,
                  n_heldout_interv_nodes=2, standardise=False)
    ds = sim.simulate(seed=3)
    net = load_network("ecoli70")
    assert ds.x.shape == (50 + 3 * 2000, 46) and ds.x_heldout.shape == (20 + 2 * 2000, 46)
    assert not ds.interv_mask[:50].any() and np.all(ds.interv_mask[50:].sum(axis=1) == 1)
    nodes = ds.meta["interv_nodes"]
    assert len(set(nodes)) == 3 and not set(nodes) & set(ds.meta["heldout_interv_nodes"])
    for b, j in enumerate(nodes):
        rows = slice(50 + 2000 * b, 50 + 2000 * (b + 1))
        assert ds.interv_mask[rows, j].all() and np.all(ds.x[rows, j] == 1.5)
        # every other node still follows its equation, fed with the clamped value
        resid = ds.x[rows] - net["intercepts"] - ds.x[rows] @ net["weights"]
        others = [k for k in range(46) if k != j]
        np.testing.assert_allclose(resid[:, others].std(axis=0), net["sd"][others], rtol=0.1)


def test_intervention_checks_use_the_networks_size():
    with pytest.raises(PluginError, match="'n_interv_nodes'"):
        Bnlearn(network="magic-niab", n_interv_nodes=45)
    Bnlearn(network="magic-niab", n_interv_nodes=44)


@pytest.mark.parametrize("name, kind", [
    ("alarm", "discrete"), ("asia", "discrete"),
    ("mehra", "conditional linear Gaussian"), ("sangiovese", "conditional linear Gaussian"),
    ("healthcare", "conditional linear Gaussian"), ("no-such-net", "not a bnlearn network"),
])
def test_other_networks_are_refused_by_name(name, kind):
    with pytest.raises(PluginError) as info:
        Bnlearn(network=name)
    msg = str(info.value)
    assert f"'{name}'" in msg and kind in msg and "ecoli70" in msg


def test_loading_a_discrete_network_names_its_node_types():
    with pytest.raises(DataError) as info:
        load_network("asia")
    msg = str(info.value)
    assert "'asia'" in msg and "not linear Gaussian" in msg and "TabularCPD" in msg
    assert "8 of its 8 nodes" in msg
    with pytest.raises(DataError, match="'sangiovese'.*cannot load it offline"):
        load_network("sangiovese")


def test_loads_offline(monkeypatch):
    # the example-model loader reads files inside the package: no network access
    import socket

    def refuse(*args, **kwargs):
        raise OSError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    load_network.cache_clear()
    try:
        assert len(load_network("arth150")["names"]) == 107
    finally:
        load_network.cache_clear()
    assert math.isfinite(float(load_network("arth150")["sd"].sum()))
