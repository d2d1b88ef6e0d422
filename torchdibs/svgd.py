"""Stein variational gradient descent (SVGD) for DiBS, marginal and joint.

One SVGD step at step t (α(t) = α_slope·t, β(t) = β_slope·t):

1. gradients of the log posterior for every particle,
   ∇_Z log p(Z, D) = ∇_Z log E_{p(G|Z)}[f(G)] (a pluggable estimator) + ∇_Z log p(Z),
   and for joint models ∇_Θ log E_{p(G|Z)}[p(Θ, D | G)] (hard samples);
2. the kernel k((Z, Θ), (Z', Θ')) = exp(−‖Z − Z'‖²_F / h) [+ exp(−‖Θ − Θ'‖² / h_θ)];
3. the SVGD direction φ(x_i) = (1/P) Σ_j [k(x_j, x_i) ∇ log p(x_j) + ∇_{x_j} k(x_j, x_i)],
   where the repulsion term of Z uses only the Z part of the kernel (and Θ's the Θ part);
4. an ascent step along φ by RMSProp (decay 0.9, x += lr φ / √(v + ε), ε inside the
   root, as jax.example_libraries.optimizers.rmsprop) or Adam; optional per-particle
   clipping of the log-posterior gradient norm (``grad_clip`` > 0).

Everything is batched over particles and Monte Carlo samples.
"""
from __future__ import annotations

import logging
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from torchdibs.acyclicity import acyclicity
from torchdibs.allocator import keep_freed_memory
from torchdibs.estimators import GradientEstimator, grad_theta, make_estimator
from torchdibs.latent import edge_probs, limit_graphs, sample_graphs
from torchdibs.posterior import ParticlePosterior, make_posterior
from torchdibs.priors import grad_log_prior_z, make_graph_prior

log = logging.getLogger("torchdibs")


