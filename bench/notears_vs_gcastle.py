"""NOTEARS (linear, l2, λ1 = 0.1, threshold 0.3): methods/notears.py against gCastle 1.0.4.

One numpy dataset per d (ER DAG with 2 edges per node, weights ±U(0.5, 2), noise N(0, 1),
n rows) is given to both. Runs alternate gCastle / ours ``--reps`` times. Both use the
same outer settings (max_iter 100, h_tol 1e-8, rho_max 1e16) and threshold; each keeps
its own acyclicity function (ours tr exp(W∘W) − d as in the NOTEARS paper, gCastle's
tr (I + W∘W/d)^d − d), so SHD is reported beside the time. Ours is the dagbench plugin
(``methods.notears.NOTEARS().fit``), thresholded and cycle-checked as in a real run.

    python bench/notears_vs_gcastle.py --quick            # d = 20 only, ~1 min
    python bench/notears_vs_gcastle.py --d 20,50 --reps 2  # ~8 min (gCastle ≈ 100 s at d = 50)
Without gcastle the script says so and reports our figures only.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402


def run_ours(x):
    import numpy as np

    from methods.notears import NOTEARS
    from simulators.base import Dataset

    d = x.shape[1]
    data = Dataset(x=x, x_heldout=x[:2], g_true=np.zeros((d, d), np.int8))
    t0, c0 = time.perf_counter(), time.process_time()
    post = NOTEARS().fit(data, seed=0)
    return time.perf_counter() - t0, time.process_time() - c0, post.graphs[0], post.info


def run_gcastle(x):
    import numpy as np
    from castle.algorithms import Notears

    t0, c0 = time.perf_counter(), time.process_time()
    algo = Notears(lambda1=0.1, loss_type="l2", max_iter=100, h_tol=1e-8, rho_max=1e16, w_threshold=0.3)
    algo.learn(x)
    return time.perf_counter() - t0, time.process_time() - c0, np.asarray(algo.causal_matrix).astype(np.int8), {}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--d", default="20,50")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data-seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="--d 20 --reps 1")
    ap.add_argument("--no-reference", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    if a.quick:
        a.d, a.reps = "20", 1
    C.set_threads(a.threads)
    import os
    os.environ.setdefault("CASTLE_BACKEND", "pytorch")
    logging.disable(logging.INFO)  # gCastle logs every inner solve at INFO
    from evaluation.metrics import shd

    have_ref = not a.no_reference and C.peer_version("castle", "gcastle") != "not installed"
    if not have_ref and not a.no_reference:
        print("gcastle not installed (pip install '.[reference]'): reporting ours only")
    rows = []
    for d in [int(v) for v in a.d.split(",")]:
        x, g_true, _ = C.linear_gaussian_data(d, a.n, seed=a.data_seed, noise_var=1.0)
        acc = {"ours": [], "ref": []}
        for rep in range(a.reps):
            for who, fn in (("ref", run_gcastle), ("ours", run_ours)):
                if who == "ref" and not have_ref:
                    continue
                wall, cpu, g, info = fn(x)
                acc[who].append({"s": wall, "cpu_s": cpu, "shd": shd(g, g_true), "edges": int(g.sum()),
                                 "fev": info.get("function_evals", "")})
                print(f"  d={d} rep {rep} {who}: {acc[who][-1]}", flush=True)
        row = {"d": d, "n": a.n, "true_edges": int(g_true.sum()), "threads": a.threads}
        for who, runs in acc.items():
            if runs:
                row[f"{who}_s"] = sum(r["s"] for r in runs) / len(runs)
                row[f"{who}_cpu_s"] = sum(r["cpu_s"] for r in runs) / len(runs)
                row[f"{who}_shd"] = sum(r["shd"] for r in runs) / len(runs)
        if acc["ref"]:
            row["ratio"] = row["ours_s"] / row["ref_s"]
        rows.append(row)
    cols = ["d", "n", "true_edges", "threads", "ours_s", "ref_s", "ratio", "ours_cpu_s", "ref_cpu_s",
            "ours_shd", "ref_shd"]
    C.report(rows, cols, a)
    return rows


if __name__ == "__main__":
    main()
