"""Whole dibs_bge fits with the plugin's default budget by d (``DibsBge.budget``): wall time,
peak memory and how many distinct graphs the posterior holds, so that the defaults chosen
at d = 4 and 5 (docs/results/posterior-budget/) are seen to stay usable at larger d.

Each d runs in its own process (its peak RSS is its own), one thread, on linear-Gaussian
data (ER, 1 edge per node, n = 100, standardised: the ``linear`` simulator as in
config/exact.yaml), DiBS+ with every other parameter at its default.

    python bench/dibs_budget.py                       # d = 4, 5, 10, 20: ~5 min on one core
    python bench/dibs_budget.py --d 4,5 --json bench/results/dibs_budget.json
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402


def one(d: int, n: int, seed: int) -> dict:
    C.set_threads(1)
    from methods.base import get
    from simulators.base import get as get_simulator

    data = get_simulator("linear")(graph="er", edges_per_node=1.0, d=d, n=n, n_heldout=10, noise="gaussian",
                                   standardise=True).simulate(seed=seed)
    method = get("dibs_bge")(posterior="dibs+")
    base = C.peak_rss_mib()
    t0 = time.perf_counter()
    post = method.fit(data, seed=seed)
    wall = time.perf_counter() - t0
    return {"d": d, "n": n, "particles": post.info["n_particles"], "steps": post.info["steps"],
            "fit_s": wall, "ms_per_step": post.info.get("ms_per_step"), "distinct_graphs": len(post.graphs),
            "frac_cyclic_particles": post.info.get("frac_cyclic_particles"),
            "peak_rss_mib": C.peak_rss_mib(), "extra_rss_mib": C.peak_rss_mib() - base}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--d", default="4,5,10,20")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per fit")
    ap.add_argument("--json")
    ap.add_argument("--one", nargs=3, type=int, metavar=("D", "N", "SEED"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.one:
        print("RESULT " + json.dumps(one(*a.one)))
        return
    rows = []
    for d in (int(v) for v in a.d.split(",")):
        cmd = [sys.executable, __file__, "--one", str(d), str(a.n), str(a.seed)]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout)
            lines = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")]
            row = json.loads(lines[-1][7:]) if lines else {"d": d, "error": (r.stderr.strip().splitlines() or ["?"])[-1]}
        except subprocess.TimeoutExpired:
            row = {"d": d, "error": f"over {a.timeout:.0f} s"}
        print(row, flush=True)
        rows.append(row)
    C.report(rows, ["d", "n", "particles", "steps", "fit_s", "ms_per_step", "distinct_graphs",
                    "frac_cyclic_particles", "peak_rss_mib", "extra_rss_mib", "error"], a)


if __name__ == "__main__":
    main()
