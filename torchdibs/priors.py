"""Priors of DiBS: graph priors p(G) and the latent prior p(Z).

log p(Z) = −β(t) E_{p(G|Z)}[h(G)] + log N(Z; 0, σ_z² I) + log p_graph(G_α(Z)) + const,
where G_α(Z) [d, d] are the edge probabilities σ(α U Vᵀ) (the graph prior is
evaluated on them, softly) and σ_z = 1/√k by default.
"""
from __future__ import annotations

import math

import torch

from torchdibs.acyclicity import expected_acyclicity
from torchdibs.latent import edge_probs, edge_scores, grad_z_from_scores, soft_graphs_from_uniform, uniform_draws


class ErdosRenyiPrior:
    """p(G) ∝ p^E (1 − p)^(N − E), E = Σ g_ij (soft allowed), N = d(d − 1)/2.

    p is chosen so that a DAG has ``edges_per_node · d`` edges in expectation, capped
    at 0.5: for small d the expected edge count can exceed the number of node pairs,
    and an uncapped p ≥ 0.5 would make the prior reward every extra edge.
    """

    def __init__(self, *, n_vars: int, edges_per_node: float = 2.0):
        self.n_vars = n_vars
        n_pairs = max(n_vars * (n_vars - 1) / 2.0, 1.0)
        self.p = min(edges_per_node * n_vars / n_pairs, 0.5)
        self.n_pairs = n_pairs

    def log_prob(self, g: torch.Tensor) -> torch.Tensor:
        """Unnormalised log p(G): g [..., d, d] (0/1 or probabilities) -> [...]."""
        e = g.sum((-2, -1))  # [...]
        return e * math.log(self.p) + (self.n_pairs - e) * math.log1p(-self.p)


class ScaleFreePrior:
    """p(G) ∝ Π_j (1 + indeg_j)^(−3), the in-degree taken softly as Σ_i g_ij."""

    def __init__(self, *, n_vars: int, power: float = 3.0):
        self.n_vars = n_vars
        self.power = power

    def log_prob(self, g: torch.Tensor) -> torch.Tensor:
        """Unnormalised log p(G): g [..., d, d] -> [...]."""
        indeg = g.sum(-2)  # [..., d]
        return -self.power * torch.log1p(indeg).sum(-1)


class UniformPrior:
    """p(G) ∝ 1 over graphs (acyclicity is enforced by the latent prior, not here)."""

    def __init__(self, *, n_vars: int):
        self.n_vars = n_vars

    def log_prob(self, g: torch.Tensor) -> torch.Tensor:
        """log p(G) = 0: g [..., d, d] -> [...] (differentiable, zero gradient)."""
        return g.sum((-2, -1)) * 0.0


def make_graph_prior(name: str, *, n_vars: int, edges_per_node: float = 2.0):
    """'er' -> ErdosRenyiPrior, 'sf' -> ScaleFreePrior, 'uniform' -> UniformPrior."""
    if name == "uniform":
        return UniformPrior(n_vars=n_vars)
    if name == "er":
        return ErdosRenyiPrior(n_vars=n_vars, edges_per_node=edges_per_node)
    if name == "sf":
        return ScaleFreePrior(n_vars=n_vars)
    raise ValueError(f"unknown graph prior '{name}' (known: er, sf, uniform)")


def grad_log_prior_z(z: torch.Tensor, *, alpha: float, beta: float, tau: float, sigma_z: float,
                     graph_prior, n_acyclic_samples: int,
                     generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """∇_Z log p(Z) = −β ∇E[h(G_soft)] − Z/σ_z² + ∇ log p_graph(G_α(Z)).

    Closed form, no autograd through h: with M = I + G/d, ∂h/∂G = (M^(d−1))ᵀ, and
    ∂G_soft/∂s = τ α G (1 − G) (0 on the diagonal), so one batched ``matrix_power`` gives
    both h = tr(M^(d−1) M) − d and its gradient. Only the graph prior (any object with
    ``log_prob``) goes through autograd, on the [P, d, d] edge probabilities. Same
    random draws and the same gradient (up to rounding) as ``grad_log_prior_z_autograd``.

    Args:
        z: [P, d, k, 2] particles.
    Returns:
        ([P, d, k, 2] gradient, [P] the Monte Carlo estimate of E[h] used).
    """
    z = z.detach()
    P, d = z.shape[0], z.shape[1]
    u = uniform_draws((P, n_acyclic_samples, d, d), generator, device=z.device, dtype=z.dtype)  # [P, S, d, d]
    g = soft_graphs_from_uniform(edge_scores(z), alpha, u, tau)  # [P, S, d, d]
    m = g / d
    m.diagonal(dim1=-2, dim2=-1).add_(1.0)  # [P, S, d, d]  I + G/d
    md1 = torch.linalg.matrix_power(m, d - 1)  # [P, S, d, d]  M^(d-1)
    h = (md1 * m.transpose(-1, -2)).sum((-2, -1)).mean(1) - d  # [P]  tr(M^(d-1) M) - d
    # d(-β mean_S h)/ds = -β/S Σ_S (M^(d-1))ᵀ ⊙ τα g(1 - g)
    grad_s = torch.einsum("psji,psij->pij", md1, g * (1.0 - g)) * (-beta * tau * alpha / n_acyclic_samples)
    p = edge_probs(z, alpha)  # [P, d, d]
    with torch.enable_grad():
        p_ = p.detach().requires_grad_(True)
        (dp,) = torch.autograd.grad(graph_prior.log_prob(p_).sum(), p_, allow_unused=True)  # [P, d, d]
    if dp is not None:
        grad_s = grad_s + dp * (alpha * p * (1.0 - p))  # σ' (0 on the diagonal, where p = 0)
    return grad_z_from_scores(z, grad_s) - z / sigma_z ** 2, h


def grad_log_prior_z_autograd(z: torch.Tensor, *, alpha: float, beta: float, tau: float, sigma_z: float,
                              graph_prior, n_acyclic_samples: int,
                              generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The plain autograd form of ``grad_log_prior_z`` (kept as its reference in the tests)."""
    with torch.enable_grad():
        z_ = z.detach().requires_grad_(True)
        h = expected_acyclicity(z_, alpha=alpha, tau=tau, n_samples=n_acyclic_samples,
                                generator=generator)  # [P]
        log_pg = graph_prior.log_prob(edge_probs(z_, alpha))  # [P]
        obj = (-beta * h + log_pg).sum()
        (grad,) = torch.autograd.grad(obj, z_)  # [P, d, k, 2]
    return grad - z.detach() / sigma_z ** 2, h.detach()
