"""Posterior diagnostics (issue 20, item 3): the number of graphs, of distinct DAGs and
the effective sample sizes of a posterior, in the fit record and in the score table, so
that a table reader sees when a posterior has collapsed onto a few graphs.

Definitions: ``evaluation.metrics.posterior_diagnostics``. Hand-made posteriors give the
exact values; one short DiBS+ fit goes through the workflow's own fit and evaluate steps.
"""
import json

import numpy as np
import pandas as pd
import pytest

from dagbench import runner
from evaluation.aggregate import aggregate
from evaluation.metrics import DIAGNOSTIC_KEYS, effective_sample_size, posterior_diagnostics
from evaluation.scoring import GRAPH_SCORE_KEYS, SCORE_KEYS, score_fit
from methods.base import GraphPosterior
from simulators.base import Dataset


def G(d, *edges):
    g = np.zeros((d, d), np.int8)
    for i, j in edges:
        g[i, j] = 1
    return g


CHAIN = G(3, (0, 1), (1, 2))          # 0 -> 1 -> 2
FORK = G(3, (1, 0), (1, 2))           # 0 <- 1 -> 2
EMPTY = G(3)
CYCLE = G(3, (0, 1), (1, 2), (2, 0))  # 0 -> 1 -> 2 -> 0


def diagnostics_of(post: GraphPosterior) -> dict:
    return posterior_diagnostics(post.graphs, post.weights)


# ---------------------------------------------------------------- Kish's ESS

def test_ess_is_kish_formula():
    assert effective_sample_size(np.full(5, 0.2)) == pytest.approx(5)
    assert effective_sample_size([1.0, 0.0, 0.0]) == 1
    # (0.7 + 0.1 + 0.1 + 0.1)^2 / (0.49 + 3 * 0.01) = 1 / 0.52
    assert effective_sample_size([0.7, 0.1, 0.1, 0.1]) == pytest.approx(1 / 0.52)


def test_ess_does_not_depend_on_the_weights_scale():
    w = np.array([0.7, 0.1, 0.1, 0.1])
    assert effective_sample_size(7 * w) == pytest.approx(effective_sample_size(w))
    # unnormalised DiBS+-like weights far below the smallest normal float squared:
    # without normalising first, sum w^2 underflows to 0 and the ratio is inf or NaN
    assert effective_sample_size(np.full(4, 1e-300)) == pytest.approx(4)
    assert effective_sample_size(np.full(4, 1e200)) == pytest.approx(4)


def test_ess_of_no_weight_is_zero_and_bad_weights_raise():
    assert effective_sample_size(np.zeros(3)) == 0.0
    assert effective_sample_size(np.zeros(0)) == 0.0
    for bad in ([0.5, -0.1], [0.5, np.nan], [0.5, np.inf], np.ones((2, 2))):
        with pytest.raises(ValueError):
            effective_sample_size(bad)


# ------------------------------------------------------- hand-made posteriors

def test_three_copies_of_one_dag_and_a_cyclic_particle_weighted():
    post = GraphPosterior(graphs=np.stack([CHAIN, CHAIN, CHAIN, CYCLE]),
                          weights=np.array([0.7, 0.1, 0.1, 0.1]), may_be_cyclic=True)
    dg = diagnostics_of(post)
    assert tuple(dg) == DIAGNOSTIC_KEYS
    assert dg["n_graphs"] == 4 and dg["n_distinct_dags"] == 1
    # over the acyclic particles only: (0.9)^2 / (0.49 + 0.01 + 0.01)
    assert dg["ess"] == pytest.approx(0.81 / 0.51)
    # the three copies are one DAG: the posterior has collapsed onto it
    assert dg["ess_distinct"] == pytest.approx(1.0)


def test_cyclic_particle_is_left_out_of_the_ess():
    # the cyclic particle holds 0.7: with it the ESS would be 1 / 0.52 = 1.92; without it
    # the three acyclic particles weigh 0.1 each, ESS 3
    post = GraphPosterior(graphs=np.stack([CYCLE, CHAIN, FORK, CHAIN]),
                          weights=np.array([0.7, 0.1, 0.1, 0.1]), may_be_cyclic=True)
    dg = diagnostics_of(post)
    assert dg["n_graphs"] == 4 and dg["n_distinct_dags"] == 2
    assert dg["ess"] == pytest.approx(3.0)
    # distinct DAGs: CHAIN 0.2, FORK 0.1 -> 0.09 / (0.04 + 0.01)
    assert dg["ess_distinct"] == pytest.approx(0.09 / 0.05)


