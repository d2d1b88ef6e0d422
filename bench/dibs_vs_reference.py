"""DiBS per-step time and posterior quality: torchdibs against the JAX reference (dibs-lib).

One numpy dataset (ER DAG, 2 edges per node, n rows, linear Gaussian, noise variance
0.1) is fed to both. Both run the reference library's default settings: 20 particles,
k = d, 128 MC samples for the likelihood gradient and 32 for acyclicity, RMSProp
lr 0.005, β slope 1, ER graph prior with 2 edges per node, and
  * BGe (MarginalDiBS):      α slope 1.0, score-function estimator, kernel h = 5;
  * linear (JointDiBS):      α slope 0.05, reparameterisation (Gumbel) estimator,
                             h_latent = 5, h_θ = 500, obs noise 0.1, edge prior N(0, 1).
Runs alternate reference / ours ``--reps`` times (seeds 0, 1, …) so that a load change on
the shared machine hits both. The reference is compiled before its clock starts (a
warm-up run of ``--chunk`` steps); each timed run is ``--steps`` steps from t = 0.
E-SHD / AUROC are of the empirical (count-weighted) posterior of each run's final
particles, scored by ``evaluation.metrics``.

    python bench/dibs_vs_reference.py --quick             # ~1 min
    python bench/dibs_vs_reference.py --steps 300 --reps 3
Without dibs-lib / jax the script says so and reports our figures only.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

SETTINGS = {
    "bge": dict(alpha_slope=1.0, h_latent=5.0, estimator="score"),
    "linear": dict(alpha_slope=0.05, h_latent=5.0, h_theta=500.0, estimator="gumbel"),
}


def run_ours(model: str, x, *, steps: int, seed: int, n_particles: int, device: str = "cpu"):
    import torch

    import torchdibs as td

    m = td.make_model(model, x=x, device=td.resolve_device(device))
    cls = td.JointDiBS if m.is_joint else td.MarginalDiBS
    dibs = cls(model=m, n_particles=n_particles, graph_prior="er", edges_per_node=2.0,
               beta_slope=1.0, lr=0.005, n_grad_samples=128, n_acyclic_samples=32,
               **SETTINGS[model])
    res = dibs.fit(steps=steps, seed=seed, progress=False)
    if m.device.type == "cuda":
        torch.cuda.synchronize()
    post = dibs.posterior(res, kind="dibs")
    return res.info["seconds"], post.graphs, post.weights


class Reference:
    """dibs-lib's MarginalDiBS / JointDiBS with the library defaults, compiled once."""

    def __init__(self, model: str, x, *, n_particles: int, chunk: int):
        import jax.numpy as jnp
        from dibs.inference import JointDiBS, MarginalDiBS
        from dibs.models import BGe, ErdosReniDAGDistribution, LinearGaussian

        d = x.shape[1]
        self.model, self.n_particles, self.chunk = model, n_particles, chunk
        gm = ErdosReniDAGDistribution(n_vars=d, n_edges_per_node=2)
        xj = jnp.asarray(x, dtype=jnp.float32)
        if model == "bge":
            self.dibs = MarginalDiBS(x=xj, graph_model=gm, likelihood_model=BGe(n_vars=d))
        else:
            lik = LinearGaussian(n_vars=d, obs_noise=0.1, mean_edge=0.0, sig_edge=1.0, min_edge=0.5)
            self.dibs = JointDiBS(x=xj, graph_model=gm, likelihood_model=lik)
        self._run(chunk, seed=12345)  # compile the fori_loop of ``chunk`` steps

    def _run(self, steps: int, *, seed: int):
        from jax import random
        return self.dibs.sample(key=random.PRNGKey(seed), n_particles=self.n_particles, steps=steps,
                                callback_every=self.chunk)

    def run(self, steps: int, *, seed: int):
        import numpy as np
        t0 = time.perf_counter()
        out = self._run(steps, seed=seed)  # returns host arrays: synchronous
        seconds = time.perf_counter() - t0
        g = np.asarray(out[0] if isinstance(out, tuple) else out)
        return seconds, g, np.ones(len(g))  # empirical: every particle counts once


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="bge,linear")
    ap.add_argument("--d", type=int, default=20)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--particles", type=int, default=20)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--chunk", type=int, default=10, help="reference: steps per compiled loop")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data-seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="--steps 30 --reps 1")
    ap.add_argument("--no-reference", action="store_true")
    ap.add_argument("--device", default="cpu", help="ours: 'cpu', 'cuda' or 'auto' (noted in each row)")
    ap.add_argument("--json", help="write the rows here")
    a = ap.parse_args(argv)
    if a.quick:
        a.steps, a.reps = 30, 1
    a.steps = max(a.chunk, a.steps // a.chunk * a.chunk)
    C.set_threads(a.threads)

    have_ref = not a.no_reference and C.peer_version("dibs", "dibs-lib") != "not installed" \
        and C.peer_version("jax", "jax") != "not installed"
    if not have_ref and not a.no_reference:
        print("dibs-lib / jax not installed (pip install '.[reference]'): reporting torchdibs only")
    x, g_true, _ = C.linear_gaussian_data(a.d, a.n, seed=a.data_seed)
    print(f"data: d={a.d} n={a.n} true edges={int(g_true.sum())}; {a.particles} particles, "
          f"{a.steps} steps, {a.threads} thread(s), reps={a.reps}", flush=True)

    rows = []
    for model in a.models.split(","):
        ref = Reference(model, x, n_particles=a.particles, chunk=a.chunk) if have_ref else None
        run_ours(model, x, steps=3, seed=999, n_particles=a.particles, device=a.device)  # warm-up
        acc = {"ours": [], "ref": []}
        for rep in range(a.reps):
            if ref is not None:
                s, g, w = ref.run(a.steps, seed=rep)
                acc["ref"].append({"ms": 1e3 * s / a.steps, **C.posterior_scores(g, w, g_true)})
                print(f"  {model} rep {rep} reference: {acc['ref'][-1]}", flush=True)
            s, g, w = run_ours(model, x, steps=a.steps, seed=rep, n_particles=a.particles, device=a.device)
            acc["ours"].append({"ms": 1e3 * s / a.steps, **C.posterior_scores(g, w, g_true)})
            print(f"  {model} rep {rep} torchdibs: {acc['ours'][-1]}", flush=True)
        row = {"model": model, "d": a.d, "particles": a.particles, "steps": a.steps, "threads": a.threads,
               "device": a.device}
        for who, runs in acc.items():
            if runs:
                for key in ("ms", "eshd", "auroc", "frac_cyclic"):
                    row[f"{who}_{key}"] = sum(r[key] for r in runs) / len(runs)
        if acc["ref"]:
            row["ratio"] = row["ours_ms"] / row["ref_ms"]
        rows.append(row)
    cols = ["model", "d", "particles", "steps", "threads", "ours_ms", "ref_ms", "ratio",
            "ours_eshd", "ref_eshd", "ours_auroc", "ref_auroc", "ours_frac_cyclic", "ref_frac_cyclic"]
    C.report(rows, cols, a)
    return rows


if __name__ == "__main__":
    main()
