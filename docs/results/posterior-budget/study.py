"""Equal-wall-time study of DiBS posteriors against the exact posterior (issue 20).

    python docs/results/posterior-budget/study.py run [--workers 2] [--config study.yaml]
    python docs/results/posterior-budget/study.py tables

``run`` makes every dataset of the config (the harness's simulator plugins), fits every
method on it (the harness's method plugins and ``dagbench.bootstrap``, one thread each)
and scores the fit with the harness's ``evaluation.scoring.score_fit``, which compares it
with the exact BGe posterior (``dagposterior``) of the training rows. One JSON line per
fit goes to ``<out>/rows-<worker>.jsonl``; a rerun skips the fits already there.
A method entry may name ``only_d`` and ``only_seeds`` (lists). ``tables`` writes ``tables.md`` and
``scores.csv`` beside this file.

Not the Snakemake workflow, for time: the workflow's scoring step also computes the
held-out likelihood, SID and the rest for every fit, which for 1200-graph posteriors
costs more than the fits; here only the scores against the exact posterior are kept.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

KEYS = ("edge_mae", "tv", "kl", "e_shd_gap", "mec_mass", "exact_e_shd", "exact_mec_mass", "e_shd",
        "auroc", "frac_cyclic", "n_distinct_dags", "ess")


def _datasets(cfg):
    return [(d, n, s) for s in range(cfg["seeds"]) for d in cfg["d"] for n in cfg["n"]]


def worker(cfg: dict, k: int, n_workers: int) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from _common import set_threads  # torch, BLAS and XLA to one thread, before jax is imported

    set_threads(1)
    from dagbench.bootstrap import bootstrap_fit
    from evaluation.scoring import score_fit
    from methods.base import GraphPosterior
    from methods.base import get as get_method
    from simulators.base import get as get_simulator

    out = ROOT / cfg["out"] / f"rows-{k}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if out.exists():
        for line in out.read_text().splitlines():
            r = json.loads(line)
            done.add((r["d"], r["n"], r["seed"], r["id"]))
    for i, (d, n, seed) in enumerate(_datasets(cfg)):
        if i % n_workers != k:
            continue
        data = get_simulator(cfg["simulator"])(**cfg["params"], d=d, n=n).simulate(seed=seed)
        for m in cfg["methods"]:
            if (d, n, seed, m["id"]) in done or d not in m.get("only_d", [d]) \
                    or seed not in m.get("only_seeds", [seed]):
                continue
            method = get_method(m["method"])(**m.get("params", {}))
            method.threads = 1
            t0 = time.perf_counter()
            post = (bootstrap_fit(method, data, seed=seed, n_boot=m["bootstrap"]) if m.get("bootstrap")
                    else method.fit(data, seed=seed))
            wall = time.perf_counter() - t0
            with tempfile.TemporaryDirectory() as tmp:  # the arrays exactly as the workflow saves them
                post.save(Path(tmp) / "fit.npz")
                arrays = GraphPosterior.load_arrays(Path(tmp) / "fit.npz")
            t1 = time.perf_counter()
            scores = score_fit(arrays, data, exact_posterior=cfg["exact_posterior"])
            row = {"d": d, "n": n, "seed": seed, "id": m["id"], "fit_wall_s": wall,
                   "seconds": float(post.info.get("seconds", wall)),
                   "compile_seconds": post.info.get("compile_seconds"), "score_s": time.perf_counter() - t1,
                   **{key: scores.get(key) for key in KEYS}}
            with out.open("a") as f:
                f.write(json.dumps(row, default=float) + "\n")
            print(f"[{k}] d={d} n={n} seed={seed} {m['id']}: edge_mae {row['edge_mae']:.3f} "
                  f"tv {row['tv']:.3f} {row['seconds']:.1f} s", flush=True)


def tables(cfg: dict) -> None:
    import numpy as np
    import pandas as pd

    rows = [json.loads(line) for p in sorted((ROOT / cfg["out"]).glob("rows-*.jsonl"))
            for line in p.read_text().splitlines()]
    df = pd.DataFrame(rows)
    df.to_csv(HERE / "scores.csv", index=False, float_format="%.5g")
    order = [m["id"] for m in cfg["methods"]]
    lines = ["# Scores against the exact posterior", "",
             "Mean over seeds ± standard error; `seconds`: the fit's SVGD wall time (the reference's "
             "without JAX's compilation), one thread, two fits at a time on the 2-core machine.", ""]
    for metric in ("edge_mae", "tv", "e_shd_gap", "kl", "mec_mass", "seconds"):
        lines += [f"## {metric}", "", "| method | " + " | ".join(
            f"d={d} n={n}" for d in cfg["d"] for n in cfg["n"]) + " |",
            "|---|" + "---|" * (len(cfg["d"]) * len(cfg["n"]))]
        for mid in order:
            cells = []
            for d in cfg["d"]:
                for n in cfg["n"]:
                    v = df[(df.id == mid) & (df.d == d) & (df.n == n)][metric].astype(float).dropna()
                    cells.append(f"{v.mean():.3f} ± {v.std(ddof=1) / np.sqrt(len(v)):.3f} ({len(v)})"
                                 if len(v) > 1 else (f"{v.mean():.3f} (1)" if len(v) else "–"))
            lines.append(f"| {mid} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += _paired(df, cfg)
    (HERE / "tables.md").write_text("\n".join(lines))
    print("\n".join(lines))


def _paired(df, cfg) -> list[str]:
    """Per (d, n): our default DiBS+ against the reference and bootstrap-GES on the same
    datasets (the method ids the config's ``compare`` names)."""
    import numpy as np

    ours, ref, bges = (cfg["compare"][k] for k in ("ours", "reference", "bootstrap"))
    wide = df.pivot_table(index=["d", "n", "seed"], columns="id", values=["edge_mae", "seconds", "fit_wall_s"])
    lines = ["## Paired, per dataset", "",
             f"ours = {ours}; ref = {ref}; bGES = {bges}. `MAE ratio`: mean edge_mae of ours / of ref; "
             "`≤ ½ ref`: datasets where ours has at most half the reference's edge_mae; `< bGES`: "
             "datasets where ours is below bootstrap-GES; `Δ vs bGES`: mean (ours − bGES) edge_mae with a "
             "95 % paired bootstrap interval (10,000 resamples of datasets); `time ratio`: median over "
             "datasets of ours' SVGD seconds / the reference's (its JAX compilation left out), and of the "
             "whole fits' wall times (the reference's compilation in).", "",
             "| d | n | datasets | MAE ratio | ≤ ½ ref | < bGES | Δ vs bGES | time ratio SVGD / fit |",
             "|---|---|---|---|---|---|---|---|"]
    rng = np.random.default_rng(0)
    groups = [(d, n) for d in cfg["d"] for n in cfg["n"]] + [("all", "all")]
    for d, n in groups:
        sub = wide if d == "all" else wide.loc[(d, n)]
        mae = sub["edge_mae"][[ours, ref, bges]].dropna()
        if mae.empty:
            continue
        diff = (mae[ours] - mae[bges]).to_numpy()
        boots = rng.choice(diff, size=(10_000, len(diff))).mean(1)
        t = (sub["seconds"][ours] / sub["seconds"][ref]).dropna()
        t_fit = (sub["fit_wall_s"][ours] / sub["fit_wall_s"][ref]).dropna()
        lines.append(f"| {d} | {n} | {len(mae)} | {mae[ours].mean() / mae[ref].mean():.2f} | "
                     f"{int((mae[ours] <= 0.5 * mae[ref]).sum())}/{len(mae)} | {int((mae[ours] < mae[bges]).sum())}/{len(mae)} | "
                     f"{diff.mean():+.3f} [{np.quantile(boots, 0.025):+.3f}, {np.quantile(boots, 0.975):+.3f}] | "
                     f"{t.median():.2f} / {t_fit.median():.2f} |")
    return lines + [""]


def main(argv=None):
    import yaml

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=("run", "tables"))
    ap.add_argument("--config", default=str(HERE / "study.yaml"))
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args(argv)
    cfg = yaml.safe_load(Path(a.config).read_text())
    if a.what == "tables":
        return tables(cfg)
    procs = [mp.get_context("spawn").Process(target=worker, args=(cfg, k, a.workers)) for k in range(a.workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()


if __name__ == "__main__":
    main()
