"""Gradient estimators for ∇_Z log E_{p(G|Z)}[f(G)].

DiBS needs the gradient of the log expected likelihood with respect to the latent
particles. Writing w_m = f(G_m) / Σ_m' f(G_m') (computed with log-sum-exp from log f),
every estimator here is self-normalised:

* ``score`` (REINFORCE): Σ_m w_m ∇_Z log p(G_m | Z), G_m ~ p(G | Z) hard samples;
  needs only values of f, so it works for any likelihood (the DiBS default for BGe).
* ``gumbel`` (reparameterisation): Σ_m w_m ∇_Z log f(G_soft(Z, L_m)), L_m ~ Logistic(0, 1);
  needs f differentiable in soft graphs (the DiBS default for joint models). Its
  target is the relaxed expectation, which approaches the discrete one as τ grows.

The interface is one method, ``grad_z(z, log_f, *, alpha, n_samples, generator)``; a
new estimator is a subclass registered in ``ESTIMATORS``. ``log_f`` is any
``LogDensity``: called as ``log_f(g, hard=...)`` with g [P, S, d, d], it returns
[P, S] values of log f (any float dtype); ``hard=True`` promises 0/1 graphs (so the
likelihood may take a faster non-differentiable path).
"""
from __future__ import annotations

from typing import Callable, ClassVar, Protocol

import torch

from torchdibs.latent import edge_probs, grad_z_from_scores, logistic_noise, sample_graphs, soft_graphs


class LogDensity(Protocol):
    def __call__(self, g: torch.Tensor, *, hard: bool) -> torch.Tensor:
        """g [P, S, d, d] -> [P, S] log f(G) for particle p's own parameters."""


class GradientEstimator:
    """Base class: estimates ∇_Z log E_{p(G|Z)}[f(G)] for all particles at once."""

    name: ClassVar[str] = ""
    #: True when ``log_f`` must be differentiable in soft graphs
    needs_soft_likelihood: ClassVar[bool] = False

    def __init__(self, *, tau: float = 1.0):
        self.tau = float(tau)

    def grad_z(self, z: torch.Tensor, log_f: LogDensity, *, alpha: float, n_samples: int,
               generator: torch.Generator) -> torch.Tensor:
        """z [P, d, k, 2] -> gradient estimate [P, d, k, 2] (in z's dtype)."""
        raise NotImplementedError


class ScoreFunction(GradientEstimator):
    """Self-normalised score-function estimator: Σ_m w_m ∇_Z log p(G_m | Z).

    ∇_s log p(G | Z) = α (G − σ(α s)) off the diagonal, so the estimate is
    α (Σ_m w_m G_m − p) pushed through s = U Vᵀ: no autograd is needed.
    """

    name = "score"

    def grad_z(self, z, log_f, *, alpha, n_samples, generator):
        if alpha == 0:  # p(G | Z) does not depend on Z yet: the gradient is exactly 0
            return torch.zeros_like(z)
        with torch.no_grad():
            p = edge_probs(z, alpha)  # [P, d, d]
            g = sample_graphs(p, n_samples, generator)  # [P, S, d, d]
            lf = log_f(g, hard=True).to(torch.float64)  # [P, S]
            w = torch.softmax(lf, dim=1).to(z.dtype)  # [P, S]
            g_bar = torch.einsum("ps,psij->pij", w, g)  # [P, d, d]
            grad_s = alpha * (g_bar - p)  # [P, d, d]  (diagonal: 0 - 0)
            return grad_z_from_scores(z, grad_s)


class GumbelReparam(GradientEstimator):
    """Self-normalised Gumbel-softmax estimator: Σ_m w_m ∇_Z log f(σ(τ(L_m + α U Vᵀ))).

    Uses that ∇ logsumexp_m(a_m) = Σ_m softmax(a)_m ∇ a_m, i.e. the weights and the
    gradient come out of one backward pass through log-sum-exp.
    """

    name = "gumbel"
    needs_soft_likelihood = True

    def grad_z(self, z, log_f, *, alpha, n_samples, generator):
        if alpha == 0:  # soft graphs σ(τ L) do not depend on Z yet: the gradient is exactly 0
            return torch.zeros_like(z)
        P, d = z.shape[0], z.shape[1]
        eps = logistic_noise((P, n_samples, d, d), generator, device=z.device, dtype=z.dtype)  # [P, S, d, d]
        with torch.enable_grad():
            z_ = z.detach().requires_grad_(True)
            g = soft_graphs(z_, alpha, eps, self.tau)  # [P, S, d, d]
            lf = log_f(g, hard=False)  # [P, S]
            obj = torch.logsumexp(lf, dim=1).sum()
            (grad,) = torch.autograd.grad(obj, z_)  # [P, d, k, 2]
        return grad


ESTIMATORS: dict[str, type[GradientEstimator]] = {"score": ScoreFunction, "gumbel": GumbelReparam}


def make_estimator(name: str, **kwargs) -> GradientEstimator:
    """An estimator by its registered name ('score', 'gumbel', ...)."""
    try:
        return ESTIMATORS[name](**kwargs)
    except KeyError:
        raise ValueError(f"unknown estimator '{name}' (known: {', '.join(ESTIMATORS)})") from None


def grad_theta(z: torch.Tensor, theta: torch.Tensor,
               log_joint: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], *, alpha: float,
               n_samples: int, generator: torch.Generator) -> torch.Tensor:
    """∇_Θ log E_{p(G|Z)}[p(Θ, D | G)] with hard samples: Σ_m w_m ∇_Θ log p(Θ, D | G_m).

    Args:
        z: [P, d, k, 2]; theta: [P, T];
        log_joint: (g [P, S, d, d], theta [P, T]) -> [P, S].
    Returns:
        [P, T] gradient estimate.
    """
    with torch.no_grad():
        g = sample_graphs(edge_probs(z, alpha), n_samples, generator)  # [P, S, d, d]
    with torch.enable_grad():
        th = theta.detach().requires_grad_(True)
        lf = log_joint(g, th)  # [P, S]
        (grad,) = torch.autograd.grad(torch.logsumexp(lf, dim=1).sum(), th)  # [P, T]
    return grad
