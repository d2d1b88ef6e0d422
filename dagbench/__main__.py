"""Command line of the workflow's jobs: ``python -m dagbench STEP ...``.

The Snakefile's rules call these; a person can too, e.g. to rerun one fit by hand:
    python -m dagbench fit --spec '{"id": "pc", "method": "pc", "params": {}}' \
        --data results/data/SETTING/seed0.npz --seed 0 --out /tmp/pc.json
``--threads N`` caps torch and BLAS threads; it is applied before numpy or torch load.
"""
from __future__ import annotations

import argparse
import json
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dagbench")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch and BLAS")
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
        aggregate(args.scores, csv_path=args.csv, summary_path=args.summary, summary_html=args.summary_html)
        if args.resolved_config:  # last, so the config on disk always belongs to the tables beside it
            from dagbench.io import atomic_write_text
            atomic_write_text(args.resolved_config, args.resolved_config_text)
    elif args.step == "plot":
        from evaluation.plots import plot_all
        from pathlib import Path
        plot_all(args.table, results=Path(args.table).resolve().parent.parent, outdir=args.outdir,
                 highlight=args.highlight)
    return 0


def main_reporting_failure(argv: list[str] | None = None) -> int:
    """``main``; when it raises, the traceback and then one last line, ``ErrorType: message``
    on one line, which the workflow's rules print on screen when the job fails (the log
    keeps the traceback)."""
    try:
        return main(argv)
    except Exception as exc:
        import traceback

        traceback.print_exc()
        message = " ".join(str(exc).split())  # one line, whatever the exception's text
        print(f"{type(exc).__name__}: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main_reporting_failure())
