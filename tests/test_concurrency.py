"""Two runs on one results folder (issue 13, item 1): fits of one output in two processes
never take or delete each other's result, and a second workflow run on a results folder
that a live run holds is refused at start, naming the folder and that run, while a
killed run's lock does not block."""
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from dagbench import run_lock
from dagbench.io import file_sha256
from dagbench.plugins import EXTRA_DIRS_ENV
from simulators.base import Dataset
from workflow_helpers import FAULT_PLUGINS, ROOT, run_snakemake, snakemake_cmd

# A method whose fits end on a whole multiple of `period` seconds of the clock, so that
# fits started together finish together: the moment when a shared scratch file was lost.
TOGETHER = textwrap.dedent('''
    import time

    import numpy as np

    from methods.base import GraphPosterior, Method


    class FinishTogether(Method):
        name = "finish_together"
        defaults = {"period": 3.0}

        def fit(self, data, *, seed):
            period = self.params["period"]
            time.sleep(period - time.time() % period)
            return GraphPosterior(graphs=np.zeros((1, data.d, data.d), dtype=np.int8), weights=np.ones(1))
''')


def test_fits_of_one_output_in_several_processes_keep_their_results(tmp_path):
    plugins = tmp_path / "plugins" / "methods"
    plugins.mkdir(parents=True)
    (plugins / "together.py").write_text(TOGETHER)
    rng = np.random.default_rng(0)
    data = tmp_path / "data" / "s" / "seed0.npz"
    Dataset(x=rng.normal(size=(30, 4)), x_heldout=rng.normal(size=(10, 4)),
            g_true=np.zeros((4, 4), dtype=np.int8)).save(data)
    out = tmp_path / "fits" / "s" / "seed0" / "together.json"
    spec = json.dumps({"id": "together", "method": "finish_together", "params": {}, "timeout_s": 120})
    cmd = [sys.executable, "-m", "dagbench", "fit", "--spec", spec, "--data", str(data), "--seed", "0",
           "--out", str(out)]
    env = {**os.environ, EXTRA_DIRS_ENV: str(tmp_path / "plugins")}
    for attempt in range(3):
        procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(3)]
        outputs = [p.communicate(timeout=120) for p in procs]
        for p, (_, err) in zip(procs, outputs):
            assert p.returncode == 0, err[-2000:]
            assert "died" not in err and "failed" not in err, err[-2000:]  # each got its own result
        record = json.loads(out.read_text())
        assert record["status"] == "ok", (attempt, record)
        arrays = out.with_suffix(".npz")
        assert arrays.exists() and file_sha256(arrays) == record["arrays_sha256"]
    assert not [f.name for f in out.parent.iterdir() if f.name.startswith(".")]  # no scratch left


LINEAR = {"id": "lin", "simulator": "linear", "params": {"d": 4, "n": 40, "n_heldout": 20, "edges_per_node": 1.0}}


def test_a_second_run_on_a_busy_results_folder_is_refused_and_a_killed_runs_lock_is_not(tmp_path):
    shared = tmp_path / "shared-results"
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    lock = shared / run_lock.LOCK_NAME
    # the first run: a fit that hangs keeps it running
    hangs = {"seeds": 1, "results": str(shared), "settings": [LINEAR],
             "methods": [{"method": "fault_hangs", "timeout_s": 600}]}
    proc = subprocess.Popen(snakemake_cmd(first, hangs, "all"), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, EXTRA_DIRS_ENV: str(FAULT_PLUGINS)})
    try:
        deadline = time.time() + 300
        while time.time() < deadline and not (shared / "logs" / "fit").exists():
            time.sleep(0.5)
        assert lock.exists(), "the first run should hold the results folder"
        holder = json.loads(lock.read_text())
        assert holder["pid"] == proc.pid and holder["workdir"] == str(first)

        tiny = {"seeds": 1, "results": str(shared), "settings": [LINEAR], "methods": [{"method": "empty"}]}
        refused = run_snakemake(second, tiny, "all", check=False)
        assert refused.returncode == 1
        message = next(ln for ln in refused.stderr.splitlines() if ln.startswith("dagbench: the results"))
        assert f"the results folder {shared} is in use by another run" in message
        assert f"pid {proc.pid} on host {socket.gethostname()}" in message
        assert f"working directory {first}" in message
        assert "Traceback" not in refused.stderr
        assert not (shared / "fits" / "lin" / "seed0" / "empty.json").exists()  # no job ran
        assert json.loads(lock.read_text())["pid"] == proc.pid  # and the lock is still the first run's

        # a dry run reads only: it is neither refused nor takes the lock
        assert run_snakemake(second, tiny, "all", "-n").returncode == 0
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # killed: no chance to remove its lock
        proc.wait()
    assert lock.exists()
    done = run_snakemake(second, tiny, "all")
    assert "taking over the results folder" in done.stderr and f"process {proc.pid} is not running" in done.stderr
    assert (shared / "tables" / "scores.csv").exists()
    assert not lock.exists()  # released at the end of the run


