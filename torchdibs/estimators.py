"""Gradient estimators for ∇_Z log E_{p(G|Z)}[f(G)].

DiBS needs the gradient of the log expected likelihood with respect to the latent
particles. Writing w_m = f(G_m) / Σ_m' f(G_m') (computed with log-sum-exp from log f),
every estimator here is self-normalised:

* ``score`` (REINFORCE): Σ_m w_m ∇_Z log p(G_m | Z), G_m ~ p(G | Z) hard samples;
  needs only values of f, so it works for any likelihood (the DiBS default for BGe).
* ``score_node``: ``score`` with the weights taken per node, w^(j) from node j's local
  score, for likelihoods that decompose over nodes (BGe): exact because p(G | Z) makes
  the columns of G independent; far lower variance at large d.
* ``gumbel`` (reparameterisation): Σ_m w_m ∇_Z log f(G_soft(Z, L_m)), L_m ~ Logistic(0, 1);
  needs f differentiable in soft graphs (the DiBS default for joint models). Its
  target is the relaxed expectation, which approaches the discrete one as τ grows.
* ``score_loo`` / ``score_ema``: ``score`` with a control variate, a leave-one-out or an
  exponentially decaying running-average baseline (``BaselineScore``); their unnormalised
  numerator (``grad_expectation``) is unbiased for ∇_Z E[f], ``grad_z`` is self-normalised.
* ``gumbel_st``: hard samples forward, Gumbel-soft Jacobian backward (straight-through).
* ``imle`` / ``aimle``: perturb-and-MAP on the edge logits with a finite difference towards
  the target distribution θ + λ ∇_G log f (I-MLE); ``aimle`` adapts λ during the run.

Stateful estimators (``score_ema``'s baseline, ``aimle``'s λ) keep their state on the
instance that ``DiBS`` holds for a run and reset it when called with α = 0 (step 0).
Measured bias, variance and cost: bench/ESTIMATORS.md.

The interface is one method, ``grad_z(z, log_f, *, alpha, n_samples, generator)``; a
new estimator is a subclass registered in ``ESTIMATORS``. ``log_f`` is any
``LogDensity``: called as ``log_f(g, hard=...)`` with g [P, S, d, d], it returns
[P, S] values of log f (any float dtype); ``hard=True`` promises 0/1 graphs (so the
likelihood may take a faster non-differentiable path).
"""
from __future__ import annotations

import inspect
import math
from typing import Callable, ClassVar, Protocol

import torch

from torchdibs.latent import (edge_probs, edge_scores, grad_z_from_scores, logistic_from_uniform, logistic_noise,
                              offdiag, sample_graphs, soft_graphs, soft_graphs_from_uniform, uniform_draws)


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

    def reset(self) -> None:
        """Forget any state carried across calls (a running baseline, an adapted λ).
        Stateless estimators have none; stateful ones also reset themselves when called
        with α = 0 (step 0 of every DiBS run) or with a different number of particles."""

    def diagnostics(self) -> dict[str, float]:
        """The estimator's state worth reporting after a run (JSON-able); none by default."""
        return {}

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


class NodeScoreFunction(GradientEstimator):
    """Score-function estimator self-normalised per node, for likelihoods that decompose
    over nodes (BGe): the same hard samples as ``score``, lower variance.

    p(G | Z) = Π_ij Bern(σ(α s_ij)) makes the columns G[:, j] independent, and
    log f(G) = Σ_j f_j(G[:, j]) (a node's local score depends on its parents only), so
    log E[f(G)] = Σ_j log E[exp f_j(G[:, j])] exactly and

        ∂/∂s_ij log E[f(G)] = α Σ_m w^(j)_m (G_m,ij − σ(α s_ij)),  w^(j) = softmax_m f_j(G_m[:, j]).

    ``score`` weights every edge by one softmax over whole graphs, which at d ≈ 50 puts
    all weight on one sample (log f spans thousands of nats) and leaves each edge a weak,
    noisy signal; here node j's parent set competes only with other draws of node j's
    parents. ``log_f`` must offer ``node_scores(g [P, S, d, d]) -> [P, S, d]`` (as the
    marginal DiBS's BGe likelihood does); otherwise ``grad_z`` raises ValueError.
    """

    name = "score_node"

    def grad_z(self, z, log_f, *, alpha, n_samples, generator):
        node_scores = getattr(log_f, "node_scores", None)
        if node_scores is None:
            raise ValueError("estimator 'score_node' needs a likelihood that decomposes over nodes "
                             "(BGe, marginal DiBS); use 'score' or 'gumbel' for joint models")
        if alpha == 0:
            return torch.zeros_like(z)
        with torch.no_grad():
            p = edge_probs(z, alpha)  # [P, d, d]
            g = sample_graphs(p, n_samples, generator)  # [P, S, d, d]
            w = torch.softmax(node_scores(g).to(torch.float64), dim=1).to(z.dtype)  # [P, S, d(node j)]
            g_bar = torch.einsum("psj,psij->pij", w, g)  # [P, d, d]  column j weighted by w^(j)
            return grad_z_from_scores(z, alpha * (g_bar - p))


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
        u = uniform_draws((P, n_samples, d, d), generator, device=z.device, dtype=z.dtype)  # [P, S, d, d]
        softmax_grad = getattr(log_f, "softmax_grad", None)
        if softmax_grad is not None:  # closed form: Σ_m w_m ∂log f/∂G_m ⊙ τα G_m(1 − G_m) through s
            g = soft_graphs_from_uniform(edge_scores(z.detach()), alpha, u, self.tau)  # [P, S, d, d]
            _, grad_g = softmax_grad(g, g * (1.0 - g))  # [P, d, d]
            return grad_z_from_scores(z, (grad_g * (self.tau * alpha)).to(z.dtype))
        eps = logistic_from_uniform(u)  # [P, S, d, d]
        with torch.enable_grad():
            z_ = z.detach().requires_grad_(True)
            g = soft_graphs(z_, alpha, eps, self.tau)  # [P, S, d, d]
            lf = log_f(g, hard=False)  # [P, S]
            obj = torch.logsumexp(lf, dim=1).sum()
            (grad,) = torch.autograd.grad(obj, z_)  # [P, d, k, 2]
        return grad


# -- control variates, straight-through and perturb-and-MAP (the estimator benchmark axis) ---
def _log_mean_exp(lf: torch.Tensor) -> torch.Tensor:
    """log (1/S) Σ_m exp(lf_m): [P, S] -> [P]."""
    return torch.logsumexp(lf, dim=1) - math.log(lf.shape[1])


class BaselineScore(GradientEstimator):
    """Score-function estimator with a control variate b (the base of ``score_loo``, ``score_ema``).

    With f = exp(log_f), hard samples G_m ~ p(G | Z) and ∇_s log p(G | Z) = α (G − σ(α s)):

    * ``grad_expectation(..., log_scale=c)`` returns N̂ = (1/S) Σ_m (f̃_m − b̃_m) ∇_Z log p(G_m | Z)
      with f̃ = f e^{−c} for a caller-fixed c [P]. It is an **unbiased** estimate of
      ∇_Z E_{p(G|Z)}[f(G)] e^{−c} whenever b̃_m does not depend on G_m, because then
      E[b̃_m ∇ log p(G_m | Z)] = E[b̃_m] E[∇ log p(G_m | Z)] = 0.
    * ``grad_z`` (what DiBS uses) returns N̂ / ((1/S) Σ_m f̃_m), a self-normalised ratio estimate
      of ∇_Z log E[f] = ∇_Z E[f] / E[f]: biased for finite S (O(1/S)) but consistent, and free
      of c (it uses c = log (1/S) Σ_m f_m, so the denominator is 1 and exp never overflows).

    Here b = 0: plain REINFORCE, whose ``grad_z`` equals that of ``score``; not registered.
    """

    name = "score_plain"

    def baseline(self, f: torch.Tensor, log_scale: torch.Tensor, normalised: bool) -> torch.Tensor:
        """b̃ [P, S] or [P, 1] for scaled values f̃ [P, S] (float64) on the scale e^{−log_scale} [P];
        ``normalised``: called by ``grad_z`` (log_scale = log of this call's mean of f)."""
        return torch.zeros_like(f[:, :1])

    def observe(self, log_mean_f: torch.Tensor) -> None:
        """Called after each estimate with log (1/S) Σ_m f_m [P] (absolute scale)."""

    def _sync_state(self, n_particles: int) -> None:
        """Reset when the number of particles changed (a new run or a different caller)."""

    def grad_z(self, z, log_f, *, alpha, n_samples, generator):
        return self._estimate(z, log_f, alpha=alpha, n_samples=n_samples, generator=generator,
                              log_scale=None)

    def grad_expectation(self, z: torch.Tensor, log_f: LogDensity, *, alpha: float, n_samples: int,
                         generator: torch.Generator, log_scale) -> torch.Tensor:
        """Unbiased estimate of ∇_Z E_{p(G|Z)}[f(G)] · e^{−log_scale}: z [P, d, k, 2] -> [P, d, k, 2].

        ``log_scale`` (float or [P]) must not depend on this call's samples; pick it near
        log E[f] so that exp(log_f − log_scale) neither overflows nor underflows.
        """
        return self._estimate(z, log_f, alpha=alpha, n_samples=n_samples, generator=generator,
                              log_scale=log_scale)

    def _estimate(self, z, log_f, *, alpha, n_samples, generator, log_scale):
        if alpha == 0:  # p(G | Z) does not depend on Z: the gradient is exactly 0; a new run starts
            self.reset()
            return torch.zeros_like(z)
        P = z.shape[0]
        self._sync_state(P)
        with torch.no_grad():
            p = edge_probs(z, alpha)  # [P, d, d]
            g = sample_graphs(p, n_samples, generator)  # [P, S, d, d]
            lf = log_f(g, hard=True).to(torch.float64)  # [P, S]
            lme = _log_mean_exp(lf)  # [P]
            c = lme if log_scale is None else torch.as_tensor(
                log_scale, dtype=torch.float64, device=lf.device).expand(P)  # [P]
            f = torch.exp(lf - c[:, None])  # [P, S]
            coef = f - self.baseline(f, c, log_scale is None)  # [P, S]
            self.observe(lme)
            centred = g.to(torch.float64) - p.to(torch.float64)[:, None]  # [P, S, d, d]
            grad_s = (alpha / n_samples) * torch.einsum("ps,psij->pij", coef, centred)  # [P, d, d]
            return grad_z_from_scores(z, grad_s.to(z.dtype))


class ScoreLeaveOneOut(BaselineScore):
    """Score function with the leave-one-out baseline b_m = (1/(S−1)) Σ_{m'≠m} f_{m'}.

    b_m uses only the other samples, so N̂ stays unbiased for ∇_Z E[f] (see ``BaselineScore``).
    Its self-normalised form is α S/(S−1) (Σ_m w_m G_m − Ḡ) with Ḡ the sample mean: the exact
    edge probabilities σ(α s) of ``score`` are replaced by Ḡ, which cancels the noise Ḡ − σ(α s)
    when f is flat and adds a little when one sample dominates. Needs S ≥ 2.
    """

    name = "score_loo"

    def baseline(self, f, log_scale, normalised):
        S = f.shape[1]
        if S < 2:
            raise ValueError("the leave-one-out baseline needs n_samples >= 2")
        return (f.sum(1, keepdim=True) - f) / (S - 1)  # [P, S]


class ScoreEMA(BaselineScore):
    """Score function with an exponentially decaying running-average baseline (Pyro's
    ``use_decaying_avg_baseline``): b_t = β b_{t−1} + (1 − β) (1/S) Σ_m f(G_m) over *past* calls.

    b_t is fixed before this call's samples are drawn, so ``grad_expectation`` (N̂) stays
    unbiased for ∇_Z E[f] (see ``BaselineScore``); the first call of a run has no baseline.
    State: log b [P], per particle, kept in log space (f spans hundreds of nats); reset at
    α = 0 (step 0 of each DiBS run), by ``reset()`` or when the number of particles changes.

    ``grad_z`` divides by this call's mean f̄, so the baseline enters as r = b / f̄ times
    −(1/S) Σ_m ∇ log p(G_m | Z). In DiBS the particles (and Θ) move every step, b lags E[f],
    and f̄ can fall e^{100} below b: r then swamps the estimate (the joint linear model went
    non-finite within 3 steps). ``grad_z`` therefore caps r at ``baseline_cap`` (default 1:
    at most the current mean, the stationary value); the cap uses this call's f̄, like the
    self-normalisation itself; ``baseline_cap=inf`` gives the uncapped ratio N̂ / f̄.

    Args: baseline_decay β in [0, 1) (0: the previous call's mean); baseline_cap > 0.
    """

    name = "score_ema"

    def __init__(self, *, tau: float = 1.0, baseline_decay: float = 0.9, baseline_cap: float = 1.0):
        super().__init__(tau=tau)
        if not 0.0 <= baseline_decay < 1.0:
            raise ValueError(f"baseline_decay must be in [0, 1), got {baseline_decay}")
        if not baseline_cap > 0:
            raise ValueError(f"baseline_cap must be > 0, got {baseline_cap}")
        self.baseline_decay, self.baseline_cap = float(baseline_decay), float(baseline_cap)
        self.log_b: torch.Tensor | None = None  # [P] log of the running baseline

    def reset(self) -> None:
        self.log_b = None

    def diagnostics(self) -> dict[str, float]:
        return {} if self.log_b is None else {"baseline_log_mean": float(self.log_b.mean())}

    def _sync_state(self, n_particles):
        if self.log_b is not None and self.log_b.shape[0] != n_particles:
            self.reset()

    def baseline(self, f, log_scale, normalised):
        if self.log_b is None:
            return torch.zeros_like(f[:, :1])
        log_r = self.log_b.to(f.device) - log_scale  # [P]
        if normalised:
            log_r = log_r.clamp(max=math.log(self.baseline_cap))
        return torch.exp(log_r)[:, None]  # [P, 1]

    def observe(self, log_mean_f):
        beta = self.baseline_decay
        if self.log_b is None or beta == 0.0:
            self.log_b = log_mean_f.clone()
        else:
            self.log_b = torch.logaddexp(math.log(beta) + self.log_b, math.log1p(-beta) + log_mean_f)


class GumbelStraightThrough(GradientEstimator):
    """Straight-through Gumbel estimator of ∇_Z log E_{p(G|Z)}[f(G)] (discrete target).

    Forward: hard graphs G_m = 1[L_m + α s > 0], L_m ~ Logistic(0, 1), which are exact samples
    of p(G | Z), and self-normalised weights w_m ∝ f(G_m). Backward: ∂G/∂Z is replaced by the
    Jacobian of the soft graph σ(τ(L_m + α s)), so the estimate is
    Σ_m w_m ⟨∇_G log f(G_m), ∂G_soft,m/∂Z⟩. Biased even as S → ∞ (a derivative of log f at
    a vertex of the cube stands in for the discrete difference f(G+e_ij) − f(G−e_ij)); the
    bias is measured in bench/ESTIMATORS.md. Needs ``log_f`` differentiable in G.
    """

    name = "gumbel_st"
    needs_soft_likelihood = True

    def grad_z(self, z, log_f, *, alpha, n_samples, generator):
        if alpha == 0:
            return torch.zeros_like(z)
        P, d = z.shape[0], z.shape[1]
        eps = logistic_noise((P, n_samples, d, d), generator, device=z.device, dtype=z.dtype)  # [P, S, d, d]
        with torch.enable_grad():
            z_ = z.detach().requires_grad_(True)
            soft = soft_graphs(z_, alpha, eps, self.tau)  # [P, S, d, d]
            hard = ((eps + alpha * edge_scores(z_.detach())[:, None]) > 0).to(z.dtype) \
                * offdiag(d, device=z.device, dtype=z.dtype)  # [P, S, d, d]
            g = hard + (soft - soft.detach())  # values of `hard`, gradient of `soft`
            lf = log_f(g, hard=False)  # [P, S]
            (grad,) = torch.autograd.grad(torch.logsumexp(lf, dim=1).sum(), z_)  # [P, d, k, 2]
        return grad


class PerturbAndMAP(GradientEstimator):
    """I-MLE (Niepert et al., 2021) for ∇_Z log E_{p(G|Z)}[f(G)] on the edge logits θ = α U Vᵀ.

    p(G | Z) factorises over edges, so the MAP state of the perturbed logits θ + L with
    L ~ Logistic(0, 1) is an exact sample G_m = 1[θ + L_m > 0] (perturb-and-MAP is exact
    here). With v_m = ∇_G log f(G_m) (autograd through ``log_f`` at the hard graph) and the
    target distribution θ'_m = θ + λ v_m, sample m contributes the finite difference

        forward:  Δ_m = (MAP(θ + λ v_m + L_m) − MAP(θ + L_m)) / λ
        central:  Δ_m = (MAP(θ + λ v_m + L_m) − MAP(θ − λ v_m + L_m)) / (2λ)   (AIMLE's symmetric form),

    reusing the noise L_m; the estimate is Σ_m w_m Δ_m pushed through θ = α s (w_m ∝ f(G_m),
    self-normalised). Target: ∇_Z log E[f]; biased for any λ (small λ: it tends to a
    straight-through-like derivative of log f; large λ: a sign-like step); measured in
    bench/ESTIMATORS.md. Needs ``log_f`` differentiable in G.

    Args: imle_lambda λ > 0 (the initial λ of the adaptive variant);
        imle_difference 'forward' | 'central' | 'auto' (forward for ``imle``, central for ``aimle``).
    """

    name = "imle"
    needs_soft_likelihood = True
    adaptive: ClassVar[bool] = False
    default_difference: ClassVar[str] = "forward"

    def __init__(self, *, tau: float = 1.0, imle_lambda: float = 1.0, imle_difference: str = "auto"):
        super().__init__(tau=tau)
        if not imle_lambda > 0:
            raise ValueError(f"imle_lambda must be > 0, got {imle_lambda}")
        if imle_difference not in ("auto", "forward", "central"):
            raise ValueError(f"imle_difference must be 'auto', 'forward' or 'central', got {imle_difference!r}")
        self.imle_lambda = float(imle_lambda)
        self.central = (imle_difference if imle_difference != "auto" else self.default_difference) == "central"
        self.lam: torch.Tensor | None = None  # [P] float64, λ per particle
        self.last_flips: torch.Tensor | None = None  # [P] mean changed edges per sample, last call

    def reset(self) -> None:
        self.lam, self.last_flips = None, None

    def diagnostics(self) -> dict[str, float]:
        out = {}
        if self.lam is not None:
            out["imle_lambda_mean"] = float(self.lam.mean())
        if self.last_flips is not None:
            out["imle_changed_edges_mean"] = float(self.last_flips.float().mean())
        return out

    def adapt(self, flips: torch.Tensor) -> None:
        """Update λ from the mean number of changed edges per sample [P]; fixed for ``imle``."""

    def grad_z(self, z, log_f, *, alpha, n_samples, generator):
        if alpha == 0:
            self.reset()
            return torch.zeros_like(z)
        P, d = z.shape[0], z.shape[1]
        if self.lam is None or self.lam.shape[0] != P:
            self.lam = torch.full((P,), self.imle_lambda, dtype=torch.float64, device=z.device)
        mask = offdiag(d, device=z.device, dtype=z.dtype)
        with torch.no_grad():
            theta = alpha * edge_scores(z)  # [P, d, d]
            eps = logistic_noise((P, n_samples, d, d), generator, device=z.device, dtype=z.dtype)
            pert = theta[:, None] + eps  # [P, S, d, d]
            g = (pert > 0).to(z.dtype) * mask  # [P, S, d, d]
        with torch.enable_grad():
            g_ = g.clone().requires_grad_(True)
            lf = log_f(g_, hard=False)  # [P, S]
            (v,) = torch.autograd.grad(lf.sum(), g_)  # [P, S, d, d]  v_m = ∇_G log f(G_m)
        with torch.no_grad():
            w = torch.softmax(lf.detach().to(torch.float64), dim=1)  # [P, S]
            lam = self.lam.to(z.dtype)[:, None, None, None]
            step = lam * torch.nan_to_num(v.to(z.dtype))  # [P, S, d, d]
            up = ((pert + step) > 0).to(z.dtype) * mask
            if self.central:
                diff = up - ((pert - step) > 0).to(z.dtype) * mask
                delta = diff / (2 * lam)
            else:
                diff = up - g
                delta = diff / lam
            flips = diff.abs().sum((-2, -1)).to(torch.float64).mean(1)  # [P]
            self.last_flips = flips
            grad_s = alpha * torch.einsum("ps,psij->pij", w, delta.to(torch.float64))  # [P, d, d]
            self.adapt(flips)
            return grad_z_from_scores(z, grad_s.to(z.dtype))


class AdaptivePerturbAndMAP(PerturbAndMAP):
    """AIMLE (Minervini et al., AAAI 2023): I-MLE whose target-distribution step λ adapts
    during the run, per particle, so that on average ``aimle_target`` edges change between
    the two MAP states of the finite difference (a zero difference gives a zero gradient;
    too many changes give a crude one). After each call,
    log λ ← log λ + ``aimle_step`` · clip((target − mean changes) / target, −1, 1)
    (multiplicative, hence free of the scale of ∇_G log f; the seed's form is additive).
    Central difference by default. State: λ [P], reset like ``score_ema``'s baseline.
    """

    name = "aimle"
    adaptive = True
    default_difference = "central"

    def __init__(self, *, tau: float = 1.0, imle_lambda: float = 1.0, imle_difference: str = "auto",
                 aimle_target: float = 1.0, aimle_step: float = 0.1):
        super().__init__(tau=tau, imle_lambda=imle_lambda, imle_difference=imle_difference)
        if not aimle_target > 0 or not aimle_step >= 0:
            raise ValueError(f"need aimle_target > 0 and aimle_step >= 0, got {aimle_target}, {aimle_step}")
        self.aimle_target, self.aimle_step = float(aimle_target), float(aimle_step)

    def adapt(self, flips):
        rel = ((self.aimle_target - flips) / self.aimle_target).clamp(-1.0, 1.0)  # [P]
        self.lam = (self.lam * torch.exp(self.aimle_step * rel)).clamp(1e-8, 1e8)


ESTIMATORS: dict[str, type[GradientEstimator]] = {
    "score": ScoreFunction, "score_node": NodeScoreFunction, "score_loo": ScoreLeaveOneOut, "score_ema": ScoreEMA,
    "gumbel": GumbelReparam, "gumbel_st": GumbelStraightThrough,
    "imle": PerturbAndMAP, "aimle": AdaptivePerturbAndMAP,
}


def make_estimator(name: str, *, lenient: bool = False, **kwargs) -> GradientEstimator:
    """An estimator by its registered name ('score', 'score_loo', 'aimle', ...).

    ``lenient=True`` drops keyword arguments the estimator does not take, so one set of
    parameters (tau, baseline_decay, imle_lambda, ...) can configure any of them.
    """
    if name not in ESTIMATORS:
        raise ValueError(f"unknown estimator '{name}' (known: {', '.join(ESTIMATORS)})")
    cls = ESTIMATORS[name]
    if lenient:
        accepted = inspect.signature(cls.__init__).parameters
        kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    return cls(**kwargs)


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
