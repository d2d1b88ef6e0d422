"""The latent graph model p(G | Z) of DiBS.

A particle is Z = (U, V) stored as one tensor ``z`` of shape [..., d, k, 2] with
``U = z[..., 0]`` [..., d, k] and ``V = z[..., 1]`` [..., d, k]. Its edge scores are
s = U Vᵀ [..., d, d]; edges are independent with p(g_ij = 1 | Z) = σ(α s_ij) for
i ≠ j; the diagonal is not modelled (always 0). Convention: ``g[i, j] = 1`` is i → j.

Shape letters used throughout torchdibs: P particles, S Monte Carlo samples,
d nodes, k latent dimension, T parameters per particle, n data rows.
"""
from __future__ import annotations

import torch


def offdiag(d: int, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """[d, d] matrix of ones with a zero diagonal."""
    return torch.ones(d, d, device=device, dtype=dtype) - torch.eye(d, device=device, dtype=dtype)


def edge_scores(z: torch.Tensor) -> torch.Tensor:
    """Scores s = U Vᵀ: z [..., d, k, 2] -> [..., d, d] (diagonal not masked)."""
    return torch.einsum("...ik,...jk->...ij", z[..., 0], z[..., 1])


def edge_probs(z: torch.Tensor, alpha: float) -> torch.Tensor:
    """p(g_ij = 1 | Z) = σ(α s_ij): z [..., d, k, 2] -> [..., d, d], diagonal 0."""
    s = edge_scores(z)  # [..., d, d]
    return torch.sigmoid(alpha * s) * offdiag(s.shape[-1], device=s.device, dtype=s.dtype)


def log_prob_graphs(g: torch.Tensor, z: torch.Tensor, alpha: float) -> torch.Tensor:
    """log p(G | Z) = Σ_{i≠j} g_ij log σ(α s_ij) + (1 − g_ij) log σ(−α s_ij).

    Args:
        g: [..., d, d] graphs (0/1), broadcastable against the scores of ``z``.
        z: [..., d, k, 2] particles.
    Returns:
        [...] log probabilities (differentiable in ``z``).
    """
    s = alpha * edge_scores(z)  # [..., d, d]
    mask = offdiag(s.shape[-1], device=s.device, dtype=s.dtype)
    terms = g * torch.nn.functional.logsigmoid(s) + (1 - g) * torch.nn.functional.logsigmoid(-s)
    return (terms * mask).sum((-2, -1))


def sample_graphs(probs: torch.Tensor, n_samples: int, generator: torch.Generator) -> torch.Tensor:
    """Hard Bernoulli samples G ~ p(G | Z), never differentiable.

    Args:
        probs: [P, d, d] edge probabilities (diagonal 0).
        n_samples: S.
    Returns:
        [P, S, d, d] 0/1 graphs in the dtype of ``probs``.
    """
    p = probs.detach()
    u = torch.rand((p.shape[0], n_samples, *p.shape[1:]), generator=generator,
                   device=p.device, dtype=p.dtype)  # [P, S, d, d]
    return (u < p[:, None]).to(p.dtype)


def logistic_noise(shape: tuple[int, ...], generator: torch.Generator, *, device=None,
                   dtype=torch.float32) -> torch.Tensor:
    """i.i.d. Logistic(0, 1) noise L = log u − log(1 − u), u ~ U(0, 1), of ``shape``."""
    return logistic_from_uniform(uniform_draws(shape, generator, device=device, dtype=dtype))


def logistic_from_uniform(u: torch.Tensor) -> torch.Tensor:
    """L = log u − log(1 − u) for uniforms u (clamped away from 0 and 1): same shape."""
    u = u.clamp(torch.finfo(u.dtype).tiny, 1 - 1e-7)
    return torch.log(u) - torch.log1p(-u)


def uniform_draws(shape: tuple[int, ...], generator: torch.Generator, *, device=None,
                  dtype=torch.float32) -> torch.Tensor:
    """The U(0, 1) draws behind ``logistic_noise`` (the same random stream): [shape]."""
    return torch.rand(shape, generator=generator, device=device, dtype=dtype)


def soft_graphs_from_uniform(s: torch.Tensor, alpha: float, u: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """``soft_graphs_from_scores`` with the noise given as its uniforms u (L = logit u).

    For τ = 1, σ(logit u + a) = u / (u + (1 − u) E) with E = e^(−a): the transcendental
    work is on the [P, d, d] scores, and the [P, S, d, d] samples need a subtraction, a
    fused multiply-add and a division (all terms positive: no cancellation) instead of
    log, log1p and a sigmoid. u is
    clamped to [tiny, 1 − 1e-7] as in ``logistic_from_uniform`` and E to at most a quarter
    of the dtype's largest value (reached only where the entry is below 1e-30 anyway), so
    the result equals the logistic path up to rounding. Other τ take the logistic path.

    Args:
        s: [P, d, d] scores U Vᵀ.  u: [P, S, d, d] uniforms (overwritten with the result).
    Returns:
        [P, S, d, d] soft graphs (the storage of ``u``), diagonal 0.
    """
    if tau != 1.0:
        return soft_graphs_from_scores(s, alpha, logistic_from_uniform(u), tau)
    e = torch.exp(-alpha * s).clamp_(max=torch.finfo(s.dtype).max / 4)[:, None]  # [P, 1, d, d]
    u = u.clamp_(torch.finfo(u.dtype).tiny, 1 - 1e-7)
    g = u.div_(torch.addcmul(u, 1.0 - u, e))  # [P, S, d, d]
    g.diagonal(dim1=-2, dim2=-1).zero_()
    return g


def soft_graphs(z: torch.Tensor, alpha: float, eps: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """Gumbel-soft graphs σ(τ (L + α s)), diagonal 0; differentiable in ``z``.

    Args:
        z: [P, d, k, 2] particles.
        eps: [P, S, d, d] Logistic(0, 1) noise L.
    Returns:
        [P, S, d, d] soft adjacency matrices with entries in (0, 1).
    """
    return soft_graphs_from_scores(edge_scores(z), alpha, eps, tau)


def soft_graphs_from_scores(s: torch.Tensor, alpha: float, eps: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """``soft_graphs`` from precomputed scores s = U Vᵀ [P, d, d]: -> [P, S, d, d]."""
    g = torch.sigmoid(tau * (eps + alpha * s[:, None]))  # [P, S, d, d]
    return g * offdiag(s.shape[-1], device=s.device, dtype=s.dtype)


def limit_graphs(z: torch.Tensor) -> torch.Tensor:
    """The α → ∞ graphs 1[U Vᵀ > 0]: z [..., d, k, 2] -> [..., d, d] int8, diagonal 0.

    These may be cyclic; DiBS relies on the acyclicity prior to make that rare.
    """
    s = edge_scores(z)  # [..., d, d]
    g = (s > 0).to(torch.int8)
    return g * offdiag(s.shape[-1], device=s.device, dtype=torch.int8)


def grad_z_from_scores(z: torch.Tensor, grad_s: torch.Tensor) -> torch.Tensor:
    """Chain rule through s = U Vᵀ.

    Args:
        z: [P, d, k, 2] particles.
        grad_s: [P, d, d] gradient of some function with respect to the scores s.
    Returns:
        [P, d, k, 2] gradient with respect to z: ∂/∂U = grad_s V, ∂/∂V = grad_sᵀ U.
    """
    gu = grad_s @ z[..., 1]  # [P, d, k]
    gv = grad_s.transpose(-1, -2) @ z[..., 0]  # [P, d, k]
    return torch.stack((gu, gv), dim=-1)
