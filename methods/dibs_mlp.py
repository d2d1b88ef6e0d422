"""Joint DiBS with a nonlinear Gaussian model (one MLP per node), via torchdibs.

Defaults follow the paper's nonlinear setting for d = 20: one hidden layer of 5 ReLU
units per node, N(0, 1) parameter priors, α_slope = 0.02, h = 5, h_θ = 1000, Gumbel
estimator, observation noise variance 0.1.
"""
from __future__ import annotations

from methods.dibs_bge import COMMON_DEFAULTS, DibsMethod


class DibsMlp(DibsMethod):
    """Joint DiBS over (G, Θ) with x_j = MLP_j(G[:, j] ⊙ x) + N(0, obs_noise).

    Returns each particle's graph (may be cyclic) and a ``log_density`` callable
    (x [m, d], interv_mask [m, d]) -> [K, m] of per-row log densities under each
    particle's own networks, intervened nodes' terms left out.
    """

    name = "dibs_mlp"
    model = "mlp"
    defaults = {**COMMON_DEFAULTS, "alpha_slope": 0.02, "h_latent": 5.0, "h_theta": 1000.0,
                "estimator": "gumbel", "obs_noise": 0.1, "hidden": 5,
                "lr_theta": 0.0}  # step size of Θ; 0 means lr (the paper)
