"""One run at a time per results folder.

Snakemake locks its own working directory (.snakemake/), but two working directories
can name one absolute ``results:`` folder, and their jobs then overwrite and delete each
other's files. So the Snakefile's ``onstart`` (which Snakemake calls only in the main
process of a run that has jobs to do: not for ``-n``, ``--report``, ``--lint``,
``--unlock``, nor in the job processes it spawns, which get ``--no-hooks``) takes a
lock file in the results folder, and ``onsuccess``/``onerror`` and the process's exit
release it.

The lock file (``RESULTS/.dagbench-run.lock``) is JSON: pid, host, boot id, the pid's
start time, working directory, command and start time of the run that holds it. It is
created whole with ``link()``, which fails when the file exists, on local disks and NFS
alike. A run that was killed leaves it behind; it is stale, and taken over with a note,
when
- it names this host (same boot) and its pid is not running, or runs another program
  than the one that took it (the pid's start time differs): a killed run frees the
  folder at once;
- it names this host from before a reboot;
- it names another host, or another PID namespace (container) of this one, and has not
  been refreshed for ``STALE_AFTER_S`` (the holder touches it every ``HEARTBEAT_S``; a
  pid there cannot be checked from here).
"""
from __future__ import annotations

import atexit
import datetime
import json
import os
import socket
import sys
import threading
import time
import uuid
from pathlib import Path

LOCK_NAME = ".dagbench-run.lock"
#: how often the run holding the lock touches it
HEARTBEAT_S = 60.0
#: a lock from another host untouched this long is stale: ten missed heartbeats, so that
#: a loaded machine, a slow network file system or a few minutes of clock skew between
#: hosts do not make a live run's lock look stale
STALE_AFTER_S = 600.0


class ResultsFolderBusy(RuntimeError):
    """Another live run holds the results folder; the message names the folder and that run."""


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def _pid_namespace() -> str | None:
    """This process's PID namespace (Linux), e.g. "pid:[4026531836]": containers on one
    host share its name and boot but cannot see each other's pids."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def _start_time(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks after boot, Linux), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22; the name in (...) may hold spaces


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


def stale_reason(holder: dict, age_s: float) -> str | None:
    """Why the lock ``holder`` (its JSON), last touched ``age_s`` seconds ago, is stale,
    or None when the run that took it may still be running."""
    pid = holder.get("pid")
    elsewhere = holder.get("host") != socket.gethostname() or (
        holder.get("pid_ns") and _pid_namespace() and holder["pid_ns"] != _pid_namespace())
    if elsewhere:  # its pid cannot be checked from here: only its heartbeat tells
        if age_s > STALE_AFTER_S:
            return (f"it names another host or container and has not been refreshed for "
                    f"{age_s / 60:.0f} minutes")
        return None
    if holder.get("boot_id") and _boot_id() and holder["boot_id"] != _boot_id():
        return "this host has restarted since"
    if not isinstance(pid, int) or not _running(pid):
        return f"process {pid} is not running"
    if holder.get("pid_start") and _start_time(pid) not in (None, holder["pid_start"]):
        return f"process {pid} is another program now"
    return None


def _describe(holder: dict) -> str:
    return (f"pid {holder.get('pid')} on host {holder.get('host')}, started {holder.get('started')}, "
            f"working directory {holder.get('workdir')}, command: {holder.get('command')}")


class RunLock:
    """The results folder's lock, held by this process (``acquire`` takes it)."""

    def __init__(self, path: Path, token: str):
        self.path, self.token = path, token
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, name="dagbench-run-lock", daemon=True)

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            if self._ours():
                try:
                    os.utime(self.path)
                except OSError:  # a missed beat is harmless; ten in a row make the lock stale
                    pass

    def _ours(self) -> bool:
        try:
            return json.loads(self.path.read_text()).get("token") == self.token
        except (OSError, ValueError, AttributeError):
            return False

    def release(self) -> None:
        """Remove the lock file if it is still this run's (idempotent)."""
        self._stop.set()
        if self._ours():
            self.path.unlink(missing_ok=True)


def acquire(results: str | Path, *, workdir: str | Path | None = None,
            command: list[str] | None = None) -> RunLock:
    """Take the lock of the results folder ``results`` for this process, or raise
    ResultsFolderBusy naming the folder and the live run that holds it. A stale lock is
    taken over, with a note on stderr. The lock is released by ``RunLock.release`` or,
    at the latest, when this process exits."""
    folder = Path(results).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    token = uuid.uuid4().hex
    me = {"pid": os.getpid(), "host": socket.gethostname(), "boot_id": _boot_id(), "pid_ns": _pid_namespace(),
          "pid_start": _start_time(os.getpid()), "workdir": str(Path(workdir or os.getcwd()).resolve()),
          "command": " ".join(command if command is not None else sys.argv),
          "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
          "results": str(folder), "token": token}
    tmp = folder / f"{LOCK_NAME}.{token}.tmp"
    tmp.write_text(json.dumps(me, indent=2) + "\n")
    try:
        with _guard(folder):
            for _ in range(3):
                try:
                    os.link(tmp, path)  # fails if the file exists: never two holders
                    break
                except FileExistsError:
                    pass
                try:
                    text, age = path.read_text(), time.time() - path.stat().st_mtime
                except FileNotFoundError:  # released meanwhile: try again
                    continue
                try:
                    holder = json.loads(text)
                    holder = holder if isinstance(holder, dict) else {}
                except ValueError:
                    holder = {}
                why = stale_reason(holder, age) if holder else (
                    "it is unreadable and untouched for 10 minutes" if age > STALE_AFTER_S else None)
                if why is None:
                    who = _describe(holder) if holder else f"the lock file {path} is unreadable"
                    raise ResultsFolderBusy(
                        f"the results folder {folder} is in use by another run ({who}). Two runs writing "
                        "one results folder corrupt each other's files: wait for that run to end, or give "
                        "this run its own folder (--config results=...). If that run is not running any "
                        f"more, delete {path}.")
                print(f"dagbench: note: taking over the results folder {folder} from a run that is gone "
                      f"({why}; it was {_describe(holder) if holder else 'unreadable'})", file=sys.stderr)
                path.unlink(missing_ok=True)
            else:
                raise ResultsFolderBusy(f"could not take the lock {path} of the results folder {folder}")
    finally:
        tmp.unlink(missing_ok=True)
    lock = RunLock(path, token)
    lock._beat.start()
    atexit.register(lock.release)
    return lock


class _guard:
    """An exclusive flock on a side file while the lock is checked and taken, so that
    two runs starting at once cannot both take over one stale lock. Where the file system
    has no flock (some network file systems) it does nothing: ``link`` still keeps two
    runs from both creating the lock."""

    def __init__(self, folder: Path):
        self.path = folder / f"{LOCK_NAME}.guard"
        self.fd = None

    def __enter__(self):
        import fcntl

        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError:
            return self
        deadline = time.monotonic() + 30
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:  # another run is checking right now: it takes milliseconds
                if time.monotonic() > deadline:
                    return self
                time.sleep(0.05)
            except OSError:  # no flock here
                return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)  # releases the flock
        return False
