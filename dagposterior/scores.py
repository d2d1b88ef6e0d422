"""Local scores of (node, parent set) pairs: log p(D_j | D_pa) + log p(pa_j).

The BGe term is torchdibs's (``torchdibs.likelihoods.BGe``), with the DiBS plugins'
hyperparameters: Normal-Wishart prior with mean 0, α_μ = 1, α_λ = d + 2 and
T = t·I, t = α_μ(α_λ − d − 1)/(α_μ + 1) (Geiger & Heckerman 2002; Kuipers, Moffa &
Heckerman 2014, eq. 2 and the addendum's choice of T; the DiBS paper, Lorch et al.
2021, App. C, uses the same defaults). Intervened rows are left out of a node's term
(``interv_mask``), as in DiBS.

Graph priors, all modular so that log p(G) = sum_j log p(pa_j) + const:
* 'er': Erdős–Rényi, p(G) ∝ p^|E| (1 − p)^(N − |E|) with p from ``edges_per_node``
  exactly as ``torchdibs.priors.ErdosRenyiPrior`` (capped at 0.5), so a family with l
  parents gets l · log(p / (1 − p));
* 'sf': scale-free, p(G) ∝ prod_j (1 + |pa_j|)^(−3) (``torchdibs.priors.ScaleFreePrior``);
* 'uniform': p(G) ∝ 1.
"""
from __future__ import annotations

import math

import numpy as np

#: graph priors the exact posterior and MC3 offer (the DiBS plugins offer the same)
GRAPH_PRIORS = ("er", "sf", "uniform")


class LocalScores:
    """Cached local scores of one dataset.

    Args:
        x: [n, d] training data.
        interv_mask: [n, d] bool, True where a row intervened on a node (its term is
            left out), or None (observational).
        graph_prior: one of GRAPH_PRIORS.
        edges_per_node: expected edges per node of the 'er' prior.
        alpha_mu, alpha_lambda: BGe hyperparameters (α_λ defaults to d + 2 and must
            exceed d + 1).
    Raises ValueError for an unknown prior, non-finite data or bad hyperparameters.

    A parent set is an integer code with bit i set for parent i. ``family(j, code)``
    and ``families(nodes, codes)`` return log BGe + log prior of node j with those
    parents, in nats; each (node, code) is computed once.
    """

    def __init__(self, x: np.ndarray, interv_mask: np.ndarray | None = None, *, graph_prior: str = "er",
                 edges_per_node: float = 2.0, alpha_mu: float = 1.0, alpha_lambda: float | None = None):
        # torchdibs (and torch) are imported here, not at module level, so listing plugins stays fast
        from torchdibs.likelihoods import BGe
        from torchdibs.priors import ErdosRenyiPrior, ScaleFreePrior

        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"x must be [n, d], got shape {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("x has non-finite values")
        self.n, self.d = x.shape
        if graph_prior not in GRAPH_PRIORS:
            raise ValueError(f"unknown graph prior '{graph_prior}' (known: {', '.join(GRAPH_PRIORS)})")
        self.graph_prior = graph_prior
        self.bge = BGe(x=x, interv_mask=interv_mask, alpha_mu=alpha_mu, alpha_lambda=alpha_lambda)
        if graph_prior == "er":
            p = ErdosRenyiPrior(n_vars=self.d, edges_per_node=edges_per_node).p
            self._per_parent = math.log(p) - math.log1p(-p)
        elif graph_prior == "sf":
            self._power = ScaleFreePrior(n_vars=self.d).power
        self._cache: dict[tuple[int, int], float] = {}

    def log_prior_family(self, n_parents: np.ndarray) -> np.ndarray:
        """log p(pa_j) up to a constant, for parent counts [U] -> [U] float64."""
        n_parents = np.asarray(n_parents, dtype=np.float64)
        if self.graph_prior == "er":
            return n_parents * self._per_parent
        if self.graph_prior == "sf":
            return -self._power * np.log1p(n_parents)
        return np.zeros_like(n_parents)

    def families(self, nodes: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Local scores [U] float64 of children ``nodes`` [U] with parent-set ``codes`` [U]."""
        import torch

        nodes = [int(v) for v in np.asarray(nodes).reshape(-1)]
        # codes as Python ints: at d >= 64 a parent set does not fit in an int64
        codes = [int(c) for c in np.asarray(codes, dtype=object).reshape(-1)]
        keys = list(zip(nodes, codes))
        missing = sorted({k for k in keys if k not in self._cache})
        if missing:
            if any((c >> n) & 1 or c >> self.d or c < 0 for n, c in missing):
                raise ValueError("a parent set contains its own child or a node >= d")
            mn = np.array([k[0] for k in missing], dtype=np.int64)
            masks = np.array([[(c >> i) & 1 for i in range(self.d)] for _, c in missing],
                             dtype=np.float64).reshape(len(missing), self.d)  # [M, d]
            bge = self.bge.family_scores_hard(torch.as_tensor(mn), torch.as_tensor(masks)).numpy()
            vals = bge + self.log_prior_family(masks.sum(1))
            self._cache.update(zip(missing, vals.tolist()))
        return np.array([self._cache[k] for k in keys], dtype=np.float64)

    def family(self, node: int, code: int) -> float:
        """The local score of one family (see ``families``)."""
        return float(self.families(np.array([node]), np.array([code]))[0])

    def table(self) -> np.ndarray:
        """[d, 2^d] float64: entry [j, c] is the local score of node j with parent-set code
        c, −inf where c contains j. For d <= 20 (the table has d·2^d entries)."""
        d = self.d
        if d > 20:
            raise ValueError(f"a full local-score table at d = {d} would have {d * 2 ** d} entries")
        codes = np.arange(2 ** d, dtype=np.int64)
        out = np.full((d, 2 ** d), -np.inf)
        for j in range(d):
            ok = ((codes >> j) & 1) == 0
            out[j, ok] = self.families(np.full(ok.sum(), j), codes[ok])
        return out


def parent_codes(graphs: np.ndarray) -> np.ndarray:
    """Adjacency matrices [N, d, d] -> parent-set codes [N, d] int64 (bit i of entry j: i -> j)."""
    graphs = (np.asarray(graphs) != 0).astype(np.int64)
    d = graphs.shape[-1]
    return np.einsum("nij,i->nj", graphs, np.int64(1) << np.arange(d, dtype=np.int64))
