"""dagbench on SLURM through profiles/slurm: the resources each job asks for, and runs on a
live cluster (scripts/local-slurm.sh starts a one-node one from Debian's packages).

The live tests run where `sinfo` answers with a usable node and the executor plugin is
installed; elsewhere they skip and say why. They read what SLURM itself recorded of each
job (`scontrol show job`), not what Snakemake meant to submit.
"""
import importlib.util
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml

from workflow_helpers import FAULT_PLUGINS, ROOT, TIMING_COLUMNS, run_snakemake, snakemake_cmd

PROFILE = ROOT / "profiles" / "slurm"
PLUGIN = importlib.util.find_spec("snakemake_executor_plugin_slurm") is not None
needs_plugin = pytest.mark.skipif(not PLUGIN, reason="snakemake-executor-plugin-slurm is not installed "
                                                     "(pip install -e '.[test]' installs it)")


def _cluster_partition() -> str | None:
    """The default partition of a SLURM cluster with a usable node, else None."""
    if not shutil.which("sinfo"):
        return None
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%P %T"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        name, state = line.split()[:2]
        if name.endswith("*") and state.rstrip("*~#") in ("idle", "mixed", "allocated", "completing"):
            return name.rstrip("*")
    return None


PARTITION = _cluster_partition()
needs_cluster = pytest.mark.skipif(
    not (PLUGIN and PARTITION),
    reason="no SLURM cluster with a usable node answers here (as root with apt: "
           "scripts/local-slurm.sh start), or the executor plugin is missing")

SETTING = {"id": "lin-d5", "simulator": "linear", "params": {"d": 5, "n": 60, "n_heldout": 30}}
# the test polls SLURM every few seconds (the profile's interval suits a real cluster)
FAST_POLLS = ("--slurm-init-seconds-before-status-checks", "2")
ENV = {"DAGBENCH_PLUGIN_DIRS": str(FAULT_PLUGINS)}


def _resources(dry_run_output: str) -> dict[str, list[dict[str, str]]]:
    """{rule: [resources of each of its jobs]} from a dry run's 'resources:' lines."""
    out, rule = {}, None
    for line in dry_run_output.splitlines():
        head = re.match(r"^\s*(?:local)?rule (\w+):", line)  # (indented inside a group)
        if head:
            rule = head.group(1)
        elif rule and line.strip().startswith("resources:"):
            pairs = dict(kv.split("=", 1) for kv in line.split(":", 1)[1].strip().split(", "))
            out.setdefault(rule, []).append(pairs)
    return out


