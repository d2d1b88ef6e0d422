"""Joint DiBS over a whole fit: every ``--every`` steps (100), the time per step and, for
the MLP, how many samples per particle its backward pass kept
(``MLPGaussian.log_joint_softmax_grad`` skips samples whose softmax weight is below eps² of
the largest, so its cost depends on t).

Linear Gaussian data (n = 100, ER-2), the paper's MLP settings (α slope 0.02, h = 5,
h_θ = 1000), ``--particles`` particles, 128 / 32 Monte Carlo samples, one thread.

    python bench/joint_fit_steps.py --model mlp --d 20 --steps 3000   # 21 min on the slow VM of bench/RESULTS.md
    python bench/joint_fit_steps.py --d 5 --steps 20 --every 10 --json rows.json
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="mlp", choices=["mlp", "linear"])
    ap.add_argument("--d", type=int, default=20)
    ap.add_argument("--particles", type=int, default=30)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    C.set_threads(1)
    import torch

    import torchdibs as td

    x, _, _ = C.linear_gaussian_data(a.d, 100, seed=0)
    model = td.make_model(a.model, x=x)
    kept = []
    if hasattr(model, "_backward"):  # count the samples each backward call receives
        backward = model._backward

        def counting(par, p, g_t, *args, **kw):
            kept.append(g_t.shape[0])
            return backward(par, p, g_t, *args, **kw)

        model._backward = counting
    dibs = td.JointDiBS(model=model, n_particles=a.particles, n_grad_samples=128, n_acyclic_samples=32,
                        alpha_slope=0.02, h_latent=5.0, h_theta=1000.0, graph_prior="er", edges_per_node=2.0)
    td.allocator.keep_freed_memory()
    rows, calls_per_step = [], 2 * a.particles
    with torch.no_grad():
        gen = dibs.make_generator(0)
        st = dibs.init_state(gen)
        start = last = time.perf_counter()
        for t in range(1, a.steps + 1):
            st = dibs.step(st, gen)
            if t % a.every == 0:
                now = time.perf_counter()
                row = {"step": t, "ms_per_step": 1e3 * (now - last) / a.every,
                       "kept_per_particle_call": sum(kept) / (calls_per_step * a.every) if kept else None}
                print(row, flush=True)
                rows.append(row)
                last = now
                kept.clear()
        total = time.perf_counter() - start
    rows.append({"step": "all", "ms_per_step": 1e3 * total / a.steps})
    C.report(rows, ["step", "ms_per_step", "kept_per_particle_call"], a)


if __name__ == "__main__":
    main()
