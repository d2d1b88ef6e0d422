"""The fit step always ends in a record: ok, failed, timeout or skipped."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dagbench import runner
from dagbench.plugins import EXTRA_DIRS_ENV
from simulators.base import Dataset

FAULTS = Path(__file__).resolve().parent / "plugins"  # tests/plugins/methods/faults.py
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def data_path(tmp_path, monkeypatch):
    monkeypatch.setenv(EXTRA_DIRS_ENV, str(FAULTS))
    rng = np.random.default_rng(0)
    ds = Dataset(x=rng.normal(size=(30, 4)), x_heldout=rng.normal(size=(10, 4)),
                 g_true=np.zeros((4, 4), dtype=np.int8))
    path = tmp_path / "data" / "s" / "seed0.npz"
    ds.save(path)
    return path


def run(name, data_path, tmp_path, timeout=60.0, mem_mb=0):
    spec = {"id": name, "method": name, "params": {}, "timeout_s": timeout, "mem_mb": mem_mb}
    out = tmp_path / f"{name}.json"
    record = runner.fit(spec, data=data_path, seed=0, out=out)
    assert json.loads(out.read_text()) == json.loads(json.dumps(record))
    return record, out


def holds_no_arrays(out) -> bool:
    """The arrays file of a fit that is not ok: there (an output of the rule), but empty."""
    with np.load(runner.fit_arrays_path(out)) as f:
        return f.files == []


def test_ok_fit_writes_arrays(data_path, tmp_path):
    record, out = run("empty", data_path, tmp_path)
    assert record["status"] == "ok"
    assert runner.fit_arrays_path(out).exists()


def test_exception_becomes_failed_record(data_path, tmp_path):
    record, out = run("fault_raises", data_path, tmp_path)
    assert record["status"] == "failed"
    assert record["reason"] == "RuntimeError: boom in fit"
    assert holds_no_arrays(out)


def test_hang_is_killed_at_the_timeout(data_path, tmp_path):
    t0 = time.perf_counter()
    record, _ = run("fault_hangs", data_path, tmp_path, timeout=2.0)
    assert record["status"] == "timeout"
    assert time.perf_counter() - t0 < 30


@pytest.mark.parametrize("name,fragment", [
    ("fault_cyclic", "have a cycle"),
    ("fault_wrong_shape", "graphs has shape (1, 5, 5)"),
    ("fault_nan", "weights has NaN"),
    ("fault_bad_probs", "edge_probs has values outside [0, 1]"),
])
def test_invalid_output_is_failed_naming_the_method(data_path, tmp_path, name, fragment):
    record, out = run(name, data_path, tmp_path)
    assert record["status"] == "failed"
    assert f"method '{name}'" in record["reason"] and fragment in record["reason"]
    assert holds_no_arrays(out)


def test_skip_is_recorded_with_the_reason(data_path, tmp_path):
    record, _ = run("fault_skips", data_path, tmp_path)
    assert record["status"] == "skipped" and record["reason"] == "needs interventional data"


def test_memory_limit_is_recorded_as_failed(data_path, tmp_path):
    record, _ = run("fault_memory", data_path, tmp_path, mem_mb=1500)
    assert record["status"] == "failed"
    assert "memory limit of 1500 MB exceeded" in record["reason"]


def test_a_crashing_process_is_recorded_as_failed(data_path, tmp_path):
    # Run as a workflow job runs it (`python -m dagbench fit`), in a process of its own
    # whose output is captured: a fit child forked from pytest itself would inherit
    # pytest's faulthandler, whose dump of every thread and extension module (some 200
    # lines) is written to the terminal past pytest's output capture.
    spec = {"id": "fault_segfault", "method": "fault_segfault", "params": {}, "timeout_s": 60}
    out = tmp_path / "fault_segfault.json"
    proc = subprocess.run([sys.executable, "-m", "dagbench", "fit", "--spec", json.dumps(spec),
                           "--data", str(data_path), "--seed", "0", "--out", str(out)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]  # a crashing method never fails the job
    record = json.loads(out.read_text())
    assert record["status"] == "failed"
    assert "SIGSEGV" in record["reason"]
    assert "fault_segfault" in proc.stderr and "SIGSEGV" in proc.stderr  # the job log's line
    assert holds_no_arrays(out)


def test_too_few_rows_for_the_method_is_named(tmp_path):
    rng = np.random.default_rng(0)
    ds = Dataset(x=rng.normal(size=(5, 4)), x_heldout=rng.normal(size=(3, 4)),
                 g_true=np.zeros((4, 4), dtype=np.int8))
    ds.save(tmp_path / "small.npz")
    record, _ = run("pc", tmp_path / "small.npz", tmp_path)
    assert record["status"] == "failed"
    assert "method 'pc' needs at least 6 training rows for d = 4" in record["reason"]
    assert "has 5" in record["reason"]


def test_an_invalid_data_file_is_named(tmp_path):
    x = np.random.default_rng(0).normal(size=(20, 3))
    x[2, 1] = np.nan
    ds = Dataset(x=x, x_heldout=np.ones((4, 3)), g_true=np.zeros((2, 2), dtype=np.int8))
    ds.save(tmp_path / "broken.npz")
    record, _ = run("empty", tmp_path / "broken.npz", tmp_path)
    assert record["status"] == "data_error"  # a data problem, not the method's
    assert "broken.npz is invalid" in record["reason"]
    assert "g_true has shape (2, 2) but the data has d = 3" in record["reason"]
    assert "non-finite" in record["reason"]


def test_interventional_rows_go_only_to_methods_that_model_them(tmp_path):
    from simulators.base import get as get_simulator

    ds = get_simulator("linear")(d=4, n=80, n_interv_nodes=2, n_interv_rows=20,
                                 edges_per_node=1.0).simulate(seed=0)
    assert ds.n == 120 and ds.is_interventional
    ds.save(tmp_path / "interv.npz")
    record, _ = run("pc", tmp_path / "interv.npz", tmp_path)
    assert record["status"] == "ok"
    assert record["rows_used"] == "observational only" and record["n_fit_rows"] == 80
    spec = {"id": "dibs", "method": "dibs_bge", "params": {"steps": 5, "n_particles": 2},
            "timeout_s": 120}
    record = runner.fit(spec, data=tmp_path / "interv.npz", seed=0, out=tmp_path / "dibs.json")
    assert record["status"] == "ok"
    assert record["rows_used"] == "all" and record["n_fit_rows"] == 120


def _sigint_live():
    """In the job process to be interrupted: Ctrl-C as in a terminal, even when these tests
    run where SIGINT is ignored (a background or nohup'ed pytest passes SIG_IGN down, and
    Python then keeps ignoring it)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_an_interrupted_fit_job_takes_its_fit_process_down(data_path, tmp_path):
    """Ctrl-C reaches the job, not the fit's child (its own process group); the job used
    to wait at exit for that child, forever for a hanging method."""
    spec = {"id": "fault_hangs", "method": "fault_hangs", "params": {}, "timeout_s": 300}
    proc = subprocess.Popen([sys.executable, "-m", "dagbench", "fit", "--spec", json.dumps(spec), "--data",
                             str(data_path), "--seed", "0", "--out", str(tmp_path / "hang.json")],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=_sigint_live)
    _interrupt_once_fitting(proc)


