"""The acyclicity measure h(G) = tr[(I + G/d)^d] − d (Yu et al. 2019, used by DiBS).

h(G) = 0 exactly when the weighted graph G (entries >= 0) has no directed cycle, and
h grows with the number and weight of cycles. It is batched over any leading
dimensions and differentiable, so the DiBS prior can take its gradient through
Gumbel-soft graphs (never through hard Bernoulli samples, which carry no gradient).
"""
from __future__ import annotations

import torch

from torchdibs.latent import logistic_noise, soft_graphs


def acyclicity(g: torch.Tensor) -> torch.Tensor:
    """h(G) = tr[(I + G/d)^d] − d.

    Args:
        g: [..., d, d] (soft or hard) adjacency matrices, any number of leading dims.
    Returns:
        [...] values of h (0 for a DAG).
    """
    d = g.shape[-1]
    eye = torch.eye(d, device=g.device, dtype=g.dtype)
    m = eye + g / d  # [..., d, d]
    md = torch.linalg.matrix_power(m, d)  # [..., d, d]
    return md.diagonal(dim1=-2, dim2=-1).sum(-1) - d


def expected_acyclicity(z: torch.Tensor, *, alpha: float, tau: float, n_samples: int,
                        generator: torch.Generator) -> torch.Tensor:
    """Monte Carlo estimate of E_{p(G|Z)}[h(G)] through Gumbel-soft graphs.

    Args:
        z: [P, d, k, 2] particles (gradients flow into ``z``).
    Returns:
        [P] the mean of h over ``n_samples`` soft graphs per particle.
    """
    P, d = z.shape[0], z.shape[1]
    eps = logistic_noise((P, n_samples, d, d), generator, device=z.device, dtype=z.dtype)  # [P, S, d, d]
    g = soft_graphs(z, alpha, eps, tau)  # [P, S, d, d]
    return acyclicity(g).mean(1)  # [P]
