"""What went wrong in a run, said where the user looks: at the end of Snakemake's output.

Fits never fail a job (their records say ``failed``, ``timeout``, ``skipped`` or
``data_error``), so without this a run with a broken dataset or method ends "100% done"
and the reasons sit in JSON records and logs. The Snakefile's ``onsuccess`` and
``onerror`` handlers call :func:`print_run_summary`, which reads the records the run's plan
names and prints one line per problem (a dataset that could not be made, a method that
failed or timed out), with the log to open. Only files are read; nothing is recomputed.
"""
from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Iterable, TextIO

MAX_LINES = 12  # per kind of problem; the rest are counted


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):  # not written (yet), or unreadable: nothing to say about it
        return None


def _seeds(seeds: Iterable[int]) -> str:
    seeds = sorted(seeds)
    return f"seed {seeds[0]}" if len(seeds) == 1 else "seeds " + ", ".join(map(str, seeds))


def run_summary(results: str | Path, jobs: Iterable[tuple[str, int, str]]) -> list[str]:
    """Lines that report the problems of the fits ``jobs`` ((setting, seed, method id)
    triples, as ``Plan.jobs()`` gives them) under the results folder ``results``.

    Datasets that could not be made are listed once per setting and reason (with their
    seeds), not once per fit on them; failed and timed-out fits one per line with their
    log; skipped fits are counted. Returns [] when every fit that has a record is ok."""
    results = Path(results)
    no_data: dict[tuple[str, str], set[int]] = defaultdict(set)
    broken: list[str] = []
    skipped: dict[str, int] = defaultdict(int)
    for setting, seed, method in jobs:
        record = _read(results / "fits" / setting / f"seed{seed}" / f"{method}.json")
        if record is None:
            continue
        status, reason = record.get("status"), str(record.get("reason", "")).strip()
        if status == "data_error":
            # the reason names its seed; group the seeds of one setting under one message
            no_data[setting, reason.replace(f"seed {seed}", "seed {seed}")].add(seed)
        elif status in ("failed", "timeout"):
            log = results / "logs" / "fit" / setting / f"seed{seed}" / f"{method}.log"
            broken.append(f"  {method} on {setting} seed {seed}: {status}: {reason} (log: {log})")
        elif status == "skipped":
            skipped[method] += 1
    lines: list[str] = []
    if no_data:
        n = sum(len(s) for s in no_data.values())
        lines.append(f"dagbench: {n} dataset(s) could not be made; every fit on them is recorded as "
                     "data_error:")
        for (setting, reason), seeds in list(no_data.items())[:MAX_LINES]:
            log = results / "logs" / "simulate" / setting / f"seed{min(seeds)}.log"
            if "seed {seed}" in reason:  # the runner's "dataset S seed K could not be made ..."
                lines.append(f"  {reason.replace('seed {seed}', _seeds(seeds))} (log: {log})")
            else:
                lines.append(f"  {setting} {_seeds(seeds)}: {reason} (log: {log})")
        if len(no_data) > MAX_LINES:
            lines.append(f"  ... and {len(no_data) - MAX_LINES} more")
    if broken:
        lines.append(f"dagbench: {len(broken)} fit(s) failed or timed out (the other fits are scored):")
        lines += broken[:MAX_LINES]
        if len(broken) > MAX_LINES:
            lines.append(f"  ... and {len(broken) - MAX_LINES} more")
    if skipped:
        lines.append("dagbench: fits skipped because the method declined the dataset (reasons in "
                     f"{results / 'tables' / 'scores.csv'}, column reason): "
                     + ", ".join(f"{m} {k}" for m, k in skipped.items()))
    return lines


def print_run_summary(results: str | Path, jobs: Iterable[tuple[str, int, str]], *, ok: bool,
                      file: TextIO = sys.stderr) -> None:
    """Print :func:`run_summary` and where the outputs are (``ok``: the run finished)."""
    lines = run_summary(results, jobs)
    results = Path(results)
    if ok:
        if (results / "tables").is_dir():  # (a run of train_amortized alone makes none)
            lines.append(f"dagbench: tables in {results / 'tables'}, figures in {results / 'figures'}; "
                         "`snakemake --report report.html` (with this run's --configfile/--config options) "
                         "gathers them into one page.")
    else:
        lines.append("dagbench: the run stopped: the lines 'dagbench: ...' above and Snakemake's error "
                     "blocks name the failed jobs and their logs; what finished is kept, and the same "
                     "command resumes the run (after an interruption, add --rerun-incomplete if "
                     "Snakemake then names incomplete files: jobs it stopped half-way are remade).")
    print("\n".join(lines), file=file)
