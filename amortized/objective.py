"""The training objective of AVICI (Lorch et al., NeurIPS 2022, §3).

§3.1: the amortized variational objective reduces, for a q(G | D) that factorises over
edges, to the expected binary cross-entropy between q and the simulator's true graph,
averaged over the d(d-1) off-diagonal entries (``edge_cross_entropy``).

§3.3: acyclicity is a constraint on the mean spectral radius of the edge-probability
matrix P: ρ(P) = 0 exactly when every graph with positive probability under q is a DAG
(the NO-BEARS characterisation, Lee et al., PSB 2020: a non-negative matrix is the
adjacency of a DAG iff its spectral radius is 0). It is enforced by dual ascent: the loss
adds λ · mean ρ, and λ grows by ``dual_lr`` × (a running average of ρ) every
``dual_every`` steps after ``dual_burnin`` (``DualAscent``; the reference's defaults are
η = 1e-4 every 500 steps after 50,000 of 300,000 steps, ``example-custom/train.py``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def edge_cross_entropy(logits: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy over the off-diagonal edges (nats per edge).

    logits [B, d, d] (diagonal ignored), g [B, d, d] in {0, 1} -> scalar (mean over B)."""
    d = logits.shape[-1]
    off = ~torch.eye(d, dtype=torch.bool, device=logits.device)
    return F.binary_cross_entropy_with_logits(logits[:, off], g[:, off].to(logits.dtype))


def spectral_radius(p: torch.Tensor, iterations: int = 10) -> torch.Tensor:
    """Largest eigenvalue of each non-negative matrix p [B, d, d] -> [B], by power
    iteration from the left and right (NO-BEARS, Lee et al. 2020, §3). The eigenvectors
    are held constant, so the gradient is u^T (dP) v / u^T v, the derivative of a simple
    eigenvalue. Starting vectors are all-ones (positive: Perron-Frobenius)."""
    u = torch.ones(p.shape[:-1], dtype=p.dtype, device=p.device)
    v = torch.ones_like(u)
    with torch.no_grad():
        for _ in range(iterations):
            u = F.normalize(torch.einsum("bi,bij->bj", u, p), dim=-1, eps=1e-30)
            v = F.normalize(torch.einsum("bij,bj->bi", p, v), dim=-1, eps=1e-30)
    num = torch.einsum("bi,bij,bj->b", u, p, v)
    return num / (u * v).sum(-1).clamp_min(1e-30)


class DualAscent:
    """The acyclicity multiplier λ (Lorch et al. 2022, §3.3).

    ``penalty(rho)`` is λ · rho; ``update(step, rho)`` keeps an exponential running
    average of rho (rate ``polyak``) and, from step ``burnin`` on, every ``every`` steps,
    raises λ by ``lr`` × that average. ``state()``/``load()`` round-trip it in checkpoints.
    """

    def __init__(self, lr: float, every: int, burnin: int, polyak: float = 0.01):
        self.lr, self.every, self.burnin, self.polyak = lr, every, burnin, polyak
        self.lam = 0.0
        self.rho_avg = 0.0

    def penalty(self, rho: torch.Tensor) -> torch.Tensor:
        return self.lam * rho

    def update(self, step: int, rho: float) -> None:
        self.rho_avg += self.polyak * (rho - self.rho_avg)
        if step >= self.burnin and step % self.every == 0:
            self.lam += self.lr * self.rho_avg

    def state(self) -> dict:
        return {"lam": self.lam, "rho_avg": self.rho_avg}

    def load(self, state: dict) -> None:
        self.lam, self.rho_avg = float(state["lam"]), float(state["rho_avg"])
