"""Where a DiBS step's time goes: wall time per stage of one SVGD step, by wrapping the
stage functions with timers (one thread; stages nest, so they do not add up to the step).

Stages: the likelihood-gradient calls (``log_joint_softmax_grad`` per ``wrt`` for joint
models; ``node_scores_hard``, ``family_scores_hard``, the family gather ``_submatrices``
and ``torch.linalg.cholesky_ex`` for BGe), for joint models the hard samples of the Θ
gradient (``sample_graphs``) and the uniforms and soft graphs of the Gumbel estimator, and
the prior (``grad_log_prior_z``: acyclicity and graph prior). Stages that the checkout
does not have (an older commit) are listed as not timed. Linear Gaussian data with n = 100,
the settings of bench/dibs_scaling.py, ``--steps`` timed steps after two untimed ones.
``--root DIR`` imports torchdibs from another checkout (``git worktree add DIR REV``), to
compare stage by stage with an earlier commit.

    python bench/dibs_stages.py --model bge --d 100 --particles 10 --steps 1
    python bench/dibs_stages.py --model mlp --d 20 --particles 30 --root /tmp/base
"""
from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="bge", choices=["bge", "linear", "mlp"])
    ap.add_argument("--d", type=int, default=20)
    ap.add_argument("--particles", type=int, default=20)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--root", help="import torchdibs from this checkout instead")
    a = ap.parse_args(argv)
    root = Path(a.root).resolve() if a.root else Path(__file__).resolve().parents[1]
    if not (root / "torchdibs" / "__init__.py").is_file():
        ap.error(f"--root {a.root}: no torchdibs package there")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import _common as C  # (puts this checkout first on sys.path)
    sys.path.insert(0, str(root))
    C.set_threads(1)
    import torch

    import torchdibs as td
    import torchdibs.estimators as est
    import torchdibs.likelihoods as lik
    import torchdibs.svgd as svgd
    from dibs_vs_reference import SETTINGS

    seconds = collections.defaultdict(float)
    missing = []  # stage functions this checkout does not have (an older commit)

    def timed(owner, name, label):
        if not hasattr(owner, name):
            missing.append(f"{getattr(owner, '__name__', owner)}.{name}")
            return
        inner = getattr(owner, name)

        def wrapper(*args, **kw):
            t0 = time.perf_counter()
            out = inner(*args, **kw)
            seconds[label if label != "wrt" else f"{name}[{kw.get('wrt', 'g')}]"] += time.perf_counter() - t0
            return out

        setattr(owner, name, wrapper)

    for cls in (lik.LinearGaussian, lik.MLPGaussian):
        timed(cls, "log_joint_softmax_grad", "wrt")
    for name in ("node_scores_hard", "family_scores_hard", "_submatrices"):
        timed(lik.BGe, name, name)
    timed(torch.linalg, "cholesky_ex", "cholesky_ex")
    timed(svgd, "sample_graphs", "sample_graphs")
    timed(svgd, "grad_log_prior_z", "grad_log_prior_z")
    timed(est, "uniform_draws", "uniform_draws (estimator)")
    timed(est, "soft_graphs_from_uniform", "soft_graphs_from_uniform")

    x, _, _ = C.linear_gaussian_data(a.d, 100, seed=0)
    m = td.make_model(a.model, x=x)
    settings = dict(SETTINGS.get(a.model, SETTINGS["linear"]))
    if a.model == "mlp":
        settings.update(alpha_slope=0.02, h_theta=1000.0)
    cls = td.JointDiBS if m.is_joint else td.MarginalDiBS
    dibs = cls(model=m, n_particles=a.particles, graph_prior="er", edges_per_node=2.0, **settings)
    td.allocator.keep_freed_memory()
    gen = dibs.make_generator(0)
    with torch.no_grad():
        st = dibs.init_state(gen)
        for _ in range(2):
            st = dibs.step(st, gen)
        seconds.clear()
        t0 = time.perf_counter()
        for _ in range(a.steps):
            st = dibs.step(st, gen)
        step = (time.perf_counter() - t0) / a.steps
    print(f"{Path(td.__file__).parents[1]}: {a.model} d={a.d} particles={a.particles}: "
          f"{1e3 * step:.0f} ms per step")
    for label, sec in sorted(seconds.items(), key=lambda kv: -kv[1]):
        print(f"  {label:32s} {1e3 * sec / a.steps:9.1f} ms")
    if missing:
        print("  not timed (not in this checkout): " + ", ".join(missing))


if __name__ == "__main__":
    main()
