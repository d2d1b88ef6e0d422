"""Writing a plugin: the templates copied under a new name work as plugins, the contract
tests check a plugin kept in a DAGBENCH_PLUGIN_DIRS folder (with the README's command),
``python -m dagbench list`` shows every plugin with its defaults and every broken one
with its error, and plugin names never clash silently.

Run: python -m pytest tests/test_plugin_authoring.py -q   (about 15 s, mostly subprocesses)
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dagbench.graphs import is_dag
from dagbench.plugins import EXTRA_DIRS_ENV, PluginError
from simulators.base import Dataset

ROOT = Path(__file__).resolve().parents[1]


def plugin_dir(root: Path, files: dict[str, str]) -> Path:
    """A plugin folder under ``root`` holding ``files`` ({"methods/x.py": source, ...})."""
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def copy_template(kind: str, new_name: str) -> str:
    """The source of ``<kind>/_template.py`` with its plugin ``name`` replaced."""
    text = (ROOT / kind / "_template.py").read_text()
    old = {"methods": 'name = "corr_threshold"', "simulators": 'name = "example_linear"'}[kind]
    assert text.count(old) == 1, f"{kind}/_template.py no longer says {old}"
    return text.replace(old, f'name = "{new_name}"')


def run(args: list[str], dirs: list[Path] | None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``args`` run from the repository root with DAGBENCH_PLUGIN_DIRS = ``dirs``."""
    env = {k: v for k, v in os.environ.items() if k != EXTRA_DIRS_ENV}
    if dirs:
        env[EXTRA_DIRS_ENV] = os.pathsep.join(map(str, dirs))
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)


def dagbench(*args: str, dirs: list[Path] | None = None) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "dagbench", *args], dirs)


def block(listing: str, name: str) -> str:
    """The lines ``python -m dagbench list`` prints for the plugin called ``name``."""
    start = listing.index(f"\n  {name}  ")
    end = listing.find("\n\n  ", start + 1)
    return listing[start:end if end > 0 else None]


# ---------------------------------------------------------------- templates

def test_simulator_template_copied_runs_through_the_cli_and_passes_the_contract_tests(tmp_path):
    plugins = plugin_dir(tmp_path / "plugins", {"simulators/my_sim.py": copy_template("simulators", "my_sim")})
    out = tmp_path / "data" / "mine" / "seed0.npz"
    spec = {"id": "mine", "simulator": "my_sim",
            "params": {"d": 6, "n": 80, "n_heldout": 30, "interv_nodes": [0, 4], "n_interv_rows": 20}}
    proc = dagbench("simulate", "--spec", json.dumps(spec), "--seed", "0", "--out", str(out), dirs=[plugins])
    assert proc.returncode == 0, proc.stderr
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar.get("status") != "data_error", sidecar   # simulate records failures, never raises
    ds = Dataset.load(out)
    assert ds.problems() == [] and is_dag(ds.g_true)
    assert ds.x.shape == (80 + 2 * 20, 6) and ds.x_heldout.shape == (30, 6)
    assert ds.meta["simulator"] == "my_sim" and ds.meta["setting"] == "mine" and ds.meta["standardised"]
    # the interventional rows come after the observational ones, each marking its node
    assert not ds.interv_mask[:80].any()
    assert ds.interv_mask[80:100, 0].all() and ds.interv_mask[100:, 4].all()
    assert ds.interv_mask.sum() == 40 and not ds.interv_mask_heldout.any()
    np.testing.assert_allclose(ds.x[:80].mean(axis=0), 0, atol=1e-9)   # standardised by the harness,
    np.testing.assert_allclose(ds.x[:80].std(axis=0), 1, atol=1e-9)    # on the observational rows
    assert np.ptp(ds.x[80:100, 0]) == 0                                 # clamped to one value
    assert np.array_equal(ds.params_true["weights"] != 0, ds.g_true == 1)

    # the README's contract-test command, on the plugin in its own folder
    proc = run([sys.executable, "-m", "pytest", "tests/test_simulators.py", "-k", "my_sim", "-q",
                "-p", "no:cacheprovider"], [plugins])
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "2 passed" in proc.stdout  # the dataset contract and the same-seed determinism test