# -- when a lock is stale -------------------------------------------------------------------

def _holder(**kw):
    return {"pid": os.getpid(), "host": socket.gethostname(), "boot_id": run_lock._boot_id(),
            "pid_ns": run_lock._pid_namespace(), "pid_start": run_lock._start_time(os.getpid()), **kw}


def test_a_live_lock_of_this_host_is_not_stale_however_old():
    assert run_lock.stale_reason(_holder(), age_s=10 * run_lock.STALE_AFTER_S) is None


def test_a_dead_or_reused_pid_or_a_reboot_makes_a_lock_of_this_host_stale():
    dead = subprocess.Popen(["true"])
    dead.wait()
    assert "not running" in run_lock.stale_reason(_holder(pid=dead.pid), age_s=0)
    if run_lock._start_time(os.getpid()) is not None:  # Linux: the pid now runs another program
        assert "another program" in run_lock.stale_reason(_holder(pid_start="1"), age_s=0)
    if run_lock._boot_id() is not None:
        assert "restarted" in run_lock.stale_reason(_holder(boot_id="another-boot"), age_s=0)


@pytest.mark.parametrize("where", [{"host": "elsewhere.example"}, {"pid_ns": "pid:[1]"}],
                         ids=["another-host", "another-container"])
def test_a_lock_of_another_host_or_container_is_stale_only_once_its_heartbeat_stops(where):
    dead = subprocess.Popen(["true"])
    dead.wait()
    other = _holder(pid=dead.pid, **where)  # a pid that means nothing here
    if "pid_ns" in where and run_lock._pid_namespace() is None:
        pytest.skip("no PID namespaces here")
    assert run_lock.stale_reason(other, age_s=run_lock.STALE_AFTER_S - 60) is None
    assert "another host or container" in run_lock.stale_reason(other, age_s=run_lock.STALE_AFTER_S + 60)


def test_acquire_refuses_a_live_holder_and_takes_over_a_stale_one(tmp_path, capsys):
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        path = tmp_path / run_lock.LOCK_NAME
        path.write_text(json.dumps(_holder(pid=sleeper.pid, pid_start=run_lock._start_time(sleeper.pid),
                                           workdir="/somewhere/else", started="earlier", command="snakemake x")))
        with pytest.raises(run_lock.ResultsFolderBusy, match=f"results folder {tmp_path} is in use by another "
                                                             f"run \\(pid {sleeper.pid} on host"):
            run_lock.acquire(tmp_path)
    finally:
        sleeper.kill()
        sleeper.wait()
    lock = run_lock.acquire(tmp_path)  # the holder is gone now
    assert "taking over" in capsys.readouterr().err
    assert json.loads(path.read_text())["pid"] == os.getpid()
    with pytest.raises(run_lock.ResultsFolderBusy):  # this process holds it now
        run_lock.acquire(tmp_path)
    lock.release()
    assert not path.exists()
    run_lock.acquire(tmp_path).release()
