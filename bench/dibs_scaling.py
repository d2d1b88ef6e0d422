"""torchdibs scaling: time per SVGD step and peak memory for d = 20, 50, 100 (200) per model.

Each configuration runs in its own process (so the peak RSS is its own): linear Gaussian
data with n = 100 rows, ``--particles`` particles (and d = 100 with 30 particles), the
library-default settings of bench/dibs_vs_reference.py (128 / 32 MC samples, k = d),
``--steps`` timed SVGD steps from t = 2, after two untimed ones (t = 0 skips the likelihood
gradient, t = 1 warms up). The first steps have the
densest graphs (α small), the worst case for BGe, whose cost falls as particles sharpen.
Peak memory: the process's peak RSS minus its RSS after imports and data (CPU), or
torch.cuda.max_memory_allocated (CUDA).

    python bench/dibs_scaling.py --quick                      # d = 20, 50; ~1 min
    python bench/dibs_scaling.py --d 20,50,100,200 --steps 5
    python bench/dibs_scaling.py --device cuda                # when a GPU is there
    python bench/dibs_scaling.py --models bge --d 20,50 --particles 30,100,300 --steps 2
    python bench/dibs_scaling.py --models linear,mlp --baseline /tmp/base --reps 3

``--baseline DIR``: a checkout of an earlier commit (``git worktree add DIR REV``) whose
own copy of this script runs every configuration too, alternating with ours ``--reps``
times, so both see the same machine load; each side's row is its fastest rep and
``ratio`` = ours / baseline.
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

FLOPS_NOTE = "GFLOP/s = the step's dominant arithmetic (see RESULTS.md) / time"


def one(model: str, d: int, particles: int, steps: int, threads: int, device: str) -> dict:
    C.set_threads(threads)
    import torch

    import torchdibs as td
    from dibs_vs_reference import SETTINGS

    x, _, _ = C.linear_gaussian_data(d, 100, seed=0)
    dev = td.resolve_device(device)
    m = td.make_model(model, x=x, device=dev)
    cls = td.JointDiBS if m.is_joint else td.MarginalDiBS
    settings = dict(SETTINGS.get(model, SETTINGS["linear"]))
    if model == "mlp":
        settings.update(alpha_slope=0.02, h_theta=1000.0)
    dibs = cls(model=m, n_particles=particles, graph_prior="er", edges_per_node=2.0, **settings)
    gen = dibs.make_generator(0)
    base = C.peak_rss_mib()
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    with torch.no_grad():
        st = dibs.init_state(gen)
        st = dibs.step(st, gen)  # t = 0 (α = 0: likelihood gradient skipped)
        st = dibs.step(st, gen)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(steps):
            st = dibs.step(st, gen)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        sec = time.perf_counter() - t0
    out = {"model": model, "d": d, "particles": particles, "steps": steps, "threads": threads,
           "device": str(dev), "ms_per_step": 1e3 * sec / steps,
           "peak_rss_mib": C.peak_rss_mib(), "extra_rss_mib": C.peak_rss_mib() - base}
    if dev.type == "cuda":
        out["cuda_peak_mib"] = torch.cuda.max_memory_allocated() / 2 ** 20
    return out


def run_one(script: Path, model: str, d: int, particles: int, a) -> dict:
    """One configuration in its own process, with the given copy of this script."""
    cmd = [sys.executable, str(script), "--one", model, str(d), str(particles), str(a.steps), str(a.threads),
           a.device]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout)
    except subprocess.TimeoutExpired:
        return {"model": model, "d": d, "particles": particles, "error": f"over {a.timeout:.0f} s"}
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")]
    if lines:
        return json.loads(lines[-1][7:])
    return {"model": model, "d": d, "particles": particles,
            "error": (r.stderr.strip().splitlines() or ["?"])[-1]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="bge,linear,mlp")
    ap.add_argument("--d", default="20,50,100")
    ap.add_argument("--particles", default="20", help="comma-separated particle counts")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per configuration")
    ap.add_argument("--quick", action="store_true", help="--d 20,50 --steps 3")
    ap.add_argument("--baseline", help="a checkout of an earlier commit to time alternately with ours")
    ap.add_argument("--reps", type=int, default=1, help="alternating repetitions (fastest kept)")
    ap.add_argument("--json")
    ap.add_argument("--one", nargs=6, metavar=("MODEL", "D", "P", "STEPS", "THREADS", "DEVICE"),
                    help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.reps < 1 or a.steps < 1:
        ap.error("--reps and --steps must be at least 1")
    if a.one:
        m, d, p, s, t, dev = a.one
        print("RESULT " + json.dumps(one(m, int(d), int(p), int(s), int(t), dev)))
        return
    if a.quick:
        a.d, a.steps = "20,50", 3
    counts = [int(p) for p in str(a.particles).split(",")]
    configs = [(m, int(d), p) for m in a.models.split(",") for d in a.d.split(",") for p in counts]
    if "100" in a.d.split(",") and 30 not in counts:
        configs += [(m, 100, 30) for m in a.models.split(",")]
    scripts = {"ours": Path(__file__).resolve()}
    if a.baseline:
        scripts["baseline"] = Path(a.baseline).resolve() / "bench" / "dibs_scaling.py"
        if not scripts["baseline"].is_file():
            ap.error(f"--baseline {a.baseline}: no bench/dibs_scaling.py there")
    rows = []
    for m, d, p in configs:
        runs = {k: [] for k in scripts}
        for rep in range(a.reps):
            for kind in (list(scripts) if rep % 2 == 0 else list(scripts)[::-1]):
                runs[kind].append(run_one(scripts[kind], m, d, p, a))
                print(kind, runs[kind][-1], flush=True)
        ok = {k: [r for r in v if "ms_per_step" in r] for k, v in runs.items()}
        best = {k: min(v, key=lambda r: r["ms_per_step"]) if v else runs[k][-1] for k, v in ok.items()}
        row = dict(best["ours"])
        if a.baseline:
            row["baseline_ms_per_step"] = best["baseline"].get("ms_per_step")
            row["baseline_peak_rss_mib"] = best["baseline"].get("peak_rss_mib")
            row["baseline_extra_rss_mib"] = best["baseline"].get("extra_rss_mib")
            if "error" in best["baseline"]:
                row["baseline_error"] = best["baseline"]["error"]
            if row.get("ms_per_step") and row["baseline_ms_per_step"]:
                row["ratio"] = row["ms_per_step"] / row["baseline_ms_per_step"]
            row["reps"] = a.reps
        rows.append(row)
    cols = ["model", "d", "particles", "steps", "threads", "device", "ms_per_step", "peak_rss_mib",
            "extra_rss_mib", "cuda_peak_mib", "baseline_ms_per_step", "baseline_peak_rss_mib",
            "baseline_extra_rss_mib", "ratio", "reps", "error", "baseline_error"]
    C.report(rows, cols, a)


if __name__ == "__main__":
    main()