@needs_plugin
def test_config_limits_become_each_jobs_resources(tmp_path):
    """A method's timeout_s and mem_mb, plus the cluster block's margins, are its fit job's
    runtime and mem_mb; every other job gets the cluster block's; partition and account
    are set only when given (a profile's default-resources then apply)."""
    config = {"seeds": 1, "timeout_s": 130, "settings": [SETTING],
              "cluster": {"partition": "short", "account": "lab1", "mem_mb": 3000, "runtime_min": 20,
                          "margin_min": 3, "margin_mb": 500},
              "methods": [{"method": "pc"}, {"method": "ges", "mem_mb": 1800, "timeout_s": 600}]}
    proc = run_snakemake(tmp_path, config, "all", "-n", "--workflow-profile", str(PROFILE))
    res = _resources(proc.stdout + proc.stderr)
    fits = sorted((int(r["runtime"]), int(r["mem_mb"])) for r in res["fit"])
    assert fits == [(math.ceil(130 / 60) + 3, 3000), (600 // 60 + 3, 1800 + 500)]
    for rule in ("simulate", "fit", "evaluate", "statistics", "plot"):
        for r in res[rule]:
            assert (r["slurm_partition"], r["slurm_account"]) == ("short", "lab1"), rule
            if rule != "fit":
                assert (r["runtime"], r["mem_mb"]) == ("20", "3000"), rule
    # not given: no partition or account resource at all
    del config["cluster"]
    proc = run_snakemake(tmp_path, config, "all", "-n", "--workflow-profile", str(PROFILE))
    for jobs in _resources(proc.stdout + proc.stderr).values():
        assert not any("slurm_partition" in r or "slurm_account" in r for r in jobs)


def _submitted(output: str) -> dict[int, str]:
    """{SLURM job id: the log folder naming its rule or group} of a run's submissions."""
    return {int(m.group(1)): m.group(2) for m in
            re.finditer(r"submitted with SLURM jobid (\d+) \(log: .*?/slurm_logs/([^/]+)/", output)}


def _job(jobid: int) -> dict[str, str]:
    """What slurmctld recorded of a job (scontrol show job; kept MinJobAge s after it ends)."""
    out = subprocess.run(["scontrol", "show", "job", "-o", str(jobid)], capture_output=True, text=True,
                         check=True).stdout
    return dict(kv.split("=", 1) for kv in out.split() if "=" in kv)


def _minutes(limit: str) -> int:
    """SLURM's [days-]hh:mm:ss as minutes."""
    days, _, hms = limit.rpartition("-")
    h, m, s = (int(x) for x in hms.split(":"))
    return (int(days or 0) * 24 + h) * 60 + m + math.ceil(s / 60)


@needs_cluster
def test_a_study_on_slurm_equals_the_local_run(tmp_path):
    """The profile as a user runs it: every job COMPLETED on the cluster, fits and their
    evaluations grouped into one submission, a method's timeout still recorded as such
    inside a job, the plot and statistics jobs with the config's partition and limits, and
    the score table equal to a local run's (timing columns aside)."""
    config = {"seeds": 2, "timeout_s": 120, "settings": [SETTING],
              "cluster": {"partition": PARTITION, "mem_mb": 1000, "runtime_min": 15},
              "methods": [{"method": "pc"}, {"method": "ges"},
                          {"method": "fault_hangs", "timeout_s": 4}]}
    local = tmp_path / "local"
    cluster = tmp_path / "cluster"
    local.mkdir()
    cluster.mkdir()
    run_snakemake(local, config, "all", env=ENV)
    t0 = time.time()
    proc = run_snakemake(cluster, config, "all", "--workflow-profile", str(PROFILE), *FAST_POLLS,
                         "--envvars", "DAGBENCH_PLUGIN_DIRS", env=ENV)
    wall = time.time() - t0
    jobs = _submitted(proc.stdout + proc.stderr)
    kinds = sorted(jobs.values())
    # 2 datasets x (simulate, 3 fits, 3 evaluations) in one group job; aggregate runs locally
    assert kinds == ["group_dataset_evaluate_fit_simulate", "rule_plot", "rule_statistics"], kinds
    for jobid, kind in jobs.items():
        job = _job(jobid)
        assert job["JobState"] == "COMPLETED", (kind, job["JobState"])
        assert job["Partition"] == PARTITION
        if kind != kinds[0]:
            assert (_minutes(job["TimeLimit"]), job["MinMemoryNode"]) == (15, "1000M"), kind
    scores = {}
    for name, folder in (("local", local), ("cluster", cluster)):
        df = pd.read_csv(folder / "results" / "tables" / "scores.csv")
        scores[name] = df.drop(columns=[c for c in TIMING_COLUMNS if c in df]).sort_values(
            ["setting", "seed", "method_id"]).reset_index(drop=True)
    assert (scores["cluster"]["status"] == scores["cluster"]["method_id"].map(
        {"pc": "ok", "ges": "ok", "fault_hangs": "timeout"})).all()
    pd.testing.assert_frame_equal(scores["cluster"], scores["local"])
    print(f"cluster run: {wall:.0f} s for {len(jobs)} submissions")


@needs_cluster
def test_a_cancelled_job_is_reported_and_a_rerun_completes(tmp_path):
    """scancel of a running fit job: the run ends (not waited on forever) naming the job
    as failed; the same command then completes. The fit is submitted on its own here
    (not grouped), so its job shows the method's limits: timeout_s plus the margin as
    the time limit, mem_mb plus the margin as memory."""
    config = {"seeds": 1, "settings": [SETTING],
              "cluster": {"partition": PARTITION, "margin_min": 2, "margin_mb": 256},
              "methods": [{"method": "fault_sleeps", "params": {"seconds": 10}, "timeout_s": 300,
                           "mem_mb": 700}]}
    target = "results/scores/lin-d5/seed0/fault_sleeps.json"
    # the fit in a job of its own (no group), and no retry of the cancelled job
    args = (target, "--workflow-profile", str(PROFILE), *FAST_POLLS, "--groups", "simulate=data",
            "evaluate=scoring", "--retries", "0", "--envvars", "DAGBENCH_PLUGIN_DIRS")
    cmd = snakemake_cmd(tmp_path, config, *args)
    log = tmp_path / "first.log"
    with open(log, "w") as out:
        run = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **ENV},
                               start_new_session=True)
    try:
        fit_job = None
        deadline = time.time() + 240
        while fit_job is None and time.time() < deadline and run.poll() is None:
            time.sleep(1)
            fit_job = next((j for j, kind in _submitted(log.read_text()).items() if kind == "rule_fit"), None)
        assert fit_job is not None, log.read_text()[-3000:]
        while _job(fit_job)["JobState"] != "RUNNING" and time.time() < deadline:
            time.sleep(0.5)
        job = _job(fit_job)
        assert (_minutes(job["TimeLimit"]), job["MinMemoryNode"]) == (300 // 60 + 2, "956M")
        subprocess.run(["scancel", str(fit_job)], check=True)
        try:
            rc = run.wait(timeout=180)
        except subprocess.TimeoutExpired:
            pytest.fail("Snakemake still waits on a cancelled job after 180 s:\n" + log.read_text()[-3000:])
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGTERM)
            run.wait()
    text = log.read_text()
    assert rc != 0 and "CANCELLED" in text and str(fit_job) in text, text[-3000:]
    assert not (tmp_path / target).exists()
    # the same command again: the fit is resubmitted and the run completes
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env={**os.environ, **ENV})
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    record = yaml.safe_load((tmp_path / "results" / "fits" / "lin-d5" / "seed0" / "fault_sleeps.json").read_text())
    assert record["status"] == "ok"


