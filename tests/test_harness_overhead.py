"""The per-job harness stays light (bench/harness_overhead.py measures how light) and gives
the same numbers as before it was made light: the numpy versions of scikit-learn's AUROC
and average precision and of scipy's logsumexp agree with those libraries bit for bit;
the dataset check skips its QR only when the QR could find nothing; a job imports only
the plugin it names and none of scipy, scikit-learn, pandas or torch (each of which cost
every job 0.1-1 s). No timings are asserted here."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dagbench.plugins import PluginError
from evaluation import metrics as M
from evaluation.likelihood import heldout_scores, logsumexp_axis0
from simulators import base as simbase
from simulators.base import Dataset, degenerate_columns

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("scipy", "sklearn", "pandas", "torch", "matplotlib", "causallearn", "cdt")


# ------------------------------------------------------------------ same numbers as the libraries

def _ranking_cases(rng, n_cases):
    for t in range(n_cases):
        n = int(rng.integers(2, 150))
        y = (rng.random(n) < rng.uniform(0.03, 0.7)).astype(int)
        if y.min() == y.max():
            y[0] = 1 - y[0]
        s = rng.random(n)
        if t % 2 == 0:  # many ties, as edge marginals of a few samples have
            s = np.round(s * rng.integers(1, 8)) / 7
        if t % 9 == 0:  # every score the same
            s = np.full(n, 0.5)
        if t % 11 == 0:  # a perfect and an inverted ranking
            s = y * 0.9 + 0.05 if t % 22 == 0 else 1 - y * 0.9
        yield y, s


def test_auroc_and_average_precision_match_scikit_learn_bit_for_bit():
    from sklearn.metrics import average_precision_score, roc_auc_score

    for y, s in _ranking_cases(np.random.default_rng(0), 2000):
        assert M._roc_auc(y, s) == float(roc_auc_score(y, s)), (y, s)
        assert M._average_precision(y, s) == float(average_precision_score(y, s)), (y, s)


def test_auroc_and_auprc_of_edge_marginals_match_scikit_learn():
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(1)
    for d in (3, 5, 10, 20):
        for _ in range(40):
            g = np.triu(rng.random((d, d)) < 0.3, 1).astype(np.int8)
            g[0, 1] = 1
            p = np.round(rng.random((d, d)) * 10) / 10
            y, s = M._labels_scores(p, g)
            assert M.auroc(p, g) == float(roc_auc_score(y, s))
            assert M.auprc(p, g) == float(average_precision_score(y, s))
    assert np.isnan(M.auroc(np.zeros((4, 4)), np.zeros((4, 4))))  # one class: NaN, as before


def test_ranking_metrics_refuse_non_finite_scores_as_scikit_learn_does():
    p = np.full((3, 3), 0.5)
    p[0, 1] = np.nan
    g = np.zeros((3, 3), dtype=np.int8)
    g[0, 2] = 1
    with pytest.raises(ValueError):
        M.auroc(p, g)
    with pytest.raises(ValueError):
        M.auprc(p, g)


def test_logsumexp_matches_scipy_bit_for_bit():
    from scipy.special import logsumexp

    rng = np.random.default_rng(2)
    for t in range(3000):
        k, m = int(rng.integers(1, 9)), int(rng.integers(1, 25))
        a = rng.normal(size=(k, m)) * rng.choice([0.1, 1.0, 30.0, 1000.0]) - rng.choice([0.0, 50.0, 800.0])
        if t % 3 == 0:
            a = np.round(a, 1)  # ties for the largest term
        if t % 5 == 0:
            a[rng.random(a.shape) < 0.25] = -np.inf
        if t % 13 == 0:
            a[:, 0] = -np.inf  # a column of -inf
        if t % 17 == 0:
            a[rng.random(a.shape) < 0.1] = np.inf
        if t % 19 == 0:
            a[rng.random(a.shape) < 0.1] = np.nan
        with np.errstate(all="ignore"):
            expected = logsumexp(a, axis=0)
        np.testing.assert_array_equal(logsumexp_axis0(a), expected)
    assert logsumexp_axis0(np.zeros((0, 3))).tolist() == [-np.inf] * 3


def test_heldout_scores_as_with_scipy():
    from scipy.special import logsumexp

    rng = np.random.default_rng(3)
    logp = rng.normal(size=(7, 40)) * 3 - 10
    w = rng.random(7)
    w[2] = 0
    got = heldout_scores(logp, w)
    w1 = w / w.sum()
    keep = w1 > 0
    ll = logsumexp(logp[keep] + np.log(w1[keep])[:, None], axis=0)
    assert got["ll_heldout"] == float(ll.mean())


# --------------------------------------------------------------------- the dataset check

def _columns(rng, n, d, one_minus_r2):
    """[n, d] data whose last column is a linear function of the first two up to
    ``one_minus_r2`` of its variance."""
    x = rng.normal(size=(n, d))
    y = x[:, 0] - 2 * x[:, 1] + 3.0
    noise = rng.normal(size=n)
    noise -= noise.mean()
    yc = y - y.mean()
    # residual variance fraction one_minus_r2: noise scaled against y's variance
    scale = np.sqrt(one_minus_r2 / (1 - one_minus_r2) * (yc @ yc) / (noise @ noise)) if one_minus_r2 else 0.0
    x[:, -1] = y + scale * noise
    return x


@pytest.mark.parametrize("one_minus_r2", [0.0, 1e-13, 3e-11, 9e-11, 1.1e-10, 5e-10, 2e-9, 1e-8, 1e-4, None])
def test_degenerate_columns_skips_the_qr_only_when_it_could_find_nothing(monkeypatch, one_minus_r2):
    """The same messages with the shortcut and with the QR forced, from exactly collinear
    columns to barely independent ones on both sides of the 1e-10 tolerance."""
    rng = np.random.default_rng(4)
    for n, d in ((50, 5), (200, 12), (30, 8)):
        x = rng.normal(size=(n, d)) if one_minus_r2 is None else _columns(rng, n, d, one_minus_r2)
        names = [f"X{i}" for i in range(d)]
        fast = degenerate_columns(x, names)
        monkeypatch.setattr(simbase, "_surely_full_rank", lambda u: False)
        slow = degenerate_columns(x, names)
        monkeypatch.undo()
        assert fast == slow, (n, d, one_minus_r2)
        if one_minus_r2 is not None and one_minus_r2 < 1e-10:
            assert any("collinear" in p for p in fast)


def test_the_shortcut_is_taken_on_ordinary_data(monkeypatch):
    """Ordinary data never reach the QR (nor import scipy for it)."""
    rng = np.random.default_rng(5)

    def no_qr(u):
        raise AssertionError("the QR ran on ordinary data")

    monkeypatch.setattr(simbase, "_pivoted_qr", no_qr)
    for n, d in ((100, 10), (20, 5), (1000, 40)):
        assert degenerate_columns(rng.normal(size=(n, d)), [f"X{i}" for i in range(d)]) == []


# ------------------------------------------------------------------ what a job imports

def _job_imports(cmd: list[str], cwd: Path) -> set[str]:
    """The modules a ``python -m dagbench ...`` process and its fit child import (the
    child is a fork, so ``-X importtime`` is the way to see its imports too)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("DAGBENCH_PLUGIN_DIRS", None)
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "dagbench", *cmd], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {m.group(1) for m in re.finditer(r"import time:\s+\d+ \|\s+\d+ \|\s*(\S+)", proc.stderr)}


