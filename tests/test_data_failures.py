"""One bad dataset never costs the others: a simulator that raises (or whose dataset fails
the checks) for one seed is recorded as a failed dataset, every fit on it ends as
``data_error`` without running the method, and the workflow still writes the score
table, the summary and every figure for the rest."""
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dagbench import runner
from dagbench.plugins import EXTRA_DIRS_ENV
from evaluation.aggregate import SUMMARY_NOTE, summary_markdown, summary_tables
from evaluation.plots import figure_names
from simulators.base import DataError, Dataset, dataset_failure
from workflow_helpers import FAULT_PLUGINS, ROOT, run_snakemake

CASE = ROOT / "tests" / "cases" / "constant-in-split"
METHODS = [{"method": "empty"}, {"method": "ges"}]


def summary_section(text: str, setting: str) -> dict[str, dict[str, str]]:
    """{method: {column header: cell}} of one setting's table in summary.md."""
    lines = text.split(f"## {setting}\n", 1)[1].split("\n## ", 1)[0].strip().splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:] if line.startswith("|")]
    return {r[0]: dict(zip(header, r)) for r in rows}


def assert_figures_written(results: Path):
    for name in figure_names():
        path = results / "figures" / name
        assert path.exists() and path.stat().st_size > 1000, name


# -- (a) the shared case: R is constant on the training rows that seed 3 picks ---------------

@pytest.fixture(scope="module")
def rare_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("rare")
    config = {"seeds": [0, 3], "timeout_s": 120, "methods": METHODS,
              "settings": [{"id": "rare", "simulator": "csv",
                            "params": {"path": str(CASE / "data_rare.csv"),
                                       "graph_path": str(CASE / "graph_rare.csv")}}]}
    proc = run_snakemake(workdir, config, "all", check=False)
    return workdir, proc


def test_constant_in_split_seed_does_not_stop_the_workflow(rare_run):
    workdir, proc = rare_run
    assert proc.returncode == 0, proc.stderr[-4000:]
    df = pd.read_csv(workdir / "results" / "tables" / "scores.csv")
    assert sorted(zip(df["seed"], df["method_id"])) == [(0, "empty"), (0, "ges"), (3, "empty"), (3, "ges")]
    good = df[df["seed"] == 0]
    assert (good["status"] == "ok").all(), good[["method_id", "reason"]]
    assert np.isfinite(good["e_shd"]).all() and np.isfinite(good["ll_heldout"]).all()
    bad = df[df["seed"] == 3]
    assert (bad["status"] == "data_error").all(), bad[["method_id", "status", "reason"]]
    for reason in bad["reason"]:
        assert "dataset rare seed 3" in reason, reason  # the dataset, not the method
        assert re.search(r"\bR\b", reason), reason  # the simulator's own message: column R
        assert "ges" not in reason and "empty" not in reason
    assert bad["e_shd"].isna().all()  # no metrics for a fit that never ran


def test_constant_in_split_dataset_is_recorded_as_a_failure(rare_run):
    workdir, _ = rare_run
    results = workdir / "results"
    sidecar = json.loads((results / "data" / "rare" / "seed3.json").read_text())
    assert sidecar["status"] == "data_error" and sidecar["setting"] == "rare" and sidecar["seed"] == 3
    assert "dataset rare seed 3" in sidecar["reason"] and re.search(r"\bR\b", sidecar["reason"])
    with pytest.raises(DataError, match="dataset rare seed 3"):
        Dataset.load(results / "data" / "rare" / "seed3.npz")
    assert Dataset.load(results / "data" / "rare" / "seed0.npz").d == 4
    assert sidecar["reason"] in (results / "logs" / "simulate" / "rare" / "seed3.log").read_text()
    fit = json.loads((results / "fits" / "rare" / "seed3" / "ges.json").read_text())
    assert fit["status"] == "data_error" and fit["error"] == "DataError"
    with np.load(results / "fits" / "rare" / "seed3" / "ges.npz") as arrays:  # the rule's output, empty
        assert arrays.files == []


