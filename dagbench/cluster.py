"""Checks of a run on a SLURM cluster that Snakemake and its executor plugin do not make.

A job that asks for more CPUs than any node of the cluster has stays PENDING for ever,
and Snakemake waits without a word (README "Running on a cluster"). With the workflow
profile's groups a job asks for up to ``--cores`` CPUs, so the run's ``--cores`` must not
exceed the CPUs of the largest node. The node sizes come from SLURM's own ``sinfo``.
"""
from __future__ import annotations

import shutil
import subprocess

__all__ = ["largest_node_cpus", "cores_problem"]


def largest_node_cpus() -> int | None:
    """The CPUs of the largest node that ``sinfo`` lists (``%c``), or None when sinfo is
    missing, fails or lists none."""
    if not shutil.which("sinfo"):
        return None
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%c"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    cpus = [int(tok.rstrip("+")) for tok in out.stdout.split() if tok.rstrip("+").isdigit()]
    return max(cpus) if out.returncode == 0 and cpus else None


def cores_problem(cores: int | None, max_threads: int, node_cpus: int | None) -> str:
    """Why jobs of this run could pend for ever ('' when they cannot, or when unknown):
    ``cores`` is the run's --cores (the most CPUs one submitted job may ask for),
    ``max_threads`` the most threads a single fit asks for, ``node_cpus`` the CPUs of the
    largest node."""
    if node_cpus is None:
        return ""
    if max_threads > node_cpus:
        return (f"a method asks for threads: {max_threads}, more than the {node_cpus} CPUs of the "
                f"largest node: its jobs would stay PENDING for ever; lower its threads")
    if cores is not None and cores > node_cpus:
        return (f"--cores {cores} is more than the {node_cpus} CPUs of the largest node: a group job "
                f"may ask for {cores} CPUs and stay PENDING for ever; run with --cores {node_cpus}")
    return ""
