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


# -- ids (issue 13, item 5): every id either names a file safely or is one config problem ----

ID_PIECES = list("ab09_.,=+-[]{}:!/ \n\t\r\x00é") + ["{d}", "{n}", "{d.x}", "{d[0]}", "{graph}", "{0}",
                                                     "{d:>3}", "{bootstrap}", "{n!r}"]
ID_TEXT = st.lists(st.sampled_from(ID_PIECES), max_size=8).map("".join)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(setting_id=st.one_of(st.none(), ID_TEXT), method_id=st.one_of(st.none(), ID_TEXT),
       grid=st.booleans())
def test_fuzzed_ids_and_id_templates_are_safe_or_one_config_error(setting_id, method_id, grid):
    from dagbench.config import SAFE_ID

    cfg = copy.deepcopy(VALID)
    if grid:
        cfg["settings"][0]["params"]["d"] = [4, 5]
    if setting_id is not None:
        cfg["settings"][0]["id"] = setting_id
    if method_id is not None:
        cfg["methods"][0]["id"] = method_id
    try:
        plan = load_plan(cfg)
    except ConfigError as exc:
        assert exc.problems and all(isinstance(p, str) and "\n" not in p for p in exc.problems), exc.problems
    else:
        for ident in [*plan.settings, *plan.methods]:
            assert SAFE_ID.fullmatch(ident) and ident == ident.strip() and "/" not in ident, repr(ident)


@pytest.mark.parametrize("template, fragment", [
    ("lin\n", "id 'lin\\n' is not safe as a file name"),
    ("{d.nope}", "template '{d.nope}' does not fit the parameters (AttributeError"),
    ("{d[0]}", "template '{d[0]}' does not fit the parameters (TypeError"),
    ("{nope}", "template '{nope}' does not fit the parameters (KeyError"),
])
def test_a_bad_id_is_one_config_problem(template, fragment):
    cfg = copy.deepcopy(VALID)
    cfg["settings"][0]["id"] = template
    with pytest.raises(ConfigError) as info:
        load_plan(cfg)
    assert any(p.startswith("settings[0]") and fragment in p for p in info.value.problems), info.value.problems


# -- graph files (issue 13, item 5): refused naming the file, or read as a DAG ---------------

GRAPH = "a,b,c\n0,1,0\n0,0,1\n0,0,0\n"


@pytest.fixture(scope="module")
def data_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("graphfuzz") / "data.csv"
    x = np.random.default_rng(0).normal(size=(30, 3))
    path.write_text("a,b,c\n" + "\n".join(",".join(f"{v:.6f}" for v in row) for row in x) + "\n")
    return path


def _graph_outcome(data_csv, content: bytes):
    """Read ``content`` as the graph file of a csv setting as the workflow does: the check
    when the workflow starts, then the simulate step. Never anything but DataError naming
    the graph file, or a dataset with a DAG."""
    from dagbench.graphs import is_dag
    from simulators.csv_file import CsvDataset, _header_problem

    graph = data_csv.parent / "truth.csv"
    graph.write_bytes(content)
    problem = _header_problem(graph)
    if problem:
        assert isinstance(problem, str)
        return "refused at start"
    try:
        ds = CsvDataset(path=str(data_csv), graph_path=str(graph)).simulate(seed=0)
    except (DataError, PluginError) as exc:
        assert "truth.csv" in str(exc), str(exc)
        return "data_error"
    assert ds.problems() == [] and is_dag(ds.g_true)
    return "read"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          derandomize=True)
@given(text=st.text(alphabet='ab c01,.\n"x-e\t;\r#', max_size=50))
def test_random_graph_files_fail_cleanly(data_csv, text):
    _graph_outcome(data_csv, text.encode())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          derandomize=True)
@given(edits=st.lists(st.tuples(st.sampled_from(["set", "insert", "delete"]), st.floats(0, 1, exclude_max=True),
                                st.sampled_from(list(b'ab01,."\n\r x\xff\x00-2'))), min_size=1, max_size=4))
def test_mutated_graph_files_fail_cleanly(data_csv, edits):
    content = bytearray(GRAPH.encode())
    for op, where, byte in edits:
        k = int(where * len(content)) if content else 0
        if op == "set" and content:
            content[k] = byte
        elif op == "insert":
            content.insert(k, byte)
        elif op == "delete" and content:
            del content[k]
    _graph_outcome(data_csv, bytes(content))