def test_no_weights_gives_the_count_of_acyclic_particles():
    post = GraphPosterior(graphs=np.stack([CHAIN, CHAIN, CHAIN, CYCLE]), may_be_cyclic=True)
    dg = diagnostics_of(post)
    assert dg == {"n_graphs": 4, "n_distinct_dags": 1, "ess": pytest.approx(3.0),
                  "ess_distinct": pytest.approx(1.0)}
    # and with no cyclic particle, ESS = K
    dg = posterior_diagnostics(np.stack([CHAIN, FORK, EMPTY, CHAIN, FORK]))
    assert dg["n_graphs"] == 5 and dg["ess"] == pytest.approx(5.0)
    assert dg["n_distinct_dags"] == 3
    assert dg["ess_distinct"] == pytest.approx(1 / (0.4**2 + 0.4**2 + 0.2**2))


def test_duplicates_weights_are_summed_for_ess_distinct():
    graphs = np.stack([CHAIN, FORK, CHAIN, EMPTY])
    dg = posterior_diagnostics(graphs, np.array([0.4, 0.3, 0.2, 0.1]))
    assert dg["n_distinct_dags"] == 3
    assert dg["ess"] == pytest.approx(1 / (0.16 + 0.09 + 0.04 + 0.01))
    assert dg["ess_distinct"] == pytest.approx(1 / (0.6**2 + 0.3**2 + 0.1**2))  # CHAIN 0.6


def test_collapse_onto_one_graph():
    """30 equally weighted particles that are all one DAG: 30 samples, one graph."""
    dg = posterior_diagnostics(np.repeat(CHAIN[None], 30, axis=0))
    assert dg == {"n_graphs": 30, "n_distinct_dags": 1, "ess": pytest.approx(30.0),
                  "ess_distinct": pytest.approx(1.0)}


def test_zero_weight_dag_counts_as_distinct_but_not_in_the_ess():
    dg = posterior_diagnostics(np.stack([CHAIN, FORK]), np.array([1.0, 0.0]))
    assert dg["n_distinct_dags"] == 2
    assert dg["ess"] == 1.0 and dg["ess_distinct"] == 1.0


def test_self_loop_is_a_cycle():
    loop = CHAIN.copy()
    loop[2, 2] = 1
    dg = posterior_diagnostics(np.stack([CHAIN, loop]))
    assert dg["n_distinct_dags"] == 1 and dg["ess"] == pytest.approx(1.0)


def test_all_cyclic_has_no_dag_and_zero_ess():
    two_cycle = G(3, (0, 1), (1, 0))
    dg = posterior_diagnostics(np.stack([CYCLE, two_cycle, CYCLE]))
    assert dg == {"n_graphs": 3, "n_distinct_dags": 0, "ess": 0.0, "ess_distinct": 0.0}
    # acyclic graphs that carry no weight: all_cyclic too, the DAG still counted
    dg = posterior_diagnostics(np.stack([CYCLE, CHAIN]), np.array([1.0, 0.0]))
    assert dg == {"n_graphs": 2, "n_distinct_dags": 1, "ess": 0.0, "ess_distinct": 0.0}


def test_equivalence_class_answer_is_its_dags_uniformly():
    # the chain 0 - 1 - 2 undirected: a class of 3 DAGs, weight 1/3 each
    cpdag = G(3, (0, 1), (1, 0), (1, 2), (2, 1))
    dg = diagnostics_of(GraphPosterior(cpdag=cpdag))
    assert dg == {"n_graphs": 3, "n_distinct_dags": 3, "ess": pytest.approx(3.0),
                  "ess_distinct": pytest.approx(3.0)}


def test_point_answer_and_bad_input():
    assert posterior_diagnostics(CHAIN) == {"n_graphs": 1, "n_distinct_dags": 1, "ess": 1.0,
                                            "ess_distinct": 1.0}
    with pytest.raises(ValueError):
        posterior_diagnostics(np.stack([CHAIN, FORK]), np.array([0.5, 0.2, 0.3]))
    with pytest.raises(ValueError):
        posterior_diagnostics(np.zeros((0, 3, 3), np.int8))
    with pytest.raises(ValueError):
        posterior_diagnostics(np.zeros((2, 3, 4), np.int8))


# ------------------------------------------------------------- in score_fit

@pytest.fixture(scope="module")
def data3():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    x[:, 1] += x[:, 0]
    x[:, 2] += x[:, 1]
    xh = rng.normal(size=(20, 3))
    return Dataset(x=x, x_heldout=xh, g_true=CHAIN.copy())


