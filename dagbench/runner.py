"""The three per-job steps of the workflow: simulate, fit, evaluate.

Each reads and writes files only, so Snakemake (or a person at a shell) can run it as
one job. ``fit`` always ends in a record with a status (ok, failed, timeout, skipped,
data_error), so one broken method never stops the workflow: the method runs in a child
process that is killed at its timeout, whatever it is doing (Python, C, BLAS or torch
code). Likewise ``simulate`` records a dataset that cannot be made instead of failing,
and every fit on it ends as ``data_error`` without running the method.

What is not the method's or the dataset's fault is never recorded as theirs: an input
that cannot be read or is damaged, an output that cannot be written (a full disk)
raise InfrastructureError (dagbench.io), so the job fails, Snakemake says so, and the
next run redoes it.
"""
from __future__ import annotations

import errno
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from dagbench.io import (CorruptFileError, InfrastructureError, atomic_write_json, atomic_write_npz,
                         file_sha256, read_json, read_npz, remake_hint, to_jsonable)

#: OSError numbers that are the machine's trouble, not the method's, even when the method
#: meets them (say, writing its own temporary files): the job fails instead of a record
MACHINE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS})
_INFRASTRUCTURE = "infrastructure_error"  # the child's word for it; never written to a record


def simulate(spec: dict[str, Any], *, seed: int, out: str | Path) -> dict | None:
    """Simulate setting ``spec`` (id, simulator, params) with ``seed`` into ``out`` (.npz + .json).

    Never raises for a dataset that cannot be made (the simulator raises, or its dataset
    fails the checks): the outputs are still written, as a recorded failure, so that the
    other datasets' fits go on. The .json sidecar is then ``{"status": "data_error",
    "reason", "error", "setting", "seed", "simulator"}`` and the .npz holds only the
    array ``data_error`` (the reason) in place of a dataset; ``Dataset.load`` raises a
    DataError with that reason and ``fit`` records every fit on it as ``data_error``.
    Returns that failure record, or None when the dataset was made. Raises PluginError
    for an unknown simulator (the workflow's config check stops that before any job)."""
    from simulators.base import DataError, get

    what = f"dataset {spec['id']} seed {seed} could not be made by simulator '{spec['simulator']}'"
    simulator = get(spec["simulator"])  # an unknown name is the caller's mistake, not the data's: raises
    try:
        sim = simulator(**spec["params"])
        ds = sim.simulate(seed=seed)
        problems = ds.problems()
        if problems:
            raise DataError("invalid dataset: " + "; ".join(problems))
    except Exception as exc:  # one bad dataset is recorded, never stops the others
        if isinstance(exc, DataError):  # the simulator's own message names what is wrong
            reason = f"{what}: {exc}"
        else:  # unexpected: keep the traceback in the rule's log
            traceback.print_exc()
            reason = f"{what}: {type(exc).__name__}: {exc}"
        failure = {"status": "data_error", "error": type(exc).__name__, "reason": reason,
                   "setting": spec["id"], "seed": seed, "simulator": spec["simulator"]}
        out = Path(out)
        atomic_write_npz(out, {"data_error": np.array(reason)})
        atomic_write_json(out.with_suffix(".json"), failure)
        print(f"[dagbench] data_error: {reason}", file=sys.stderr)
        return failure
    ds.meta["setting"] = spec["id"]
    ds.save(out)
    return None


def fit_arrays_path(record_path: str | Path) -> Path:
    """Where the arrays of a fit record live: beside it, with suffix .npz."""
    return Path(record_path).with_suffix(".npz")


