"""Command line of the workflow's jobs: ``python -m dagbench STEP ...``.

The Snakefile's rules call these; a person can too, e.g. to rerun one fit by hand:
    python -m dagbench fit --spec '{"id": "pc", "method": "pc", "params": {}}' \
        --data results/data/SETTING/seed0.npz --seed 0 --out /tmp/pc.json
``--threads N`` caps torch and BLAS threads; it is applied before numpy or torch load.

``python -m dagbench list [methods | simulators] [NAME ...]`` lists the plugins (those in
DAGBENCH_PLUGIN_DIRS folders too): name, file, what it is and every parameter with its
type and default; plugin files that cannot be imported are listed with their error.
"""
from __future__ import annotations

import argparse
import json
import os
import sys


STEPS = ("simulate", "fit", "evaluate", "aggregate", "statistics", "plot", "list")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dagbench")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch and BLAS")
    parser.add_argument("--log", default=None,
                        help="send all output (this process's and its children's) to this file; "
                             "a failure's one-line reason still goes to the terminal")
    sub = parser.add_subparsers(dest="step", required=True)

    p = sub.add_parser("simulate", help="simulate one setting for one seed")
    p.add_argument("--spec", required=True, help="setting as JSON: id, simulator, params")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", required=True, help="dataset .npz (a .json sidecar is written beside it)")

    p = sub.add_parser("fit", help="fit one method on one dataset")
    p.add_argument("--spec", required=True, help="method as JSON: id, method, params, bootstrap, limits")
    p.add_argument("--data", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", required=True, help="fit record .json (arrays go beside it as .npz)")

    p = sub.add_parser("evaluate", help="score one fit")
    p.add_argument("--data", required=True)
    p.add_argument("--fit", required=True)
    p.add_argument("--benchmark", default=None)
    p.add_argument("--setting", required=True, help="setting as JSON")
    p.add_argument("--method", required=True, help="method as JSON")
    p.add_argument("--out", required=True)

    p = sub.add_parser("aggregate", help="collect score records into tables")
    p.add_argument("--scores", nargs="+", required=True)
    p.add_argument("--csv", required=True)
    p.add_argument("--summary", required=True, help="markdown summary")
    p.add_argument("--summary-html", default=None, help="the same summary as HTML")
    p.add_argument("--resolved-config", default=None,
                   help="where to write the configuration as run, after the tables")
    p.add_argument("--resolved-config-text", default="", help="that configuration, as YAML text")
    _spread_options(p)

    p = sub.add_parser("statistics", help="paired tests, ranks, critical-difference diagrams, LaTeX tables")
    p.add_argument("--table", required=True, help="the long-format score table, RESULTS/tables/scores.csv")
    p.add_argument("--tables-dir", required=True)
    p.add_argument("--figures-dir", required=True)
    p.add_argument("--alpha", type=float, default=0.05, help="significance level")
    p.add_argument("--metrics", nargs="*", default=None, help="score columns to compare (default: all)")
    p.add_argument("--highlight", nargs="*", default=[], help="method plugin names to set in bold")
    _spread_options(p)

    p = sub.add_parser("list", help="list the method and simulator plugins with their parameters",
                       description="List every method and simulator plugin (built-in and in the "
                                   "DAGBENCH_PLUGIN_DIRS folders): its name, file, a one-line "
                                   "description and each parameter with its type and default. "
                                   "Exits with 1 when a plugin file cannot be imported, two plugins "
                                   "share a name or DAGBENCH_PLUGIN_DIRS names no plugin folder.")
    p.add_argument("what", nargs="*", metavar="methods|simulators|NAME",
                   help="only methods or only simulators, and/or only the plugins whose names match "
                        "these patterns (fnmatch, e.g. 'dibs*'); a name shows the whole docstring")

    p = sub.add_parser("plot", help="draw the comparison figures")
    p.add_argument("--table", required=True,
                   help="the long-format score table, RESULTS/tables/scores.csv (ROC curves read "
                        "the fits and data under RESULTS)")
    p.add_argument("--outdir", required=True)
    p.add_argument("--highlight", nargs="*", default=[], help="method plugin names to emphasise")

    args = parser.parse_args(argv)
    if args.threads:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    from dagbench.kernels import pin_cpu_kernels
    pin_cpu_kernels()  # the same SIMD kernels on every x86-64 CPU (why: dagbench/kernels.py)

    if args.step == "list":
        try:
            return list_plugins(args.what)
        except BrokenPipeError:  # `... list | head`: the reader has had enough, not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0

    from dagbench import runner

    if args.step == "simulate":
        runner.simulate(json.loads(args.spec), seed=args.seed, out=args.out)
    elif args.step == "fit":
        spec = json.loads(args.spec)
        if args.threads:
            spec["threads"] = args.threads
        runner.fit(spec, data=args.data, seed=args.seed, out=args.out)
    elif args.step == "evaluate":
        runner.evaluate(data=args.data, fit_record=args.fit, benchmark=args.benchmark,
                        setting=json.loads(args.setting), method=json.loads(args.method), out=args.out)
    elif args.step == "aggregate":
        from evaluation.aggregate import aggregate
        aggregate(args.scores, csv_path=args.csv, summary_path=args.summary, summary_html=args.summary_html,
                  spread=args.spread, resamples=args.resamples, confidence=args.confidence)
        if args.resolved_config:  # last, so the config on disk always belongs to the tables beside it
            from dagbench.io import atomic_write_text
            atomic_write_text(args.resolved_config, args.resolved_config_text)
    elif args.step == "statistics":
        from evaluation.statistics import write_statistics
        write_statistics(args.table, args.tables_dir, args.figures_dir, alpha=args.alpha, spread=args.spread,
                         resamples=args.resamples, confidence=args.confidence, metrics=args.metrics,
                         highlight=args.highlight)
    elif args.step == "plot":
        from evaluation.plots import plot_all
        from pathlib import Path
        plot_all(args.table, results=Path(args.table).resolve().parent.parent, outdir=args.outdir,
                 highlight=args.highlight)
    return 0


def _spread_options(p: argparse.ArgumentParser) -> None:
    """How tables state the spread over seeds (the config's ``statistics`` block)."""
    p.add_argument("--spread", choices=["se", "bootstrap_ci"], default="se",
                   help="mean ± standard error, or mean [percentile bootstrap interval]")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples of the seeds")
    p.add_argument("--confidence", type=float, default=0.95, help="level of the bootstrap intervals")


def _log_to(path: str) -> int:
    """Point stdout and stderr (file descriptors 1 and 2, so child processes and C code
    too) at the file ``path``; returns a descriptor of the former stderr (the terminal)."""
    from pathlib import Path

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    terminal = os.dup(2)
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    return terminal


def main_reporting_failure(argv: list[str] | None = None) -> int:
    """``main``; when it raises, the traceback and then one line, ``ErrorType: message``.
    With ``--log FILE`` (as the workflow's rules call it) everything goes to FILE, and the
    one line also goes to the terminal, ``dagbench: STEP failed: ... (log: FILE)``, so
    that a failed job says why where the user looks, above Snakemake's error block."""
    argv = sys.argv[1:] if argv is None else argv
    terminal = None
    if "--log" in argv[:-1]:
        log_path = argv[argv.index("--log") + 1]
        terminal = _log_to(log_path)
    try:
        return main(argv)
    except Exception as exc:
        import traceback

        traceback.print_exc()
        reason = f"{type(exc).__name__}: {' '.join(str(exc).split())}"  # one line, whatever the text
        print(reason, file=sys.stderr, flush=True)
        if terminal is not None:
            step = next((a for a in argv if a in STEPS), "job")
            os.write(terminal, f"dagbench: {step} failed: {reason} (log: {log_path})\n".encode())
        return 1


def list_plugins(what: list[str], out=None) -> int:
    """Print the plugins (see the module docstring); 1 when any plugin file is broken,
    two plugins share a name, a DAGBENCH_PLUGIN_DIRS entry is unusable, or a NAME
    pattern matches nothing, else 0."""
    import fnmatch
    import inspect
    from pathlib import Path

    from dagbench.plugins import (EXTRA_DIRS_ENV, name_clashes, param_lines, plugin_dirs_checked,
                                  scan, summary)
    from methods.base import Method
    from simulators.base import Simulator

    out = out or sys.stdout
    kinds = [k for k in what if k in ("methods", "simulators")] or ["methods", "simulators"]
    patterns = [w for w in what if w not in ("methods", "simulators")]
    root = Path(__file__).resolve().parent.parent
    folders, problems = plugin_dirs_checked()
    env = os.environ.get(EXTRA_DIRS_ENV, "")
    print(f"{EXTRA_DIRS_ENV}: {env if env.strip() else '(not set)'}", file=out)
    for problem in problems:
        print(f"  ! {problem}", file=out)
    matched = set()
    for package in kinds:
        base = {"methods": Method, "simulators": Simulator}[package]
        files = scan(package, base, dirs=folders)
        plugins = sorted(((cls, f) for f in files for cls in f.classes), key=lambda cf: cf[0].name)
        shown = [(cls, f) for cls, f in plugins
                 if not patterns or any(fnmatch.fnmatchcase(cls.name, p) for p in patterns)]
        matched |= {p for p in patterns for cls, _ in plugins if fnmatch.fnmatchcase(cls.name, p)}
        broken = [f for f in files if f.error is not None]
        clashes = name_clashes(files, base.kind())
        if patterns and not (shown or broken or clashes):
            continue
        print(f"\n{package} ({len(shown)} of {len(plugins)} plugins; built-in folder {root / package})",
              file=out)
        for cls, f in shown:
            try:
                where = f.path.resolve().relative_to(root)
            except ValueError:
                where = f.path
            flags = "; uses interventions" if getattr(cls, "uses_interventions", False) else ""
            print(f"\n  {cls.name}  {where}  [{f.origin}{flags}]", file=out)
            if patterns:
                doc = cls.__dict__.get("__doc__") or sys.modules[cls.__module__].__doc__ or ""
                for line in inspect.cleandoc(doc).splitlines():
                    print(f"      {line}".rstrip(), file=out)
                print("\n      parameters:", file=out)
            elif summary(cls):
                print(f"      {summary(cls)}", file=out)
            for line in param_lines(cls) or ["(no parameters)"]:
                print(f"{'        ' if patterns else '      '}{line}", file=out)
        for f in broken:
            print(f"\n  ! could not import {f.path} [{f.origin}]: {f.error}", file=out)
        for clash in clashes:
            print(f"\n  ! {clash}", file=out)
        problems += [f.error for f in broken] + clashes
    missing = [p for p in patterns if p not in matched]
    for p in missing:
        print(f"\n! no {' or '.join(k[:-1] for k in kinds)} plugin matches {p!r}", file=out)
    if problems:
        print(f"\n{len(problems)} problem(s) above: the workflow refuses to start until they are "
              "fixed.", file=out)
    return 1 if problems or missing else 0


if __name__ == "__main__":
    sys.exit(main_reporting_failure())