def test_simulator_template_checks_its_parameters(tmp_path, monkeypatch):
    plugins = plugin_dir(tmp_path / "plugins", {"simulators/my_sim.py": copy_template("simulators", "my_sim")})
    monkeypatch.setenv(EXTRA_DIRS_ENV, str(plugins))
    from simulators.base import get

    cls = get("my_sim")
    with pytest.raises(PluginError, match=r"interv_nodes.*\[7\] are not node indices 0 \.\. d - 1 = 4"):
        cls(d=5, interv_nodes=[1, 7])
    with pytest.raises(PluginError, match="'noise_sd' = 0"):
        cls(noise_sd=0)
    with pytest.raises(PluginError, match="'graph' = 'ring' is not one of"):
        cls(graph="ring")
    a, b = cls(d=5).simulate(seed=3), cls(d=5).simulate(seed=3)
    assert a.x.tobytes() == b.x.tobytes()                 # the same seed, the same data
    assert cls(d=5, n_heldout=7).simulate(seed=3).x.tobytes() == a.x.tobytes()  # own streams


def test_a_method_in_a_plugin_dir_is_checked_by_the_contract_tests(tmp_path):
    cyclic = ('import numpy as np\nfrom methods.base import GraphPosterior, Method\n\n\n'
              'class Loops(Method):\n    """Returns a 2-cycle: breaks the contract."""\n'
              '    name = "my_loops"\n\n    def fit(self, data, *, seed):\n'
              '        g = np.zeros((data.d, data.d), dtype=np.int8)\n        g[0, 1] = g[1, 0] = 1\n'
              '        return GraphPosterior(graphs=g)\n')
    plugins = plugin_dir(tmp_path / "plugins", {"methods/my_method.py": copy_template("methods", "my_method"),
                                                "methods/loops.py": cyclic})
    proc = run([sys.executable, "-m", "pytest", "tests/test_methods.py", "-k", "my_method", "-q",
                "-p", "no:cacheprovider"], [plugins])
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "1 passed" in proc.stdout
    proc = run([sys.executable, "-m", "pytest", "tests/test_methods.py", "-k", "my_loops", "-q",
                "-p", "no:cacheprovider"], [plugins])
    assert proc.returncode == 1 and "1 failed" in proc.stdout, proc.stdout[-3000:]


# ---------------------------------------------------------------- python -m dagbench list

def test_list_shows_plugin_dir_and_builtin_plugins_with_their_defaults(tmp_path):
    from methods.ges import GES
    from simulators.linear import LinearSimulator

    plugins = plugin_dir(tmp_path / "plugins", {"methods/my_method.py": copy_template("methods", "my_method")})
    proc = dagbench("list", dirs=[plugins])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = proc.stdout
    assert f"{EXTRA_DIRS_ENV}: {plugins}" in text
    mine = block(text, "my_method")
    assert f"{plugins / 'methods' / 'my_method.py'}  [{EXTRA_DIRS_ENV} {plugins}]" in mine
    assert "One line saying what the method is (shown when plugins are listed)." in mine
    assert "threshold: float = 0.3" in mine and "fit_weights: bool = True" in mine
    ges, linear = block(text, "ges"), block(text, "linear")
    assert "methods/ges.py  [built-in]" in ges and "Greedy equivalence search" in ges
    assert "score: str = 'bic'" in ges and "lambda_value: float = 0.5" in ges
    assert "max_parents: any = None" in ges
    assert "simulators/linear.py  [built-in]" in linear
    assert "d: int = 20" in linear and "edges_per_node: float = 2.0" in linear
    assert "graph: str = 'er'  (one of 'er', 'sf', " in linear
    for cls, listed in ((GES, ges), (LinearSimulator, linear)):  # every parameter, as declared
        for key, default in cls.defaults.items():
            assert f"\n      {key}: " in listed and f" = {default!r}" in listed, key
    assert "corr_threshold" not in text and "example_linear" not in text  # templates are skipped

    only = dagbench("list", "simulators", dirs=[plugins]).stdout
    assert "\n  linear  " in only and "\n  ges  " not in only and "my_method" not in only


