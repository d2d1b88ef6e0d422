"""Bias, variance and cost of DiBS's graph-gradient estimators at d = 4 (bench/ESTIMATORS.md).

Every estimator in ``torchdibs.ESTIMATORS`` estimates ∇_Z log E_{p(G|Z)}[f(G)], f = p(D | G)
(BGe). At d = 4, p(G | Z) (independent edges, cycles allowed, diagonal 0) ranges over all
2^12 = 4096 graphs, so the exact gradient is one autograd call through a log-sum-exp over
all of them. Each estimator is called with the same budget of S likelihood evaluations
per particle; R replicate calls at the same Z (batched as R copies of the particle) give
its mean and covariance:

    bias = ‖E[ĝ] − g‖ / ‖g‖  (debiased: ‖mean − g‖² − tr Cov / R, floored at 0),
    var  = tr Cov[ĝ] / ‖g‖²,   rmse = √(bias² + var),   cos = cos∠(E[ĝ], g),

averaged over a few random particles Z. Two data regimes: n = 10 rows (flat f, where
baselines matter) and n = 100 (peaked f, where one sample dominates the weights). The
stateful estimators (score_ema, aimle) first get ``--warmup`` calls at the same Z, which
is their best case (in a DiBS run Z moves between calls). Wall time per sample is
measured at d = 4 (this batch) and at d = 20 (BGe, 20 particles, S = 32, one thread).

    python bench/estimators.py            # full: S in 4, 16, 64; R = 400; ~5 min on one core
    python bench/estimators.py --quick    # S in 4, 16; R = 100; under a minute
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

import torchdibs as td
from torchdibs.latent import log_prob_graphs

D, K, ALPHA = 4, 4, 1.0
STATEFUL = ("score_ema", "aimle")


def all_graphs(d: int) -> torch.Tensor:
    """[2^(d(d−1)), d, d] float64: every graph with a zero diagonal."""
    off = [(i, j) for i in range(d) for j in range(d) if i != j]
    bits = (torch.arange(2 ** len(off))[:, None] >> torch.arange(len(off))) & 1
    g = torch.zeros(len(bits), d, d, dtype=torch.float64)
    g[:, [i for i, _ in off], [j for _, j in off]] = bits.double()
    return g


def make_data(n: int, seed: int) -> np.ndarray:
    """n rows of a linear-Gaussian SEM on 0→1, 1→2, 0→3, 2→3, standardised."""
    rng = np.random.default_rng(seed)
    w = np.zeros((D, D))
    w[0, 1], w[1, 2], w[0, 3], w[2, 3] = 1.5, -1.2, 0.9, 1.3
    x = np.zeros((n, D))
    for j in range(D):  # 0, 1, 2, 3 is a topological order
        x[:, j] = x @ w[:, j] + rng.normal(size=n)
    return (x - x.mean(0)) / x.std(0)


def exact_gradients(bge: td.BGe, z: torch.Tensor) -> torch.Tensor:
    """∇_Z log E_{p(G|Z)}[f(G)] for each particle: z [P, d, k, 2] -> [P, d, k, 2]."""
    graphs = all_graphs(D)  # [4096, d, d]
    lf = bge.log_marginal_hard(graphs)  # [4096]
    zr = z.clone().requires_grad_(True)
    lp = log_prob_graphs(graphs[None], zr[:, None], ALPHA)  # [P, 4096]
    (grad,) = torch.autograd.grad(torch.logsumexp(lp + lf[None], 1).sum(), zr)
    return grad


def measure(name: str, bge: td.BGe, z: torch.Tensor, exact: torch.Tensor, *, S: int, R: int,
            warmup: int, seed: int) -> dict:
    """Bias, variance, rmse, cosine (means over particles) and µs per sample of one estimator."""
    n_z = z.shape[0]
    zr = z.repeat_interleave(R, 0)  # [n_z R, d, k, 2]

    def log_f(g, *, hard):
        return bge.log_marginal_hard(g) if hard else bge.log_marginal(g)

    est, gen = td.make_estimator(name), torch.Generator().manual_seed(seed)
    for _ in range(warmup if name in STATEFUL else 1):  # stateless: one untimed call (lazy init)
        est.grad_z(zr, log_f, alpha=ALPHA, n_samples=S, generator=gen)
    t0 = time.perf_counter()
    out = est.grad_z(zr, log_f, alpha=ALPHA, n_samples=S, generator=gen)  # [n_z R, d, k, 2]
    seconds = time.perf_counter() - t0
    out = out.reshape(n_z, R, -1)  # [n_z, R, D]
    ex = exact.reshape(n_z, -1)  # [n_z, D]
    mean, var = out.mean(1), out.var(1).sum(1)  # [n_z, D], [n_z]
    norm2 = (ex * ex).sum(1)  # [n_z]
    bias2 = (((mean - ex) ** 2).sum(1) - var / R).clamp(min=0) / norm2
    rel_var = var / norm2
    cos = (mean * ex).sum(1) / (mean.norm(dim=1) * ex.norm(dim=1)).clamp(min=1e-300)
    return {"estimator": name, "S": S, "bias": float(bias2.sqrt().mean()), "var": float(rel_var.mean()),
            "rmse": float((bias2 + rel_var).sqrt().mean()), "cos": float(cos.mean()),
            "us_per_sample_d4": 1e6 * seconds / (n_z * R * S)}


def time_d20(name: str, reps: int) -> float:
    """µs per sample of one grad_z call on BGe at d = 20 (20 particles, S = 32, float32 z)."""
    x = make_data(100, 0)
    x = np.concatenate([x] * 5, axis=1)  # [100, 20]: 5 copies of the 4 columns
    x = x + 0.1 * np.random.default_rng(1).normal(size=x.shape)
    bge = td.BGe(x=x)

    def log_f(g, *, hard):
        return bge.log_marginal_hard(g) if hard else bge.log_marginal(g)

    z = 0.5 * torch.randn(20, 20, 20, 2, generator=torch.Generator().manual_seed(0))
    est, gen = td.make_estimator(name), torch.Generator().manual_seed(1)
    est.grad_z(z, log_f, alpha=ALPHA, n_samples=32, generator=gen)  # warm up
    t0 = time.perf_counter()
    for _ in range(reps):
        est.grad_z(z, log_f, alpha=ALPHA, n_samples=32, generator=gen)
    return 1e6 * (time.perf_counter() - t0) / (reps * 20 * 32)


def markdown(rows: list[dict], timing: dict[str, float]) -> str:
    lines = ["| regime | estimator | S | bias | var | rmse | cos | µs/sample d=4 | µs/sample d=20 |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['regime']} | {r['estimator']} | {r['S']} | {r['bias']:.3f} | {r['var']:.3g} | "
                     f"{r['rmse']:.3f} | {r['cos']:.3f} | {r['us_per_sample_d4']:.1f} | "
                     f"{timing.get(r['estimator'], float('nan')):.0f} |")
    return "\n".join(lines)


def plot(rows: list[dict], regimes: list[str], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r["estimator"] for r in rows))
    fig, axes = plt.subplots(len(regimes), 2, figsize=(10, 3.6 * len(regimes)), squeeze=False)
    for i, regime in enumerate(regimes):
        for j, (key, label) in enumerate((("bias", "relative bias ‖E ĝ − g‖/‖g‖"),
                                          ("var", "relative variance tr Cov ĝ / ‖g‖²"))):
            ax = axes[i, j]
            for name in names:
                sel = [r for r in rows if r["regime"] == regime and r["estimator"] == name]
                ax.plot([r["S"] for r in sel], [max(r[key], 1e-4) for r in sel], "o-", label=name)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("S (likelihood evaluations per estimate)")
            ax.set_title(f"{regime}: {label}", fontsize=9)
            ax.grid(alpha=0.3)
    axes[0, 1].legend(fontsize=8)
    fig.suptitle("DiBS gradient estimators vs the exact ∇_Z log E[p(D|G)] at d = 4 (BGe)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="S in 4, 16; R = 100; fewer timing reps")
    ap.add_argument("--reps", type=int, default=None, help="replicates R per particle")
    ap.add_argument("--particles", type=int, default=3, help="random particles Z averaged over")
    ap.add_argument("--warmup", type=int, default=20, help="calls before measuring score_ema / aimle")
    ap.add_argument("--figure", default=str(Path(__file__).with_name("estimators_d4.png")))
    ap.add_argument("--csv", default=None, help="also write the rows as CSV here")
    ap.add_argument("--no-d20", action="store_true", help="skip the d = 20 timing")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    sizes = (4, 16) if args.quick else (4, 16, 64)
    R = args.reps or (100 if args.quick else 400)
    regimes = {"n=10 (flat f)": 10, "n=100 (peaked f)": 100}
    z = torch.randn(args.particles, D, K, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    rows = []
    for regime, n in regimes.items():
        bge = td.BGe(x=make_data(n, seed=0))
        exact = exact_gradients(bge, z)
        for name in td.ESTIMATORS:
            for S in sizes:
                row = measure(name, bge, z, exact, S=S, R=R, warmup=args.warmup, seed=S)
                rows.append({"regime": regime, **row})
                print(f"{regime:18s} {name:10s} S={S:3d} bias={row['bias']:.3f} var={row['var']:.3g} "
                      f"cos={row['cos']:.3f}", file=sys.stderr, flush=True)
    timing = {} if args.no_d20 else {name: time_d20(name, 2 if args.quick else 5) for name in td.ESTIMATORS}
    print(markdown(rows, timing))
    plot(rows, list(regimes), Path(args.figure))
    print(f"\nfigure: {args.figure}", file=sys.stderr)
    if args.csv:
        import pandas as pd
        df = pd.DataFrame(rows)
        df["us_per_sample_d20"] = df["estimator"].map(timing)
        df.to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
