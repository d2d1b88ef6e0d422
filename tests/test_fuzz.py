"""Config and data fuzzing: bad input always ends in a clear error of our own type
(ConfigError, DataError, PluginError) that names the bad thing, never a traceback from
deep inside numpy, jsonschema or pandas."""
import copy

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dagbench.config import ConfigError, load_plan
from dagbench.plugins import PluginError
from simulators.base import DataError, Dataset

VALID = {
    "seeds": 2,
    "timeout_s": 60,
    "settings": [{"simulator": "linear", "params": {"d": 5, "n": 50}}],
    "methods": [{"method": "pc", "params": {"alpha": 0.05}}, {"method": "notears"}],
}
scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True),
                    st.text(max_size=8), st.lists(st.integers(-2, 2), max_size=3))
keys = st.sampled_from(["seeds", "timeout_s", "mem_mb", "threads", "settings", "methods", "results",
                        "simulator", "method", "params", "id", "bootstrap", "d", "n", "alpha",
                        "lambda1", "graph", "noise", "zzz"])


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(data=st.data())
def test_mutated_configs_fail_cleanly(data):
    cfg = copy.deepcopy(VALID)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = list(_paths(cfg))
        path = data.draw(st.sampled_from(paths))
        parent = cfg
        for p in path[:-1]:
            parent = parent[p]
        action = data.draw(st.sampled_from(["replace", "add", "delete"]))
        if not path:
            continue
        if action == "replace":
            parent[path[-1]] = data.draw(scalars)
        elif action == "add" and isinstance(parent, dict):
            parent[data.draw(keys)] = data.draw(scalars)
        elif action == "delete":
            del parent[path[-1]]
    try:
        load_plan(cfg)
    except ConfigError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(n=st.integers(0, 6), d=st.integers(1, 4), m=st.integers(0, 3), gd=st.integers(0, 5),
       poison=st.sampled_from([None, np.nan, np.inf, -np.inf, "constant"]))
def test_malformed_datasets_are_described_not_crashed(n, d, m, gd, poison):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, d))
    if poison == "constant" and n:
        x[:, 0] = 1.0
    elif poison is not None and n:
        x[rng.integers(n), rng.integers(d)] = poison
    ds = Dataset(x=x, x_heldout=rng.normal(size=(m, d)), g_true=np.zeros((gd, gd)))
    problems = ds.problems()
    assert all(isinstance(p, str) for p in problems)
    if gd != d:
        assert any(f"data has d = {d}" in p for p in problems)
    if poison in (np.nan, np.inf, -np.inf) and n:
        assert any("non-finite" in p for p in problems)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          derandomize=True)
@given(text=st.text(alphabet="ab,01.\n-xe ", max_size=60))
def test_random_csv_files_fail_cleanly(tmp_path, text):
    from simulators.csv_file import CsvDataset
    path = tmp_path / "fuzz.csv"
    path.write_text(text)
    try:
        ds = CsvDataset(path=str(path)).simulate(seed=0)
    except (DataError, PluginError) as exc:
        assert "fuzz.csv" in str(exc)
    else:
        assert ds.problems() == []


@pytest.mark.parametrize("params", [{"d": "ten"}, {"noise": "gauss"}, {"n": -1}, {"nn": 3}])
def test_bad_simulator_params_name_the_parameter(params):
    from simulators.base import get
    with pytest.raises(PluginError) as info:
        get("linear")(**params)
    assert f"'{next(iter(params))}'" in str(info.value) and "simulator 'linear'" in str(info.value)