def test_constant_in_split_summary_counts_no_data_and_figures_exist(rare_run):
    workdir, _ = rare_run
    results = workdir / "results"
    text = (results / "tables" / "summary.md").read_text()
    table = summary_section(text, "rare")
    for m in ["empty", "ges"]:
        assert table[m]["ok"] == "1/2"
        assert table[m]["no data"] == "1" and table[m]["not ok"] == "0", table[m]
    assert "`no data`" in text  # explained in the note
    assert "no data" in (results / "tables" / "summary.html").read_text()
    assert_figures_written(results)


# -- (b) a simulator plugin that raises a plain RuntimeError on seed 1 ------------------------

FLAKY = {"d": 5, "n": 100, "n_heldout": 30, "edges_per_node": 1.0}


@pytest.fixture(scope="module")
def flaky_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("flaky")
    config = {"seeds": 2, "timeout_s": 120, "methods": METHODS,
              "settings": [{"id": "flaky", "simulator": "fault_flaky_seed",
                            "params": {**FLAKY, "fail_seeds": [1]}},
                           {"id": "lin", "simulator": "linear", "params": FLAKY}]}
    proc = run_snakemake(workdir, config, "all", check=False, env={EXTRA_DIRS_ENV: str(FAULT_PLUGINS)})
    return workdir, proc


def test_a_raising_simulator_costs_only_its_own_seed(flaky_run):
    workdir, proc = flaky_run
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = workdir / "results"
    df = pd.read_csv(results / "tables" / "scores.csv")
    assert len(df) == 2 * 2 * 2
    bad = (df["setting"] == "flaky") & (df["seed"] == 1)
    assert (df.loc[bad, "status"] == "data_error").all(), df.loc[bad, ["method_id", "reason"]]
    for reason in df.loc[bad, "reason"]:
        assert "dataset flaky seed 1" in reason and "RuntimeError: boom in simulate (seed 1)" in reason
    # the other seed of the same setting and the other setting are untouched
    rest = df[~bad]
    assert (rest["status"] == "ok").all(), rest[["setting", "seed", "method_id", "reason"]]
    assert np.isfinite(rest["e_shd"]).all() and np.isfinite(rest["auroc"]).all()
    empty = rest[rest["method_id"] == "empty"]
    assert (empty["e_shd"] == empty["n_edges_true"]).all()
    # the flaky simulator's seed 0 is exactly the linear simulator's dataset
    a = Dataset.load(results / "data" / "flaky" / "seed0.npz")
    b = Dataset.load(results / "data" / "lin" / "seed0.npz")
    assert np.array_equal(a.x, b.x) and np.array_equal(a.g_true, b.g_true)
    # an unexpected exception keeps its traceback in the rule's log
    log = (results / "logs" / "simulate" / "flaky" / "seed1.log").read_text()
    assert "Traceback" in log and "dataset flaky seed 1" in log


def test_no_data_column_only_where_a_dataset_failed(flaky_run):
    workdir, _ = flaky_run
    results = workdir / "results"
    text = (results / "tables" / "summary.md").read_text()
    flaky, lin = summary_section(text, "flaky"), summary_section(text, "lin")
    for m in ["empty", "ges"]:
        assert flaky[m]["ok"] == "1/2" and flaky[m]["no data"] == "1" and flaky[m]["not ok"] == "0"
        assert lin[m]["ok"] == "2/2" and "no data" not in lin[m]
    assert_figures_written(results)


# -- without Snakemake: simulate, fit and evaluate on a failing dataset -----------------------

