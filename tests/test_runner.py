"""The fit step always ends in a record: ok, failed, timeout or skipped."""
import json
import time

import numpy as np
import pytest

import methods.base as mbase
from dagbench import runner
from methods.base import GraphPosterior, Method
from simulators.base import Dataset


class Raises(Method):
    name = "t_raises"

    def fit(self, data, *, seed):
        raise RuntimeError("boom in fit")


class Hangs(Method):
    name = "t_hangs"

    def fit(self, data, *, seed):
        while True:  # a busy loop: no signal handler would get a chance
            np.linalg.svd(np.ones((50, 50)))


class Cyclic(Method):
    name = "t_cyclic"

    def fit(self, data, *, seed):
        g = np.zeros((data.d, data.d), dtype=np.int8)
        g[0, 1] = g[1, 0] = 1
        return GraphPosterior(graphs=g)


class WrongShape(Method):
    name = "t_wrong_shape"

    def fit(self, data, *, seed):
        return GraphPosterior(graphs=np.zeros((data.d + 1, data.d + 1), dtype=np.int8))


class NaNWeights(Method):
    name = "t_nan"

    def fit(self, data, *, seed):
        return GraphPosterior(graphs=np.zeros((2, data.d, data.d), dtype=np.int8),
                              weights=np.array([np.nan, 1.0]))


class Skips(Method):
    name = "t_skips"

    def skip(self, data):
        return "needs interventional data"


class Fine(Method):
    name = "t_fine"

    def fit(self, data, *, seed):
        return GraphPosterior(graphs=np.zeros((data.d, data.d), dtype=np.int8))


@pytest.fixture
def data_path(tmp_path, monkeypatch):
    fakes = {c.name: c for c in (Raises, Hangs, Cyclic, WrongShape, NaNWeights, Skips, Fine)}
    monkeypatch.setattr(mbase, "registry", lambda: fakes)  # inherited by the forked child
    rng = np.random.default_rng(0)
    ds = Dataset(x=rng.normal(size=(30, 4)), x_heldout=rng.normal(size=(10, 4)),
                 g_true=np.zeros((4, 4), dtype=np.int8))
    path = tmp_path / "data" / "s" / "seed0.npz"
    ds.save(path)
    return path


def run(name, data_path, tmp_path, timeout=60.0):
    spec = {"id": name, "method": name, "params": {}, "timeout_s": timeout}
    out = tmp_path / f"{name}.json"
    record = runner.fit(spec, data=data_path, seed=0, out=out)
    assert json.loads(out.read_text()) == json.loads(json.dumps(record))
    return record, out


def test_ok_fit_writes_arrays(data_path, tmp_path):
    record, out = run("t_fine", data_path, tmp_path)
    assert record["status"] == "ok"
    assert runner.fit_arrays_path(out).exists()


def test_exception_becomes_failed_record(data_path, tmp_path):
    record, out = run("t_raises", data_path, tmp_path)
    assert record["status"] == "failed"
    assert record["reason"] == "RuntimeError: boom in fit"
    assert not runner.fit_arrays_path(out).exists()


def test_hang_is_killed_at_the_timeout(data_path, tmp_path):
    t0 = time.perf_counter()
    record, _ = run("t_hangs", data_path, tmp_path, timeout=2.0)
    assert record["status"] == "timeout"
    assert time.perf_counter() - t0 < 30


@pytest.mark.parametrize("name,fragment", [
    ("t_cyclic", "have a cycle"),
    ("t_wrong_shape", "graphs has shape (1, 5, 5)"),
    ("t_nan", "weights has NaN"),
])
def test_invalid_output_is_failed_naming_the_method(data_path, tmp_path, name, fragment):
    record, out = run(name, data_path, tmp_path)
    assert record["status"] == "failed"
    assert f"method '{name}'" in record["reason"] and fragment in record["reason"]
    assert not runner.fit_arrays_path(out).exists()


def test_skip_is_recorded_with_the_reason(data_path, tmp_path):
    record, _ = run("t_skips", data_path, tmp_path)
    assert record["status"] == "skipped" and record["reason"] == "needs interventional data"