def test_cores_beyond_the_largest_node_are_named():
    from dagbench.cluster import cores_problem

    assert cores_problem(8, 1, 2) == ("--cores 8 is more than the 2 CPUs of the largest node: a group job "
                                      "may ask for 8 CPUs and stay PENDING for ever; run with --cores 2")
    assert "threads: 4, more than the 2 CPUs" in cores_problem(2, 4, 2)
    assert cores_problem(2, 2, 2) == "" and cores_problem(64, 1, None) == ""  # fits; no sinfo


@needs_cluster
def test_a_run_with_more_cores_than_a_node_warns(tmp_path):
    """The newcomer's hang: the profile with --cores above the node's CPUs. A run whose
    jobs happen to fit still says, before it submits, what would pend for ever."""
    from dagbench.cluster import largest_node_cpus

    cpus = largest_node_cpus()
    config = {"seeds": 1, "settings": [SETTING], "cluster": {"partition": PARTITION},
              "methods": [{"method": "empty"}]}
    proc = subprocess.run(snakemake_cmd(tmp_path, config, "results/scores/lin-d5/seed0/empty.json",
                                        "--workflow-profile", str(PROFILE), *FAST_POLLS)
                          + ["--cores", str(cpus + 1)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert (f"dagbench: warning: --cores {cpus + 1} is more than the {cpus} CPUs of the largest node"
            in proc.stderr)