@pytest.mark.parametrize("fault,fragment", [
    ("raises", "RuntimeError: boom in simulate (seed 1)"),
    ("nan", "non-finite"),  # the dataset checks (Dataset.problems) refuse it
])
def test_simulate_records_a_failed_dataset_and_fit_does_not_run_the_method(
        tmp_path, monkeypatch, fault, fragment):
    monkeypatch.setenv(EXTRA_DIRS_ENV, str(FAULT_PLUGINS))
    spec = {"id": "flaky-d4", "simulator": "fault_flaky_seed",
            "params": {"d": 4, "n": 40, "n_heldout": 10, "edges_per_node": 1.0, "fault": fault}}
    good, bad = tmp_path / "data" / "flaky-d4" / "seed0.npz", tmp_path / "data" / "flaky-d4" / "seed1.npz"
    assert runner.simulate(spec, seed=0, out=good) is None
    failure = runner.simulate(spec, seed=1, out=bad)  # must not raise
    assert failure["status"] == "data_error"
    assert "dataset flaky-d4 seed 1" in failure["reason"] and fragment in failure["reason"]
    assert bad.exists() and json.loads(bad.with_suffix(".json").read_text()) == failure
    assert dataset_failure(bad) == failure["reason"] and dataset_failure(good) is None
    with pytest.raises(DataError) as info:
        Dataset.load(bad)
    assert str(info.value) == failure["reason"]

    # fault_raises would end as 'failed: boom in fit' if it were run
    spec_m = {"id": "fault_raises", "method": "fault_raises", "params": {}, "timeout_s": 60}
    record = runner.fit(spec_m, data=bad, seed=1, out=tmp_path / "fit1.json")
    assert record["status"] == "data_error" and record["error"] == "DataError"
    assert record["reason"] == failure["reason"] and "fault_raises" not in record["reason"]
    assert json.loads((tmp_path / "fit1.json").read_text())["status"] == "data_error"
    with np.load(runner.fit_arrays_path(tmp_path / "fit1.json")) as arrays:  # the rule's output, empty
        assert arrays.files == []
    assert runner.fit(spec_m, data=good, seed=0, out=tmp_path / "fit0.json")["status"] == "failed"

    setting = {"id": "flaky-d4", "simulator": "fault_flaky_seed", "params": spec["params"]}
    row = runner.evaluate(data=bad, fit_record=tmp_path / "fit1.json", benchmark=None, setting=setting,
                          method=spec_m, out=tmp_path / "score1.json")
    assert row["status"] == "data_error" and row["reason"] == failure["reason"]
    assert "e_shd" not in row and "auroc" not in row


def test_an_invalid_saved_dataset_is_data_error_not_a_method_failure(tmp_path):
    x = np.random.default_rng(0).normal(size=(20, 3))
    x[2, 1] = np.nan
    Dataset(x=x, x_heldout=np.ones((4, 3)), g_true=np.zeros((3, 3), dtype=np.int8)).save(tmp_path / "broken.npz")
    spec = {"id": "empty", "method": "empty", "params": {}, "timeout_s": 60}
    record = runner.fit(spec, data=tmp_path / "broken.npz", seed=0, out=tmp_path / "fit.json")
    assert record["status"] == "data_error"
    assert "broken.npz is invalid" in record["reason"] and "non-finite" in record["reason"]


# -- the summary, from records -----------------------------------------------------------------

def test_summary_counts_data_errors_apart_and_keeps_an_all_failed_setting():
    rows = [{"setting": "good", "seed": s, "method_id": "pc", "status": "ok", "e_shd": 1.0 + s}
            for s in range(2)]
    rows += [{"setting": "half", "seed": 0, "method_id": "pc", "status": "ok", "e_shd": 2.0},
             {"setting": "half", "seed": 1, "method_id": "pc", "status": "data_error", "e_shd": None},
             {"setting": "half", "seed": 2, "method_id": "pc", "status": "failed", "e_shd": None}]
    rows += [{"setting": "dead", "seed": s, "method_id": "pc", "status": "data_error", "e_shd": None}
             for s in range(2)]
    tables = summary_tables(pd.DataFrame(rows))
    assert list(tables) == ["good", "half", "dead"]
    assert "no data" not in tables["good"].columns
    half = tables["half"].set_index("method").loc["pc"]
    assert half["ok"] == "1/3" and half["not ok"] == 1 and half["no data"] == 1
    dead = tables["dead"].set_index("method").loc["pc"]
    assert dead["ok"] == "0/2" and dead["not ok"] == 0 and dead["no data"] == 2 and dead["E-SHD ↓"] == "–"
    assert "## dead" in summary_markdown(tables)
    assert "no data" in SUMMARY_NOTE and "data_error" in SUMMARY_NOTE
