"""Reading and writing the workflow's files.

Writes are atomic: every output is written to a temporary file in the same folder and
renamed into place, so a killed job never leaves a half-written file behind. A write
that fails (a full disk, an I/O error) raises InfrastructureError naming the file, so
the job fails and Snakemake reruns it; it is never recorded as a method's failure.

Reads of files an earlier job wrote are verified (``read_json``, ``read_npz``, with the
SHA-256 recorded beside an .npz where there is one): a truncated or damaged file raises
CorruptFileError naming it and the command that remakes it, instead of a parser's error
that would be taken for a method's or a dataset's problem.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np


class InfrastructureError(OSError):
    """Writing an output or reading an input failed (disk full, I/O error, a damaged
    file): the job's fault, not the method's nor the dataset's. Raised, never recorded,
    so that the job fails, Snakemake says so and the next run redoes it. An OSError, so
    code that catches OSError around file access still does."""


class CorruptFileError(InfrastructureError):
    """A file an earlier job wrote is truncated or damaged; the message names it and
    says how to remake it."""


def remake_hint(path: str | Path) -> str:
    """How to remake ``path`` and everything made from it with the workflow."""
    return (f"to remake it, rerun the same snakemake command with `--forcerun {path}` added "
            "(it redoes that job and every job downstream of it)")


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``.

    Raises InfrastructureError (naming ``path``) for an OSError while writing."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode (shared folders)
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, InfrastructureError):
            raise _infrastructure(exc, f"could not write {path}: {exc.strerror or exc}; free space or "
                                  "fix the folder, then rerun the same command (Snakemake redoes this "
                                  "job)") from exc
        raise


def _infrastructure(exc: OSError, message: str) -> InfrastructureError:
    err = InfrastructureError(message)
    err.errno = exc.errno  # ENOSPC stays recognisable
    return err


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(to_jsonable(obj), indent=2, sort_keys=True) + "\n")


def atomic_write_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> str:
    """Write ``arrays`` to ``path`` (compressed .npz); returns the file's SHA-256, for
    the record that ``read_npz`` checks it against."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
        return file_sha256(tmp)


def read_json(path: str | Path, *, remake: str | None = None) -> Any:
    """The JSON value in ``path``. Raises CorruptFileError naming the file when it is
    empty, truncated or not JSON (``remake``: how to remake it; default ``remake_hint``),
    InfrastructureError when it cannot be read (an I/O error), FileNotFoundError when
    it does not exist."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
        return json.loads(text)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise _infrastructure(exc, f"could not read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise CorruptFileError(f"{path} is damaged or truncated (not valid JSON: {type(exc).__name__}: "
                               f"{exc}); {remake or remake_hint(path)}") from None


def read_npz(path: str | Path, *, sha256: str | None = None,
             remake: str | None = None) -> dict[str, np.ndarray]:
    """Every array in the .npz ``path``, read whole. With ``sha256`` (recorded when it
    was written) the file must match it. Raises CorruptFileError naming the file when it
    is truncated, damaged or does not match (``remake``: how to remake it; default
    ``remake_hint``), InfrastructureError when it cannot be read (an I/O error),
    FileNotFoundError when it does not exist."""
    path = Path(path)
    hint = remake or remake_hint(path)
    try:
        with open(path, "rb") as fh:
            content = fh.read()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise _infrastructure(exc, f"could not read {path}: {exc.strerror or exc}") from exc
    if sha256 is not None and hashlib.sha256(content).hexdigest() != sha256:
        raise CorruptFileError(f"{path} is damaged: its SHA-256 differs from the one recorded when it "
                               f"was written; {hint}")
    try:
        with np.load(io.BytesIO(content), allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except Exception as exc:  # the file was read: whatever numpy or zipfile raise means it is damaged
        raise CorruptFileError(f"{path} is damaged or truncated ({type(exc).__name__}: {exc}); "
                               f"{hint}") from None


def to_jsonable(obj: Any) -> Any:
    """numpy scalars and arrays to plain Python, recursively."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj
