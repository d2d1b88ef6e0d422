"""torchdibs: DiBS (Lorch et al., NeurIPS 2021) in PyTorch, usable without dagbench.

Entry points: ``fit_dibs`` (one call), or ``MarginalDiBS`` / ``JointDiBS`` with a model
from ``torchdibs.likelihoods`` (``BGe``, ``LinearGaussian``, ``MLPGaussian``). Shapes:
particles z [P, d, k, 2], parameters theta [P, T], data x [n, d]; ``g[i, j] = 1`` is i → j.
"""
from __future__ import annotations

import numpy as np
import torch

from torchdibs.acyclicity import acyclicity, expected_acyclicity
from torchdibs.estimators import (ESTIMATORS, AdaptivePerturbAndMAP, BaselineScore, GradientEstimator, GumbelReparam,
                                  GumbelStraightThrough, PerturbAndMAP, ScoreEMA, ScoreFunction, ScoreLeaveOneOut,
                                  make_estimator)
from torchdibs.latent import edge_probs, limit_graphs, sample_graphs, soft_graphs
from torchdibs.likelihoods import BGe, LinearGaussian, MLPGaussian
from torchdibs.posterior import ParticlePosterior, make_posterior
from torchdibs.priors import ErdosRenyiPrior, ScaleFreePrior, make_graph_prior
from torchdibs.svgd import DiBS, DiBSResult, JointDiBS, MarginalDiBS

__all__ = [
    "BGe", "LinearGaussian", "MLPGaussian", "DiBS", "MarginalDiBS", "JointDiBS", "DiBSResult",
    "ParticlePosterior", "make_posterior", "fit_dibs", "make_model", "acyclicity", "expected_acyclicity",
    "edge_probs", "limit_graphs", "sample_graphs", "soft_graphs", "ESTIMATORS", "GradientEstimator",
    "ScoreFunction", "GumbelReparam", "BaselineScore", "ScoreLeaveOneOut", "ScoreEMA", "GumbelStraightThrough",
    "PerturbAndMAP", "AdaptivePerturbAndMAP", "make_estimator", "ErdosRenyiPrior", "ScaleFreePrior",
    "make_graph_prior", "resolve_device", "DTYPES",
]

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def resolve_device(device: str) -> torch.device:
    """'cpu', 'cuda' (an error without CUDA) or 'auto' (cuda when available)."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("device='cuda' was asked for but torch sees no CUDA device")
    return torch.device(device)


def make_model(name: str, *, x: np.ndarray, interv_mask: np.ndarray | None = None, device="cpu",
               dtype: torch.dtype = torch.float32, obs_noise: float = 0.1, hidden: int = 5):
    """'bge' -> BGe, 'linear' -> LinearGaussian, 'mlp' -> MLPGaussian, holding x [n, d]."""
    if name == "bge":
        return BGe(x=x, interv_mask=interv_mask, device=device)
    if name == "linear":
        return LinearGaussian(x=x, interv_mask=interv_mask, obs_noise=obs_noise, device=device, dtype=dtype)
    if name == "mlp":
        return MLPGaussian(x=x, interv_mask=interv_mask, obs_noise=obs_noise, hidden=hidden,
                           device=device, dtype=dtype)
    raise ValueError(f"unknown model '{name}' (known: bge, linear, mlp)")


def fit_dibs(x: np.ndarray, *, model: str = "bge", interv_mask: np.ndarray | None = None, steps: int = 1000,
             seed: int = 0, posterior: str = "dibs", device: str = "cpu", dtype: str = "float32",
             progress: bool | None = None, obs_noise: float = 0.1, hidden: int = 5,
             **dibs_kwargs) -> ParticlePosterior:
    """Fit DiBS to data x [n, d] and return its ParticlePosterior.

    ``dibs_kwargs`` go to ``DiBS`` (n_particles, latent_dim, alpha_slope, beta_slope,
    h_latent, h_theta, lr, lr_theta, optimizer, grad_clip, n_grad_samples, n_acyclic_samples,
    estimator, graph_prior, edges_per_node, tau); unset ones take the paper's defaults
    for the model (MarginalDiBS / JointDiBS).
    """
    dev, dt = resolve_device(device), DTYPES[dtype]
    m = make_model(model, x=x, interv_mask=interv_mask, device=dev, dtype=dt, obs_noise=obs_noise,
                   hidden=hidden)
    cls = JointDiBS if m.is_joint else MarginalDiBS
    if model == "mlp":
        dibs_kwargs.setdefault("alpha_slope", 0.02)
        dibs_kwargs.setdefault("h_theta", 1000.0)
    dibs = cls(model=m, dtype=dt, **dibs_kwargs)
    result = dibs.fit(steps=steps, seed=seed, progress=progress)
    return dibs.posterior(result, kind=posterior)
