"""A random DAG with the true number of edges: the chance floor of every table."""
from __future__ import annotations

import numpy as np

from methods.base import GraphPosterior, Method
from simulators.base import Dataset


def random_dag(d: int, n_edges: int, rng: np.random.Generator) -> np.ndarray:
    """[d, d] int8 DAG: a uniformly random node order and ``n_edges`` of the
    d(d-1)/2 order-respecting pairs chosen uniformly without replacement."""
    n_pairs = d * (d - 1) // 2
    if not 0 <= n_edges <= n_pairs:
        raise ValueError(f"a DAG on {d} nodes has between 0 and {n_pairs} edges, not {n_edges}")
    iu, ju = np.triu_indices(d, k=1)                      # pairs (iu < ju) in order positions
    pick = rng.choice(n_pairs, size=n_edges, replace=False)
    order = rng.permutation(d)                            # order[r]: node at position r
    g = np.zeros((d, d), dtype=np.int8)
    g[order[iu[pick]], order[ju[pick]]] = 1
    return g


class RandomDAG(Method):
    """K random DAGs (uniform node order, uniform edges), each with exactly as many
    edges as the true graph, weighted 1/K.

    This floor reads ``data.g_true``, but only its number of edges (the "true density"
    the tables compare against); nothing else of the truth is used.

    Parameters:
        n_samples: K, the number of independent random DAGs.
    """

    name = "random_dag"
    defaults = {"n_samples": 1}

    @classmethod
    def check_params(cls, params):
        if params["n_samples"] < 1:
            return [f"parameter 'n_samples' = {params['n_samples']} must be >= 1"]
        return []

    def fit(self, data: Dataset, *, seed: int) -> GraphPosterior:
        rng = np.random.default_rng(seed)
        d = data.d
        m = int((np.asarray(data.g_true) != 0).sum())     # the only use of the truth
        k = int(self.params["n_samples"])
        graphs = np.stack([random_dag(d, m, rng) for _ in range(k)])
        return GraphPosterior(graphs=graphs, weights=np.full(k, 1.0 / k),
                              info={"n_edges": m})
