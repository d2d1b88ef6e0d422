"""The exact posterior p(G | D) ∝ p(D | G) p(G) over every DAG on d <= 6 nodes."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dagposterior.dags import MAX_D, N_DAGS, all_dags, codes_to_graphs, graphs_to_codes
from dagposterior.scores import LocalScores


@dataclass
class ExactPosterior:
    """The posterior over all a(d) DAGs.

    Fields:
        d: number of nodes.
        codes: [N] int64 sorted DAG codes (``dagposterior.dags``), N = a(d).
        log_weights: [N] float64 normalised log p(G | D) (logsumexp = 0).
        log_evidence: log sum_G p(D | G) p(G) with p(G) unnormalised as in
            ``LocalScores`` (comparable between datasets only for the same prior).
    """

    d: int
    codes: np.ndarray
    log_weights: np.ndarray
    log_evidence: float
    info: dict = field(default_factory=dict)

    @property
    def weights(self) -> np.ndarray:
        """[N] float64 posterior probabilities, summing to 1."""
        return np.exp(self.log_weights)

    def graphs(self) -> np.ndarray:
        """[N, d, d] int8 adjacency matrices, in the order of ``codes``."""
        return codes_to_graphs(self.codes, self.d)

    def edge_marginals(self) -> np.ndarray:
        """[d, d] float64 p(i -> j | D) = sum_G p(G | D) g_ij."""
        d = self.d
        bits = (self.codes[:, None] >> np.arange(d * d, dtype=np.int64)) & 1  # [N, d·d]
        return (self.weights @ bits).reshape(d, d)

    def prob(self, graphs: np.ndarray) -> np.ndarray:
        """p(G | D) of each graph in [K, d, d] -> [K]; 0 for a graph that is not a DAG."""
        q = graphs_to_codes(graphs)
        pos = np.clip(np.searchsorted(self.codes, q), 0, len(self.codes) - 1)
        found = self.codes[pos] == q
        return np.where(found, self.weights[pos], 0.0)


def exact_posterior(scores: LocalScores, *, max_d: int = MAX_D) -> ExactPosterior:
    """Score every DAG on ``scores.d`` nodes: log p(G | D) = sum_j s(j, pa_j) − log Z.

    The local scores s are BGe plus the graph prior (``LocalScores``); the posterior is
    exact up to float64 rounding. Cost: d·2^(d−1) BGe families and a(d) table lookups
    per node (a(5) = 29,281, a(6) = 3,781,503).
    Raises ValueError when d > ``max_d`` (at most ``dags.MAX_D`` = 6).
    """
    d = scores.d
    if d > min(max_d, MAX_D):
        raise ValueError(f"the exact posterior enumerates every DAG and is limited to d <= "
                         f"{min(max_d, MAX_D)}; this dataset has d = {d} ({N_DAGS.get(d, 'over 1e9')} DAGs)")
    codes = all_dags(d)
    table = scores.table()                                                  # [d, 2^d]
    log_post = np.zeros(len(codes))
    for j in range(d):
        # bit i·d + j of a code is the edge i -> j: gather them into node j's parent code
        pa = np.zeros(len(codes), dtype=np.int64)
        for i in range(d):
            pa |= ((codes >> (i * d + j)) & 1) << i
        log_post += table[j, pa]
    top = log_post.max()
    log_z = top + np.log(np.exp(log_post - top).sum())
    return ExactPosterior(d=d, codes=codes, log_weights=log_post - log_z, log_evidence=float(log_z),
                          info={"n_dags": int(len(codes)), "graph_prior": scores.graph_prior})