def test_simulate_fit_and_evaluate_jobs_import_no_heavy_library(tmp_path):
    setting = {"id": "lin", "simulator": "linear", "exact_posterior": None,
               "params": {"d": 5, "n": 50, "n_heldout": 50, "graph": "er", "edges_per_node": 1.0}}
    method = {"id": "empty", "method": "empty", "params": {}}
    data, fit = tmp_path / "data.npz", tmp_path / "fit.json"
    steps = {
        "simulate": ["simulate", "--spec", json.dumps(setting), "--seed", "0", "--out", str(data)],
        "fit": ["fit", "--spec", json.dumps(method), "--data", str(data), "--seed", "0", "--out", str(fit)],
        "evaluate": ["evaluate", "--data", str(data), "--fit", str(fit), "--setting", json.dumps(setting),
                     "--method", json.dumps(method), "--out", str(tmp_path / "score.json")],
    }
    for step, cmd in steps.items():
        mods = _job_imports(cmd, tmp_path)
        heavy = sorted(m for m in mods if m.split(".")[0] in HEAVY)
        assert not heavy, f"{step} imports {heavy[:10]}"
    score = json.loads((tmp_path / "score.json").read_text())
    assert score["status"] == "ok" and score["e_shd"] == score["n_edges_true"]


# ------------------------------------------------------------------ plugin lookup

@pytest.mark.parametrize("package,name,own", [("methods", "empty", "methods.empty"),
                                              ("methods", "pc", "methods.pc"),
                                              ("simulators", "linear", "simulators.linear")])
def test_get_imports_only_the_named_plugin_file(package, name, own):
    code = (f"import sys\nfrom {package}.base import get\nget({name!r})\n"
            f"print(' '.join(m for m in sys.modules if m.startswith('{package}.')))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("DAGBENCH_PLUGIN_DIRS", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                         check=True).stdout.split()
    helpers = {f"{package}.base", f"{package}.graphs", f"{package}.scm", f"{package}._causallearn"}
    assert sorted(set(out) - helpers) == [own]


def test_get_finds_plugins_in_their_own_file_and_elsewhere_and_names_unknown_ones(monkeypatch):
    from methods.base import get, registry
    from simulators.base import get as get_simulator
    from simulators.base import registry as simulator_registry

    monkeypatch.delenv("DAGBENCH_PLUGIN_DIRS", raising=False)
    methods, simulators = registry(), simulator_registry()
    for name, cls in methods.items():  # golem_ev lives in golem.py: found by the scan
        assert get(name) is cls
    for name, cls in simulators.items():
        assert get_simulator(name) is cls
    for bad in ("no_such_method", "base", "_template", "../empty", "Empty"):
        with pytest.raises(PluginError, match="unknown method .*known: .*empty"):
            get(bad)


def test_get_with_a_plugin_folder_still_reports_a_clash(tmp_path, monkeypatch):
    """With DAGBENCH_PLUGIN_DIRS set, a job's lookup scans every file as before: a plugin
    folder's ``empty`` beside the built-in one is an error naming both files."""
    folder = tmp_path / "plugins" / "methods"
    folder.mkdir(parents=True)
    (folder / "empty.py").write_text(
        "from methods.base import Method\n\nclass Mine(Method):\n    name = 'empty'\n    defaults = {}\n")
    monkeypatch.setenv("DAGBENCH_PLUGIN_DIRS", str(tmp_path / "plugins"))
    from methods.base import get

    with pytest.raises(PluginError, match="two method plugins are named 'empty'"):
        get("empty")


def test_dataset_problems_still_refuse_a_non_binary_graph():
    rng = np.random.default_rng(6)
    g = np.zeros((3, 3), dtype=np.int8)
    g[0, 1] = 2
    ds = Dataset(x=rng.normal(size=(20, 3)), x_heldout=rng.normal(size=(5, 3)), g_true=g)
    assert ds.problems() == ["g_true has entries other than 0 and 1"]