def test_score_fit_carries_the_diagnostics(data3):
    assert set(DIAGNOSTIC_KEYS) <= set(SCORE_KEYS)
    assert not set(DIAGNOSTIC_KEYS) & set(GRAPH_SCORE_KEYS)
    graphs = np.stack([CHAIN, CHAIN, CHAIN, CYCLE])
    w = np.array([0.7, 0.1, 0.1, 0.1])
    s = score_fit({"graphs": graphs, "weights": w}, data3)
    assert tuple(s) == SCORE_KEYS
    assert s["n_graphs"] == 4 and s["n_distinct_dags"] == 1
    assert s["ess"] == pytest.approx(0.81 / 0.51) and s["ess_distinct"] == pytest.approx(1.0)
    assert s["frac_cyclic"] == pytest.approx(0.1) and s["frac_cyclic_unweighted"] == 0.25


def test_score_fit_diagnostics_need_no_true_graph(data3):
    unknown = Dataset(x=data3.x, x_heldout=data3.x_heldout, g_true=EMPTY.copy(),
                      meta={"graph_known": False})
    s = score_fit({"graphs": np.stack([CHAIN, FORK])}, unknown)
    assert np.isnan(s["e_shd"])
    assert s["n_graphs"] == 2 and s["n_distinct_dags"] == 2 and s["ess"] == pytest.approx(2.0)


def test_score_fit_all_cyclic_diagnostics(data3):
    s = score_fit({"graphs": CYCLE[None], "weights": np.ones(1)}, data3)
    assert s["all_cyclic"] is True
    assert (s["n_graphs"], s["n_distinct_dags"], s["ess"], s["ess_distinct"]) == (1, 0, 0.0, 0.0)


# ------------------------------------- a real DiBS+ fit through the workflow's steps

def test_dibs_plus_fit_record_and_score_row(tmp_path):
    """dibs_bge with posterior dibs+ at d = 4, a few steps: runner.fit (the fit rule),
    runner.evaluate (the evaluate rule), aggregate (scores.csv) as the workflow runs them."""
    from simulators.base import get as get_simulator

    setting = {"id": "lin-d4", "simulator": "linear",
               "params": {"d": 4, "n": 60, "n_heldout": 20, "edges_per_node": 1.0}}
    ds = get_simulator("linear")(**setting["params"]).simulate(seed=0)
    data = tmp_path / "data" / "lin-d4" / "seed0.npz"
    ds.save(data)
    method = {"id": "dibs_plus", "method": "dibs_bge",
              "params": {"steps": 30, "n_particles": 8, "n_grad_samples": 16,
                         "n_acyclic_samples": 8, "posterior": "dibs+"}}
    spec = {**method, "timeout_s": 300}
    record = runner.fit(spec, data=data, seed=0, out=tmp_path / "fits" / "dibs_plus.json")
    assert record["status"] == "ok", record.get("reason")
    row = runner.evaluate(data=data, fit_record=tmp_path / "fits" / "dibs_plus.json", benchmark=None,
                          setting=setting, method=method, out=tmp_path / "scores" / "dibs_plus.json")

    # the fit record holds them, as written to disk, equal to the score row's
    on_disk = json.loads((tmp_path / "fits" / "dibs_plus.json").read_text())
    assert on_disk["posterior_diagnostics"] == {k: row[k] for k in DIAGNOSTIC_KEYS}
    # ... and equal to the definition applied to the saved arrays
    arrays = GraphPosterior.load_arrays(runner.fit_arrays_path(tmp_path / "fits" / "dibs_plus.json"))
    assert {k: row[k] for k in DIAGNOSTIC_KEYS} == pytest.approx(
        posterior_diagnostics(arrays["graphs"], arrays["weights"]))

    K = len(arrays["graphs"])
    assert row["n_graphs"] == K and 1 <= K <= 8  # marginal DiBS merges identical particles
    assert 0 <= row["n_distinct_dags"] <= K
    if row["all_cyclic"]:
        assert row["ess"] == row["ess_distinct"] == 0
    else:
        assert 1 - 1e-9 <= row["ess_distinct"] <= row["ess"] + 1e-9
        assert row["ess"] <= K + 1e-9 and row["ess_distinct"] <= row["n_distinct_dags"] + 1e-9

    # the score table a reader opens has the columns
    scores = tmp_path / "scores.csv"
    aggregate([tmp_path / "scores" / "dibs_plus.json"], csv_path=scores, summary_path=tmp_path / "summary.md")
    table = pd.read_csv(scores)
    assert set(DIAGNOSTIC_KEYS) <= set(table.columns)
    assert table.loc[0, "n_graphs"] == K and table.loc[0, "ess"] == pytest.approx(row["ess"])
