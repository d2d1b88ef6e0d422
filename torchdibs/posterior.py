"""Particle posteriors of DiBS: empirical (DiBS) and weighted mixture (DiBS+).

Each particle gives the graph G = 1[U Vᵀ > 0] (possibly cyclic) and, for joint models,
its own parameters Θ. 'dibs' weights particles by count; 'dibs+' by their unnormalised
posterior p(G) p(D | G) (marginal) or p(G) p(Θ, D | G) (joint), normalised with
log-sum-exp. The graph prior of DiBS lives on DAGs, so in 'dibs+' a cyclic graph has
weight 0 (its likelihood is not a density and can be far larger than any DAG's, so it
would otherwise take all the weight); only when every particle is cyclic are they
weighted by their scores regardless (``info['dibs+_all_cyclic']``). For marginal models identical graphs are merged (so 'dibs' weights are
counts / P and 'dibs+' counts each distinct graph once); joint particles are kept
apart, each with its own Θ.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from torchdibs.latent import limit_graphs


@dataclass
class ParticlePosterior:
    """A weighted set of graphs, independent of any harness.

    Fields:
        graphs: [K, d, d] int8 (may be cyclic; ``g[i, j] = 1`` is i → j).
        weights: [K] float64 summing to 1.
        log_scores: [K] unnormalised log p(G, (Θ,) D) of each entry.
        theta: [K, T] parameters of each entry (joint models), else None.
        kind: 'dibs' or 'dibs+'.
        info: diagnostics.
    """

    graphs: np.ndarray
    weights: np.ndarray
    log_scores: np.ndarray
    theta: np.ndarray | None
    kind: str
    info: dict[str, Any] = field(default_factory=dict)

    def edge_marginals(self) -> np.ndarray:
        """[d, d] p(g_ij = 1) = Σ_k w_k G_k[i, j]."""
        return np.einsum("k,kij->ij", self.weights, self.graphs.astype(np.float64))


def _softmax(v: np.ndarray) -> np.ndarray:
    v = v - v.max()
    w = np.exp(v)
    return w / w.sum()


def _dag_weights(log_scores: np.ndarray, graphs: np.ndarray, info: dict) -> np.ndarray:
    """softmax of log_scores [K] over the acyclic graphs [K, d, d] only (see module doc)."""
    from torchdibs.acyclicity import acyclicity

    dag = (acyclicity(torch.as_tensor(graphs, dtype=torch.float64)) < 1e-8).numpy()  # [K]
    info["dibs+_all_cyclic"] = not dag.any()
    if not dag.any():
        return _softmax(log_scores)
    w = np.zeros(len(log_scores))
    w[dag] = _softmax(log_scores[dag])
    return w


@torch.no_grad()
def make_posterior(z: torch.Tensor, theta: torch.Tensor | None, *, model, graph_prior, kind: str,
                   info: dict[str, Any] | None = None) -> ParticlePosterior:
    """Build the posterior from final particles z [P, d, k, 2] (and theta [P, T]).

    Args:
        model: the likelihood (``log_marginal`` or ``log_joint``).
        graph_prior: object with ``log_prob(g [..., d, d]) -> [...]``.
        kind: 'dibs' (empirical) or 'dibs+' (weighted by the unnormalised posterior).
    """
    if kind not in ("dibs", "dibs+"):
        raise ValueError(f"unknown posterior kind '{kind}' (known: dibs, dibs+)")
    g = limit_graphs(z)  # [P, d, d] int8
    P = g.shape[0]
    info = dict(info or {})
    if not model.is_joint:
        g_np = g.cpu().numpy()
        uniq, counts = np.unique(g_np, axis=0, return_counts=True)  # [K, d, d], [K]
        gu = torch.as_tensor(uniq, device=z.device, dtype=torch.float64)  # [K, d, d]
        log_scores = (model.log_marginal_hard(gu) + graph_prior.log_prob(gu)).cpu().numpy()  # [K]
        weights = counts / P if kind == "dibs" else _dag_weights(log_scores, uniq, info)
        return ParticlePosterior(graphs=uniq.astype(np.int8), weights=np.asarray(weights, np.float64),
                                 log_scores=log_scores, theta=None, kind=kind, info=info)
    gf = g.to(theta.dtype)  # [P, d, d]
    lj = model.log_joint(gf[:, None], theta)[:, 0].to(torch.float64)  # [P]
    log_scores = (lj + graph_prior.log_prob(gf).to(torch.float64)).cpu().numpy()  # [P]
    g_np = g.cpu().numpy().astype(np.int8)
    weights = np.full(P, 1.0 / P) if kind == "dibs" else _dag_weights(log_scores, g_np, info)
    return ParticlePosterior(graphs=g_np, weights=weights, log_scores=log_scores,
                             theta=theta.detach().cpu().numpy(), kind=kind, info=info)