def fit(spec: dict[str, Any], *, data: str | Path, seed: int, out: str | Path) -> dict:
    """Fit method ``spec`` (id, method, params, bootstrap, timeout_s, mem_mb, threads) on
    the dataset at ``data``, writing the arrays to ``out`` with suffix .npz and the record
    to ``out`` (.json). The .npz always exists (it is an output of the workflow's rule);
    it holds arrays only when the status is ok, and its SHA-256 is in the record as
    ``arrays_sha256``. An ok record also holds ``posterior_diagnostics``: the number of
    graphs, of distinct DAGs and the effective sample sizes of the posterior
    (``evaluation.metrics.posterior_diagnostics``; the same values are columns of the
    score table). Returns the record; never raises for a failing method. On a dataset
    that ``simulate`` recorded as a failure, the record's status is ``data_error`` (the
    dataset's reason) and the method is not run.

    Raises PluginError, writing nothing, for an unknown method (the workflow's config
    check stops that before any job). Raises InfrastructureError, writing no record, when the dataset cannot be read
    (CorruptFileError when it is damaged, naming it and how to remake it), when an
    output cannot be written (a full disk), or when the method meets an OSError of
    ``MACHINE_ERRNOS``; so the job fails and the next run redoes it."""
    from methods.base import get
    from simulators.base import DataError, Dataset

    get(spec["method"])  # an unknown name is the caller's mistake, not the method's: raises
    out = Path(out)
    try:
        dataset = Dataset.load(data)  # verified; the child gets it through fork
    except DataError as exc:
        return _write_record(spec, data, seed, out, {"status": "data_error", "error": "DataError",
                                                      "reason": str(exc)}, wall_s=0.0)
    import multiprocessing as mp  # here, not at the top: simulate and evaluate jobs need none of it

    ctx = mp.get_context("fork")
    # the result comes back through a pipe of this process's own: no scratch file that a
    # second process on the same output could read or delete
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_fit_child,
                        args=(spec, dataset, str(data), seed, str(out), send, os.getpid()))
    start = time.perf_counter()
    try:
        child.start()
        send.close()  # the child holds the only sending end: its exit is an end of file here
        result, timed_out = _child_result(child, receive, spec.get("timeout_s"))
    except BaseException:  # interrupted (Ctrl-C), even right after the fork: the fit goes
        if child.pid is not None:  # too, else exit would wait for it
            _kill_tree(child.pid)
        raise
    receive.close()
    if result is not None:
        child.join()  # it exits right after sending
    elif timed_out and child.is_alive():  # past its time: kill it and whatever it started
        _kill_tree(child.pid)
        child.join()
        result = {"status": "timeout", "reason": f"killed after the timeout of {spec['timeout_s']:g} s"}
    else:
        child.join()
        code = child.exitcode
        how = f"signal {-code} ({signal.Signals(-code).name})" if code and code < 0 else f"exit code {code}"
        result = {"status": "failed", "error": "ProcessDied",
                  "reason": f"the fit process died with {how} before writing a result"
                            + (" (the memory limit or the system's OOM killer?)" if code == -9 else "")}
    if result["status"] == _INFRASTRUCTURE:
        raise InfrastructureError(result["reason"])
    return _write_record(spec, data, seed, out, result, wall_s=time.perf_counter() - start)


def _child_result(child, receive, timeout: float | None) -> tuple[dict | None, bool]:
    """(what the fit child sent or None, whether ``timeout`` seconds passed first),
    waiting until it has sent its result, has ended or has run for ``timeout`` seconds.
    (A dying child closes its end of the pipe a moment before it can be reaped, so an
    end of file here means it died, though it may not look dead yet.)"""
    import multiprocessing.connection

    # Wait in short slices: a signal (Ctrl-C) that the kernel hands to another thread of
    # this process (an imported library's) does not interrupt a long wait of the main
    # thread, so its handler would run only when the wait ends.
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
        ready = multiprocessing.connection.wait([receive, child.sentinel], left)
        if ready or (deadline is not None and time.monotonic() >= deadline):
            break
    try:
        if receive.poll():  # sent (read whole, however long), or the end of file of a dead child
            return json.loads(receive.recv_bytes()), not ready
    except EOFError:
        pass
    return None, not ready


