"""Joint DiBS with a linear Gaussian model (Gaussian edge weights), via torchdibs.

Defaults follow the paper's linear-Gaussian setting for d = 20: α_slope = 0.2,
h = 5, h_θ = 500, Gumbel (reparameterisation) estimator, observation noise variance 0.1.
"""
from __future__ import annotations

from methods.dibs_bge import COMMON_DEFAULTS, DibsMethod


class DibsLinear(DibsMethod):
    """Joint DiBS over (G, Θ) with x_j = Σ_i G_ij Θ_ij x_i + N(0, obs_noise).

    Returns each particle's graph (may be cyclic) with its own weights G ⊙ Θ as
    ``linear_weights`` [K, d, d] and the fixed ``noise_vars`` [K, d] = obs_noise, so the
    held-out likelihood is the model's own.
    """

    name = "dibs_linear"
    model = "linear"
    defaults = {**COMMON_DEFAULTS, "alpha_slope": 0.2, "h_latent": 5.0, "h_theta": 500.0,
                "estimator": "gumbel", "obs_noise": 0.1,
                "lr_theta": 0.0}  # step size of Θ; 0 means lr (the paper)