# -- optimisers (ascent on a direction) ----------------------------------------------------
class RMSProp:
    """v ← γ v + (1 − γ) φ²;  x ← x + lr φ / √(v + ε)  (ε inside the root)."""

    def __init__(self, *, lr: float, decay: float = 0.9, eps: float = 1e-8):
        self.lr, self.decay, self.eps = lr, decay, eps
        self.v: torch.Tensor | None = None

    def ascend(self, x: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
        """x [...], direction phi [...] -> updated x [...]."""
        if self.v is None:
            self.v = torch.zeros_like(x)
        self.v = self.decay * self.v + (1 - self.decay) * phi * phi
        return x + self.lr * phi / torch.sqrt(self.v + self.eps)


class Adam:
    """Adam (β1 = 0.9, β2 = 0.999, ε = 1e-8) ascending along φ."""

    def __init__(self, *, lr: float, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8):
        self.lr, self.b1, self.b2, self.eps = lr, b1, b2, eps
        self.m: torch.Tensor | None = None
        self.v: torch.Tensor | None = None
        self.i = 0

    def ascend(self, x: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
        if self.m is None:
            self.m, self.v = torch.zeros_like(x), torch.zeros_like(x)
        self.i += 1
        self.m = self.b1 * self.m + (1 - self.b1) * phi
        self.v = self.b2 * self.v + (1 - self.b2) * phi * phi
        m_hat = self.m / (1 - self.b1 ** self.i)
        v_hat = self.v / (1 - self.b2 ** self.i)
        return x + self.lr * m_hat / (torch.sqrt(v_hat) + self.eps)


OPTIMIZERS = {"rmsprop": RMSProp, "adam": Adam}


# -- kernel and SVGD direction ---------------------------------------------------------------
def sq_dists(x: torch.Tensor) -> torch.Tensor:
    """Pairwise squared Euclidean distances: x [P, D] -> [P, P]."""
    sq = (x * x).sum(-1)  # [P]
    return (sq[:, None] + sq[None, :] - 2 * x @ x.T).clamp(min=0)


def rbf_kernel(x: torch.Tensor, h: float) -> torch.Tensor:
    """k(x_i, x_j) = exp(−‖x_i − x_j‖² / h): x [P, D] -> [P, P]."""
    return torch.exp(-sq_dists(x) / h)


def svgd_direction(x: torch.Tensor, grad: torch.Tensor, k_all: torch.Tensor, k_own: torch.Tensor,
                   h: float) -> torch.Tensor:
    """φ(x_i) = (1/P) Σ_j [k_all(x_j, x_i) grad_j + ∇_{x_j} k_own(x_j, x_i)].

    Args:
        x: [P, D] flattened particles; grad: [P, D] their log-posterior gradients.
        k_all: [P, P] full (symmetric) kernel; k_own: [P, P] the part of it that depends
            on x, with bandwidth ``h`` (∇_{x_j} k_own(x_j, x_i) = (2/h)(x_i − x_j) k_own).
    Returns:
        [P, D] the SVGD direction (ascent).
    """
    P = x.shape[0]
    drive = k_all.T @ grad  # [P, D]
    repulse = (2.0 / h) * (k_own.sum(0)[:, None] * x - k_own.T @ x)  # [P, D]
    return (drive + repulse) / P


def clip_per_particle(g: torch.Tensor, max_norm: float) -> torch.Tensor:
    """Rescale each particle's gradient g [P, ...] to L2 norm at most ``max_norm`` (0 = off)."""
    if max_norm <= 0:
        return g
    norms = g.reshape(g.shape[0], -1).norm(dim=1)  # [P]
    scale = (max_norm / norms.clamp(min=1e-30)).clamp(max=1.0)
    return g * scale.reshape(-1, *([1] * (g.dim() - 1)))


# -- closed-form likelihood gradients of joint models ---------------------------------------
class _JointLogF:
    """log f(G) = log p(Θ, D | G) for fixed Θ as a ``LogDensity`` (g [P, S, d, d] -> [P, S]).

    When the model has ``log_joint_softmax_grad`` (``LinearGaussian``, ``MLPGaussian``), it
    also offers ``softmax_grad(g, factor) -> (log f [P, S], Σ_s softmax_s(log f) factor_s ⊙
    ∂ log f_s/∂g_s [P, d, d])`` in closed form, which the 'gumbel' estimator uses instead of
    autograd (same estimate up to rounding).
    """

    def __init__(self, model, theta: torch.Tensor):
        self.model, self.theta = model, theta
        if not hasattr(model, "log_joint_softmax_grad"):
            self.softmax_grad = None

    def __call__(self, g: torch.Tensor, *, hard: bool) -> torch.Tensor:
        return self.model.log_joint(g, self.theta)

    def softmax_grad(self, g: torch.Tensor, factor: torch.Tensor | None = None):
        return self.model.log_joint_softmax_grad(g, self.theta, wrt="g", factor=factor)


def grad_theta_closed_form(z: torch.Tensor, theta: torch.Tensor, model, *, alpha: float, n_samples: int,
                           generator: torch.Generator) -> torch.Tensor:
    """``estimators.grad_theta`` for a model with ``log_joint_softmax_grad``: Σ_m w_m ∇_Θ
    log p(Θ, D | G_m) with w = softmax(log p(Θ, D | G_m)) over hard samples G_m (the same
    draws), no autograd.

    Args:
        z: [P, d, k, 2]; theta: [P, T]. Returns: [P, T].
    """
    g = sample_graphs(edge_probs(z, alpha), n_samples, generator)  # [P, S, d, d]
    _, grad = model.log_joint_softmax_grad(g, theta.detach(), wrt="theta")  # [P, T]
    return grad.reshape(theta.shape)


# -- the DiBS engine -------------------------------------------------------------------------
@dataclass
class DiBSState:
    """Particles and optimiser state: z [P, d, k, 2], theta [P, T] or None, step t."""

    z: torch.Tensor
    theta: torch.Tensor | None
    t: int = 0
    opt_z: Any = None
    opt_theta: Any = None
    last: dict[str, float] = field(default_factory=dict)


@dataclass
class DiBSResult:
    """Final particles z [P, d, k, 2], theta [P, T] or None, and run diagnostics."""

    z: torch.Tensor
    theta: torch.Tensor | None
    info: dict[str, Any]

    @property
    def graphs(self) -> torch.Tensor:
        """[P, d, d] int8 graphs 1[U Vᵀ > 0] (may be cyclic)."""
        return limit_graphs(self.z)


class DiBS:
    """DiBS by SVGD for any model of ``torchdibs.likelihoods`` (marginal or joint).

    Args (keyword-only):
        model: a ``BGe`` (marginal) or ``LinearGaussian`` / ``MLPGaussian`` (joint) instance.
        graph_prior: 'er', 'sf' or 'uniform', or an object with ``log_prob(g [..., d, d]) -> [...]``.
        edges_per_node: expected edges per node of the 'er' prior.
        n_particles: P.  latent_dim: k (None: k = d).
        alpha_slope, beta_slope: α(t) = α_slope·t, β(t) = β_slope·t.
        tau: Gumbel-softmax temperature.  sigma_z: std of the Gaussian prior on Z (None: 1/√k).
        h_latent, h_theta: kernel bandwidths of Z and Θ.
        lr, optimizer ('rmsprop' | 'adam'), grad_clip (per-particle norm, 0 = off).
        lr_theta: step size of Θ (None: ``lr``, as in the paper).
        n_grad_samples: MC samples of the likelihood gradients; n_acyclic_samples: of E[h].
        estimator: a name in ``torchdibs.estimators.ESTIMATORS`` or an instance
            (None: 'score' for marginal models, 'gumbel' for joint ones, as in the paper).
        dtype: float dtype of Z and Θ (None: the model's, else float32). The device is
            the model's.
    """

    def __init__(self, *, model, graph_prior="er", edges_per_node: float = 2.0, n_particles: int = 20,
                 latent_dim: int | None = None, alpha_slope: float = 1.0, beta_slope: float = 1.0,
                 tau: float = 1.0, sigma_z: float | None = None, h_latent: float = 5.0,
                 h_theta: float = 500.0, lr: float = 0.005, optimizer: str = "rmsprop",
                 grad_clip: float = 0.0, lr_theta: float | None = None, n_grad_samples: int = 128, n_acyclic_samples: int = 32,
                 estimator: str | GradientEstimator | None = None, dtype: torch.dtype | None = None):
        self.model = model
        self.d = model.d
        self.joint = bool(model.is_joint)
        self.device = torch.device(getattr(model, "device", "cpu"))
        self.dtype = dtype or getattr(model, "dtype", torch.float32)
        if self.joint and self.dtype != model.dtype:
            raise ValueError(f"dtype {self.dtype} differs from the model's {model.dtype}")
        self.graph_prior = (make_graph_prior(graph_prior, n_vars=self.d, edges_per_node=edges_per_node)
                            if isinstance(graph_prior, str) else graph_prior)
        self.n_particles = int(n_particles)
        self.k = int(latent_dim or self.d)
        self.alpha_slope, self.beta_slope, self.tau = float(alpha_slope), float(beta_slope), float(tau)
        self.sigma_z = float(sigma_z) if sigma_z else 1.0 / math.sqrt(self.k)
        self.h_latent, self.h_theta = float(h_latent), float(h_theta)
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer '{optimizer}' (known: {', '.join(OPTIMIZERS)})")
        self.lr, self.optimizer, self.grad_clip = float(lr), optimizer, float(grad_clip)
        self.lr_theta = float(lr_theta) if lr_theta else self.lr
        self.n_grad_samples, self.n_acyclic_samples = int(n_grad_samples), int(n_acyclic_samples)
        if estimator is None:
            estimator = "gumbel" if self.joint else "score"
        self.estimator = (make_estimator(estimator, tau=self.tau) if isinstance(estimator, str)
                          else estimator)

    # schedules
    def alpha(self, t: int) -> float:
        return self.alpha_slope * t

    def beta(self, t: int) -> float:
        return self.beta_slope * t

    def make_generator(self, seed: int) -> torch.Generator:
        """A torch.Generator on the model's device seeded with ``seed``."""
        return torch.Generator(device=self.device).manual_seed(int(seed))

    def init_state(self, generator: torch.Generator) -> DiBSState:
        """Particles from the priors: z ~ N(0, σ_z²) [P, d, k, 2]; theta from the model."""
        z = self.sigma_z * torch.randn((self.n_particles, self.d, self.k, 2), generator=generator,
                                       device=self.device, dtype=self.dtype)
        theta = self.model.init_theta(self.n_particles, generator) if self.joint else None
        self.estimator.reset()  # a running baseline or adapted λ must not leak between runs
        opt = OPTIMIZERS[self.optimizer]
        return DiBSState(z=z, theta=theta, t=0, opt_z=opt(lr=self.lr),
                         opt_theta=opt(lr=self.lr_theta) if self.joint else None)

    def log_f(self, theta: torch.Tensor | None):
        """The likelihood as a ``LogDensity`` (g [P, S, d, d], hard) -> [P, S]."""
        if not self.joint:
            def f(g, *, hard):
                return self.model.log_marginal_hard(g) if hard else self.model.log_marginal(g)
            f.node_scores = self.model.node_scores_hard  # 0/1 g [P, S, d, d] -> [P, S, d]
            return f
        return _JointLogF(self.model, theta.detach())

    def grad_log_posterior(self, z: torch.Tensor, theta: torch.Tensor | None, t: int,
                           generator: torch.Generator):
        """Gradients of log p(Z, Θ, D) at step t.

        Args:
            z: [P, d, k, 2]; theta: [P, T] or None.
        Returns:
            (gz [P, d, k, 2], gtheta [P, T] or None, E[h] estimate [P]).
        """
        alpha, beta = self.alpha(t), self.beta(t)
        gtheta = None
        if self.joint:
            if hasattr(self.model, "log_joint_softmax_grad"):  # closed form, same draws as grad_theta
                gtheta = grad_theta_closed_form(z, theta, self.model, alpha=alpha,
                                                n_samples=self.n_grad_samples, generator=generator)
            else:
                gtheta = grad_theta(z, theta, self.model.log_joint, alpha=alpha,
                                    n_samples=self.n_grad_samples, generator=generator)  # [P, T]
        gz_lik = self.estimator.grad_z(z, self.log_f(theta), alpha=alpha,
                                       n_samples=self.n_grad_samples, generator=generator)  # [P, d, k, 2]
        gz_prior, h = grad_log_prior_z(z, alpha=alpha, beta=beta, tau=self.tau, sigma_z=self.sigma_z,
                                       graph_prior=self.graph_prior,
                                       n_acyclic_samples=self.n_acyclic_samples,
                                       generator=generator)  # [P, d, k, 2], [P]
        return gz_lik.to(z.dtype) + gz_prior, gtheta, h

    def step(self, state: DiBSState, generator: torch.Generator) -> DiBSState:
        """One SVGD step at ``state.t``; returns the new state (optimisers updated in place)."""
        z, theta, P = state.z, state.theta, state.z.shape[0]
        gz, gtheta, h = self.grad_log_posterior(z, theta, state.t, generator)
        gz = clip_per_particle(gz, self.grad_clip)
        zf, gzf = z.reshape(P, -1), gz.reshape(P, -1)  # [P, d·k·2]
        k_z = rbf_kernel(zf, self.h_latent)  # [P, P]
        if self.joint:
            gtheta = clip_per_particle(gtheta, self.grad_clip)
            k_t = rbf_kernel(theta, self.h_theta)  # [P, P]
            k_all = k_z + k_t
            phi_t = svgd_direction(theta, gtheta, k_all, k_t, self.h_theta)  # [P, T]
            theta = state.opt_theta.ascend(theta, phi_t)
        else:
            k_all = k_z
        phi_z = svgd_direction(zf, gzf, k_all, k_z, self.h_latent).reshape(z.shape)  # [P, d, k, 2]
        z = state.opt_z.ascend(z, phi_z)
        state.last = {"mean_h": float(h.mean()), "grad_z_norm": float(gzf.norm(dim=1).mean())}
        return DiBSState(z=z, theta=theta, t=state.t + 1, opt_z=state.opt_z, opt_theta=state.opt_theta,
                         last=state.last)

    def fit(self, *, steps: int, seed: int | None = None, generator: torch.Generator | None = None,
            progress: bool | None = None,
            callback: Callable[[DiBSState], None] | None = None) -> DiBSResult:
        """Run ``steps`` SVGD steps from prior particles.

        Args:
            steps: number of SVGD steps (t = 0 … steps − 1).
            seed / generator: the randomness (one of them); a seed gives a reproducible run.
            progress: show a tqdm bar (None: only when stderr is a TTY).
            callback: called with the state after every step.
        Returns:
            DiBSResult with z [P, d, k, 2], theta [P, T] or None and ``info``.
        """
        if generator is None:
            if seed is None:
                raise ValueError("give a seed or a generator")
            generator = self.make_generator(seed)
        if progress is None:
            progress = sys.stderr.isatty()
        keep_freed_memory()  # reuse the per-step temporaries instead of faulting in fresh pages
        state = self.init_state(generator)
        it = range(steps)
        if progress:
            from tqdm.auto import tqdm
            it = tqdm(it, desc="DiBS", file=sys.stderr, leave=False)
        start = time.perf_counter()
        with torch.no_grad():
            for _ in it:
                state = self.step(state, generator)
                if not (torch.isfinite(state.z).all() and (state.theta is None or torch.isfinite(state.theta).all())):
                    raise FloatingPointError(f"DiBS particles became non-finite at step {state.t}; "
                                             "try optimizer='adam', grad_clip > 0 or a smaller lr")
                if callback is not None:
                    callback(state)
        seconds = time.perf_counter() - start
        g = limit_graphs(state.z)  # [P, d, d]
        frac_cyclic = float((acyclicity(g.to(torch.float64)) > 1e-8).double().mean())
        info = {"steps": steps, "n_particles": self.n_particles, "latent_dim": self.k,
                "final_alpha": self.alpha(max(steps - 1, 0)), "final_beta": self.beta(max(steps - 1, 0)),
                "frac_cyclic_particles": frac_cyclic, "seconds": seconds,
                "ms_per_step": 1e3 * seconds / max(steps, 1), "estimator": self.estimator.name,
                "optimizer": self.optimizer, "device": str(self.device), "dtype": str(self.dtype).replace("torch.", ""),
                **{f"final_{k}": v for k, v in state.last.items()},
                **{f"estimator_{k}": v for k, v in self.estimator.diagnostics().items()}}
        log.info("DiBS: %d steps, %d particles in %.1f s (%.1f ms/step); %.0f%% cyclic",
                 steps, self.n_particles, seconds, info["ms_per_step"], 100 * frac_cyclic)
        return DiBSResult(z=state.z, theta=state.theta, info=info)

    # posterior
    def posterior(self, result: DiBSResult, *, kind: str = "dibs") -> ParticlePosterior:
        """The particle posterior: 'dibs' (empirical) or 'dibs+' (weighted by p(G, Θ, D))."""
        return make_posterior(result.z, result.theta, model=self.model, graph_prior=self.graph_prior,
                              kind=kind, info=dict(result.info))


class MarginalDiBS(DiBS):
    """DiBS for marginal models (BGe): only Z particles; estimator 'score' by default."""

    def __init__(self, *, model, **kwargs):
        if model.is_joint:
            raise ValueError("MarginalDiBS needs a marginal model such as BGe; use JointDiBS")
        kwargs.setdefault("alpha_slope", 2.0)
        kwargs.setdefault("h_latent", 2.0)
        super().__init__(model=model, **kwargs)


class JointDiBS(DiBS):
    """DiBS for joint models (LinearGaussian, MLPGaussian): (Z, Θ) particles; 'gumbel' by default."""

    def __init__(self, *, model, **kwargs):
        if not model.is_joint:
            raise ValueError("JointDiBS needs a joint model such as LinearGaussian; use MarginalDiBS")
        kwargs.setdefault("alpha_slope", 0.2)
        kwargs.setdefault("h_latent", 5.0)
        kwargs.setdefault("h_theta", 500.0)
        super().__init__(model=model, **kwargs)
