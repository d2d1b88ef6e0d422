"""Joint MLP DiBS: per-step time with the hand-written gradients against autograd.

The same JointDiBS run (d nodes, n = 100 rows of linear Gaussian data, the paper's MLP
settings: one hidden layer of 5 units, α slope 0.02, h_θ = 1000) is stepped with
``MLPGaussian.log_joint_softmax_grad`` (closed form) and with the model hidden behind a wrapper
that offers only ``log_joint``, so that DiBS falls back to autograd. The two alternate
``--reps`` times in one process, each timing ``--steps`` SVGD steps after two untimed
ones, for each number of Monte Carlo samples in ``--samples``.

    python bench/mlp_gradients.py                     # d = 20, 30 particles, 128 and 16 samples
    python bench/mlp_gradients.py --samples 128 --reps 3
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402


class AutogradOnly:
    """A joint model seen without its closed-form gradient (DiBS then uses autograd)."""

    def __init__(self, model):
        self._model = model

    def __getattr__(self, name):
        if name == "log_joint_softmax_grad":
            raise AttributeError(name)
        return getattr(self._model, name)


def ms_per_step(model, *, particles: int, samples: int, steps: int, seed: int) -> float:
    import torch

    import torchdibs as td

    dibs = td.JointDiBS(model=model, n_particles=particles, n_grad_samples=samples, n_acyclic_samples=32,
                        alpha_slope=0.02, h_latent=5.0, h_theta=1000.0, graph_prior="er", edges_per_node=2.0)
    td.allocator.keep_freed_memory()
    gen = dibs.make_generator(seed)
    with torch.no_grad():
        st = dibs.init_state(gen)
        for _ in range(2):  # t = 0 skips the likelihood gradient; t = 1 warms up
            st = dibs.step(st, gen)
        t0 = time.perf_counter()
        for _ in range(steps):
            st = dibs.step(st, gen)
        return 1e3 * (time.perf_counter() - t0) / steps


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--d", type=int, default=20)
    ap.add_argument("--particles", type=int, default=30)
    ap.add_argument("--samples", default="128,16", help="Monte Carlo samples of the likelihood gradients")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="write the rows here")
    a = ap.parse_args(argv)
    C.set_threads(a.threads)
    import torchdibs as td

    x, _, _ = C.linear_gaussian_data(a.d, 100, seed=0)
    model = td.make_model("mlp", x=x)
    rows = []
    for samples in [int(s) for s in a.samples.split(",")]:
        times = {"closed": [], "autograd": []}
        for rep in range(a.reps):
            for kind, m in (("closed", model), ("autograd", AutogradOnly(model))):
                times[kind].append(ms_per_step(m, particles=a.particles, samples=samples, steps=a.steps, seed=rep))
                print(f"  samples={samples} rep {rep} {kind}: {times[kind][-1]:.0f} ms/step", flush=True)
        closed, auto = min(times["closed"]), min(times["autograd"])
        rows.append({"d": a.d, "particles": a.particles, "samples": samples, "steps": a.steps,
                     "closed_ms": closed, "autograd_ms": auto, "ratio": closed / auto})
    C.report(rows, ["d", "particles", "samples", "steps", "closed_ms", "autograd_ms", "ratio"], a)


if __name__ == "__main__":
    main()
