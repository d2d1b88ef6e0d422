"""Reliability through the real workflow: injected faults end in records and take
nothing else down; a kill -9 of the whole workflow followed by the README's rerun
gives the same score table as an uninterrupted run; runs are deterministic."""
import json
import os
import signal
import subprocess
import time

import pandas as pd

from dagbench.plugins import EXTRA_DIRS_ENV
from workflow_helpers import FAULT_PLUGINS, TIMING_COLUMNS, run_snakemake, snakemake_cmd

SETTING = {"id": "lin-d{d}", "simulator": "linear",
           "params": {"d": 5, "n": 100, "n_heldout": 30, "edges_per_node": 1.0}}

FAULTS = {
    "fault_raises": ("failed", "RuntimeError: boom in fit"),
    "fault_hangs": ("timeout", "killed after the timeout of 5 s"),
    "fault_nan": ("failed", "weights has NaN"),
    "fault_wrong_shape": ("failed", "graphs has shape"),
    "fault_cyclic": ("failed", "have a cycle"),
    "fault_bad_probs": ("failed", "edge_probs has values outside [0, 1]"),
    "fault_memory": ("failed", "memory limit of 1500 MB exceeded"),
    "fault_segfault": ("failed", "SIGSEGV"),
    "fault_skips": ("skipped", "needs interventional data"),
}


def test_injected_faults_are_recorded_and_isolated(tmp_path):
    config = {
        "seeds": 1, "timeout_s": 120, "settings": [SETTING],
        "methods": [{"method": "empty"}, {"method": "pc"}]
                   + [{"method": name, **({"timeout_s": 5} if name == "fault_hangs" else {}),
                       **({"mem_mb": 1500} if name == "fault_memory" else {})} for name in FAULTS],
    }
    run_snakemake(tmp_path, config, "all", env={EXTRA_DIRS_ENV: str(FAULT_PLUGINS)})
    df = pd.read_csv(tmp_path / "results" / "tables" / "scores.csv").set_index("method_id")
    for name, (status, fragment) in FAULTS.items():
        assert df.loc[name, "status"] == status, (name, df.loc[name, "reason"])
        assert fragment in df.loc[name, "reason"], (name, df.loc[name, "reason"])
    # the healthy methods are untouched by their neighbours' faults
    assert df.loc["pc", "status"] == "ok" and df.loc["pc", "auroc"] > 0.5
    assert df.loc["empty", "e_shd"] == df.loc["empty", "n_edges_true"]
    summary = (tmp_path / "results" / "tables" / "summary.md").read_text()
    assert "| fault_raises | 0/1 |" in summary and summary.count(" | 1 | 0 |") == 8
    assert "| fault_skips | 0/1 |" in summary and " | 0 | 1 |" in summary
    assert (tmp_path / "results" / "figures" / "e_shd.png").exists()


KILL_CONFIG = {
    "seeds": 2, "timeout_s": 300, "settings": [SETTING],
    "methods": [{"method": "empty"}, {"method": "random_dag"}, {"method": "pc"},
                {"method": "ges", "bootstrap": 2}, {"method": "notears"},
                {"method": "dibs_bge", "params": {"steps": 60, "n_particles": 4}}],
}


def comparable(path):
    df = pd.read_csv(path)
    return df.drop(columns=[c for c in TIMING_COLUMNS if c in df.columns])


def test_kill_and_rerun_loses_nothing_and_runs_are_deterministic(tmp_path):
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    clean.mkdir(), killed.mkdir()
    run_snakemake(clean, KILL_CONFIG, "all")

    # kill -9 the whole workflow (snakemake and every job) once some fits are done
    proc = subprocess.Popen(snakemake_cmd(killed, KILL_CONFIG, "all"), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    fits = killed / "results" / "fits"
    deadline = time.time() + 300
    while time.time() < deadline and len(list(fits.rglob("*.json"))) < 4:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_at_kill = len(list(fits.rglob("*.json")))
    assert 4 <= done_at_kill < 12, "the kill should land mid-run"
    # no half-written file is left at a final path (writes go through a temp file + rename)
    for f in (killed / "results").rglob("*.json"):
        if not f.name.startswith("."):
            json.loads(f.read_text())

    # the README's recovery: unlock, then rerun with --rerun-incomplete
    run_snakemake(killed, KILL_CONFIG, "--unlock")
    run_snakemake(killed, KILL_CONFIG, "all", "--rerun-incomplete")
    a, b = comparable(clean / "results" / "tables" / "scores.csv"), comparable(killed / "results" / "tables" / "scores.csv")
    assert len(a) == 2 * 6 and (a["status"] == "ok").all(), a[["method_id", "reason"]]
    pd.testing.assert_frame_equal(a, b)