def _interrupt_once_fitting(proc) -> None:
    """Ctrl-C to the job ``proc`` once its fit child runs; the job must end within 30 s
    and take the child with it."""
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    if not children.exists():
        pytest.skip("needs Linux /proc to see the fit's child")
    deadline = time.time() + 120
    while time.time() < deadline and not children.read_text().split():
        time.sleep(0.2)
    child = int(children.read_text().split()[0])
    time.sleep(1)  # the child is running the method
    proc.send_signal(2)  # SIGINT
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        os.kill(child, 9)
        raise AssertionError("the interrupted job waited for its fit") from None
    deadline = time.time() + 10
    while time.time() < deadline and _running(child):
        time.sleep(0.2)
    assert not _running(child)


def _running(pid: int) -> bool:
    try:  # a zombie (dead, not yet reaped by whoever adopted it) is not running
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("step", ["simulate", "fit"])
def test_an_unknown_plugin_name_by_hand_is_an_error_not_a_record(tmp_path, data_path, step):
    """A misspelt simulator or method on the command line is the caller's mistake: exit 1
    with one line naming it and the known names, and no output that a later step would
    take for a recorded data problem or a failed method."""
    if step == "simulate":
        args = ["--spec", json.dumps({"id": "x", "simulator": "linaer", "params": {}}),
                "--seed", "0", "--out", str(tmp_path / "x.npz")]
    else:
        spec = {"id": "x", "method": "pcc", "params": {}, "bootstrap": 0, "timeout_s": 10,
                "mem_mb": 0, "threads": 1}
        args = ["--spec", json.dumps(spec), "--data", str(data_path), "--seed", "0",
                "--out", str(tmp_path / "x.json")]
    proc = subprocess.run([sys.executable, "-m", "dagbench", step, *args], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent)
    kind, name = ("simulator", "linaer") if step == "simulate" else ("method", "pcc")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith(f"PluginError: unknown {kind} '{name}' (known: ")
    assert not list(tmp_path.glob("x.*"))


def test_a_ctrl_c_taken_by_another_thread_still_stops_the_fit_job(data_path, tmp_path):
    """The kernel may hand SIGINT to any thread of the job (an imported library's); the
    job's main thread, waiting for the fit, must still notice it at once (it used to
    notice only when its wait for the fit's timeout ended)."""
    code = (
        "import signal, sys, threading, time\n"
        "threading.Thread(target=lambda: time.sleep(1e6), daemon=True).start()\n"
        "signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT])  # the kernel picks the other thread\n"
        "from dagbench import runner\n"
        "spec = {'id': 'fault_hangs', 'method': 'fault_hangs', 'params': {}, 'timeout_s': 300}\n"
        "runner.fit(spec, data=sys.argv[1], seed=0, out=sys.argv[2])\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(data_path), str(tmp_path / "hang.json")],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=_sigint_live)
    _interrupt_once_fitting(proc)
