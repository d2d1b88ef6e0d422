"""DAG samples from AVICI's edge probabilities, acyclicity enforced.

AVICI's q(G | D) is a product of independent Bernoullis, one per edge (Lorch et al. 2022,
§3.1); a draw from it may contain a cycle, which the training penalty (§3.3) makes rare but
not impossible. Each sample here is one Bernoulli draw, made acyclic greedily: its edges
are added in order of decreasing probability, and an edge that would close a directed
cycle with the edges already added is dropped. A draw that is already a DAG is kept as it
is; otherwise the dropped edges are, cycle by cycle, the least probable ones. The fraction
of drawn edges dropped is reported, so a model whose draws are often cyclic shows it.
"""
from __future__ import annotations

import numpy as np


def acyclic_samples(edge_probs: np.ndarray, n_samples: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """edge_probs [d, d] (diagonal ignored), n_samples K -> (graphs [K, d, d] int8 DAGs,
    fraction of Bernoulli-drawn edges dropped to break cycles).

    Cycle checks keep the transitive closure of the edges added so far ([d, d] bool):
    i -> j closes a cycle iff j already reaches i; adding it joins everything reaching i
    to everything j reaches. O(d^2) per added edge."""
    p = np.asarray(edge_probs, dtype=np.float64)
    d = p.shape[0]
    if p.shape != (d, d):
        raise ValueError(f"edge_probs must be [d, d], got {p.shape}")
    order = np.argsort(-p, axis=None, kind="stable")          # edges by decreasing probability
    graphs = np.zeros((n_samples, d, d), dtype=np.int8)
    drawn = dropped = 0
    eye = np.eye(d, dtype=bool)
    for k in range(n_samples):
        take = rng.random((d, d)) < p
        take[eye] = False
        edges = order[take.ravel()[order]]
        drawn += len(edges)
        reach = eye.copy()                                      # reach[a, b]: a reaches b (a path of length >= 0)
        for e in edges:
            i, j = divmod(int(e), d)
            if reach[j, i]:
                dropped += 1
                continue
            graphs[k, i, j] = 1
            reach |= np.outer(reach[:, i], reach[j, :])
    return graphs, (dropped / drawn if drawn else 0.0)