def _write_record(spec: dict, data: str | Path, seed: int, out: Path, result: dict, *,
                  wall_s: float) -> dict:
    record = {"setting": Path(data).parent.name, "seed": seed, "method_id": spec["id"],
              "method": spec["method"], "params": spec["params"], "bootstrap": spec.get("bootstrap", 0),
              "wall_s_total": wall_s, **result}
    arrays = fit_arrays_path(out)
    if record["status"] == "ok":
        try:
            record["arrays_sha256"] = file_sha256(arrays)
        except OSError as exc:
            raise InfrastructureError(f"could not read back the fit's arrays {arrays}: {exc}") from exc
    else:  # an archive with no arrays: the rule's output exists whatever the status
        record["arrays_sha256"] = atomic_write_npz(arrays, {})
        print(f"[dagbench] {spec['id']} on {data}: {record['status']}: {record.get('reason', '')}",
              file=sys.stderr)
    atomic_write_json(out, record)
    return record


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when its parent dies (Linux), so that killing
    the workflow also stops fits running in their own process groups."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _kill_tree(pid: int) -> None:
    """Kill the fit child ``pid`` and everything it started."""
    for kill in (os.killpg, os.kill):  # its own process group; the child itself too, in case
        try:                           # it has not yet made that group (killed right after the fork)
            kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _fit_child(spec: dict, dataset, data_path: str, seed: int, out: str, send, parent: int) -> None:
    os.setpgid(0, 0)  # its own group, so a timeout kills everything it started
    _die_with_parent(parent)
    try:
        result = _fit_in_process(spec, dataset, data_path, seed, out)
    except MemoryError:
        result = {"status": "failed", "error": "MemoryError",
                  "reason": f"memory limit of {spec.get('mem_mb', 0)} MB exceeded"
                            if spec.get("mem_mb") else "out of memory"}
        traceback.print_exc()
    except InfrastructureError as exc:  # its output could not be written: the job fails, no record
        traceback.print_exc()
        result = {"status": _INFRASTRUCTURE, "reason": str(exc)}
    except BaseException as exc:  # any failure of the method becomes a record
        traceback.print_exc()
        if isinstance(exc, OSError) and exc.errno in MACHINE_ERRNOS:  # the machine's, wherever it struck
            result = {"status": _INFRASTRUCTURE,
                      "reason": f"method '{spec['id']}' met a problem of the machine, not its own, writing "
                                f"or reading files: {type(exc).__name__}: {exc}; fix it (e.g. free space) "
                                "and rerun the same command (Snakemake redoes this job)"}
        else:
            result = {"status": "failed", "error": type(exc).__name__,
                      "reason": f"{type(exc).__name__}: {exc}"}
    try:
        message = json.dumps(to_jsonable(result))
    except (TypeError, ValueError) as exc:  # the method's info is not JSON
        message = json.dumps({"status": "failed", "error": "InvalidOutput",
                              "reason": f"method '{spec['id']}' returned info that is not JSON: {exc}"})
    send.send_bytes(message.encode())
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _fit_in_process(spec: dict, data, data_path: str, seed: int, out: str) -> dict:
    if spec.get("mem_mb"):  # the data segment (heap and anonymous maps), not shared libraries
        import resource
        limit = int(spec["mem_mb"]) * 2**20
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))

    from methods.base import get

    bad = data.problems()
    if bad:
        return {"status": "data_error", "error": "InvalidData",
                "reason": f"dataset {data_path} is invalid: " + "; ".join(bad)}
    method = get(spec["method"])(**spec["params"])
    method.threads = int(spec.get("threads", 1))
    rows_used = "all"
    if data.is_interventional and not method.uses_interventions:
        data, rows_used = data.observational_only(), "observational only"
    need = method.min_rows(data.d)
    if data.n < need:
        return {"status": "failed", "error": "TooFewRows", "rows_used": rows_used,
                "reason": f"method '{spec['id']}' needs at least {need} training rows for "
                          f"d = {data.d}; dataset {data_path} has {data.n} ({rows_used})"}
    reason = method.skip(data)
    if reason:
        return {"status": "skipped", "reason": reason, "rows_used": rows_used}
    t0 = time.perf_counter()
    if spec.get("bootstrap"):
        from dagbench.bootstrap import bootstrap_fit
        posterior = bootstrap_fit(method, data, seed=seed, n_boot=spec["bootstrap"])
    else:
        posterior = method.fit(data, seed=seed)
    fit_s = time.perf_counter() - t0
    problems = posterior.problems(data.d)
    logp = None
    if not problems and posterior.log_density is not None:
        logp = np.asarray(posterior.log_density(data.x_heldout, data.interv_mask_heldout))
        if logp.shape != (len(posterior.graphs), len(data.x_heldout)):
            problems.append(f"log_density returned shape {logp.shape}, expected "
                            f"[{len(posterior.graphs)}, {len(data.x_heldout)}]")
    if problems:
        return {"status": "failed", "error": "InvalidOutput",
                "reason": f"method '{spec['id']}' returned an invalid result: " + "; ".join(problems),
                "fit_s": fit_s}
    posterior.save(fit_arrays_path(out), logp_heldout=logp)  # a failed write raises InfrastructureError
    from evaluation.metrics import posterior_diagnostics
    return {"status": "ok", "fit_s": fit_s, "info": posterior.info, "rows_used": rows_used,
            "n_fit_rows": data.n,
            "posterior_diagnostics": posterior_diagnostics(posterior.graphs, posterior.weights)}


def evaluate(*, data: str | Path, fit_record: str | Path, benchmark: str | Path | None,
             setting: dict, method: dict, out: str | Path) -> dict:
    """Score one fit against its dataset and write the score record to ``out`` (.json).

    The record holds the ids, the status, the metrics (when the fit is ok), the cost
    (wall seconds and peak RSS from Snakemake's benchmark file) and the setting's and
    method's parameters (prefixed ``sim.`` and ``method.``). Raises CorruptFileError
    (dagbench.io) naming the file and how to remake it when the fit record, the fit's
    arrays (checked against the record's ``arrays_sha256``) or the dataset is damaged."""
    from evaluation.scoring import read_benchmark, score_fit
    from simulators.base import Dataset

    record = read_json(fit_record)
    if not isinstance(record, dict) or not {"status", "seed"} <= set(record):
        raise CorruptFileError(f"{fit_record} is not a fit record (no status or seed); "
                               f"{remake_hint(fit_record)}")
    row: dict[str, Any] = {
        "setting": setting["id"], "simulator": setting["simulator"], "seed": record["seed"],
        "method_id": method["id"], "method": method["method"], "bootstrap": method.get("bootstrap", 0),
        "status": record["status"], "reason": record.get("reason", ""), "fit_s": record.get("fit_s"),
        "rows_used": record.get("rows_used", "all"),
    }
    if benchmark is not None and Path(benchmark).exists():
        row.update(read_benchmark(benchmark))
    if record["status"] == "ok":
        arrays = fit_arrays_path(fit_record)
        if not arrays.exists():
            raise CorruptFileError(f"{fit_record} says ok but its arrays {arrays} are missing; "
                                   f"{remake_hint(fit_record)}")
        fit_arrays = read_npz(arrays, sha256=record.get("arrays_sha256"))
        row.update(score_fit(fit_arrays, Dataset.load(data), exact_posterior=setting.get("exact_posterior")))
    row.update({f"sim.{k}": v for k, v in setting["params"].items()})
    row.update({f"method.{k}": v for k, v in method["params"].items()})
    atomic_write_json(out, row)
    return row