def test_a_broken_plugin_is_listed_with_its_error_and_stops_the_registry(tmp_path, monkeypatch):
    plugins = plugin_dir(tmp_path / "plugins", {
        "methods/broken.py": "import not_a_module_xyz  # a dependency that is not installed\n",
        "methods/my_method.py": copy_template("methods", "my_method")})
    proc = dagbench("list", "methods", dirs=[plugins])
    assert proc.returncode == 1
    assert (f"! could not import {plugins / 'methods' / 'broken.py'} [{EXTRA_DIRS_ENV} {plugins}]: "
            "ModuleNotFoundError: No module named 'not_a_module_xyz'") in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "\n  my_method  " in proc.stdout and "\n  ges  " in proc.stdout  # the rest is still listed

    monkeypatch.setenv(EXTRA_DIRS_ENV, str(plugins))
    from methods.base import registry

    with pytest.raises(PluginError, match=r"could not import plugin file .*broken\.py.*not_a_module_xyz"):
        registry()


# ---------------------------------------------------------------- DAGBENCH_PLUGIN_DIRS

SAME_NAME_AS_GES = ('from methods.base import Method\n\n\nclass MyGES(Method):\n'
                    '    """A ges of my own."""\n    name = "ges"\n')


def test_a_plugin_named_like_a_builtin_is_an_error_naming_both_files(tmp_path, monkeypatch):
    plugins = plugin_dir(tmp_path / "plugins", {"methods/ges.py": SAME_NAME_AS_GES})
    monkeypatch.setenv(EXTRA_DIRS_ENV, str(plugins))
    from dagbench.config import ConfigError, load_plan
    from methods.base import registry

    with pytest.raises(PluginError) as info:
        registry()
    message = str(info.value)
    assert "two method plugins are named 'ges'" in message
    assert str(ROOT / "methods" / "ges.py") in message and str(plugins / "methods" / "ges.py") in message
    assert "class MyGES" in message and "class GES" in message

    # the workflow's config check stops with the same message before any job
    config = {"seeds": 1, "settings": [{"simulator": "linear", "params": {"d": 5}}],
              "methods": [{"method": "ges"}]}
    with pytest.raises(ConfigError, match="two method plugins are named 'ges'"):
        load_plan(config)

    proc = dagbench("list", "methods", dirs=[plugins])
    assert proc.returncode == 1 and "! two method plugins are named 'ges'" in proc.stdout


def test_several_plugin_dirs_may_hold_files_of_the_same_name(tmp_path, monkeypatch):
    one = ('from methods.empty import Empty\n\n\nclass A(Empty):\n    name = "{}"\n')
    a = plugin_dir(tmp_path / "a", {"methods/mine.py": one.format("mine_a")})
    b = plugin_dir(tmp_path / "b", {"methods/mine.py": one.format("mine_b")})
    monkeypatch.setenv(EXTRA_DIRS_ENV, f"{a}{os.pathsep}{b}{os.pathsep}")  # a trailing separator is fine
    from methods.base import registry

    found = registry()
    assert {"mine_a", "mine_b", "ges"} <= set(found)
    assert found["mine_a"] is not found["mine_b"]

    c = plugin_dir(tmp_path / "c", {"methods/other.py": one.format("mine_a")})  # the same name again
    monkeypatch.setenv(EXTRA_DIRS_ENV, f"{a}{os.pathsep}{c}")
    with pytest.raises(PluginError, match=r"named 'mine_a'.*/a/methods/mine\.py.*/c/methods/other\.py"):
        registry()


@pytest.mark.parametrize("entry, fragment", [
    ("missing", "which is not a folder"),
    ("plugins/methods", "has no methods/ or simulators/ sub-folder; name the folder above it instead"),
])
def test_a_plugin_dirs_entry_that_is_no_plugin_folder_is_an_error(tmp_path, monkeypatch, entry, fragment):
    plugin_dir(tmp_path / "plugins", {"methods/my_method.py": copy_template("methods", "my_method")})
    monkeypatch.setenv(EXTRA_DIRS_ENV, str(tmp_path / entry))
    from methods.base import registry

    with pytest.raises(PluginError, match=fragment):
        registry()
