"""How close a method's posterior is to the exact one (small d).

The reference is the exact BGe posterior of the dataset (``dagposterior``; every DAG
enumerated), under the graph prior the setting's ``exact_posterior`` option names. The
method's posterior q is the one every other score uses (``evaluation.scoring``): its
distinct acyclic graphs with their weights renormalised over the acyclic ones (an
all-cyclic answer is the empty graph), an equivalence-class answer the uniform
distribution over its class, a point method a point mass.

Sources: total variation and KL as in the DAG-GFlowNet evaluation (Deleu et al., UAI
2022, Sec. 5.1: the exact posterior at d = 5 as the reference); edge-marginal error as
in Friedman & Koller (Machine Learning 2003, Sec. 5.2); the mass on the true Markov
equivalence class as in Karimi Mamaghan et al. (ICML 2024).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from evaluation.metrics import shd_stack

__all__ = ["POSTERIOR_KEYS", "KL_SMOOTHING", "EXACT_MAX_D", "exact_reference", "posterior_quality",
           "markov_equivalent"]

#: The keys ``posterior_quality`` returns (NaN when the setting has no exact posterior).
POSTERIOR_KEYS = ("edge_mae", "tv", "kl", "e_shd_gap", "mec_mass", "exact_e_shd", "exact_mec_mass")
#: ε of the smoothed q_ε = (1 − ε) q + ε u in KL(p ‖ q_ε), u uniform over the a(d) DAGs;
#: without it KL is infinite for every method that misses one DAG of positive mass.
KL_SMOOTHING = 1e-3
#: the largest d scored against the exact posterior (a(6) = 3,781,503 DAGs: seconds)
EXACT_MAX_D = 6


def _vstructures(g: np.ndarray) -> np.ndarray:
    """[N, d, d] 0/1 DAGs -> [N, d, d, d] bool v[a, b, j]: a -> j <- b, a and b not adjacent."""
    adj = g | g.transpose(0, 2, 1)                                           # [N, d, d]
    d = g.shape[-1]
    v = g[:, :, None, :] & g[:, None, :, :] & ~adj[:, :, :, None]            # [N, a, b, j]
    return v & ~np.eye(d, dtype=bool)[None, :, :, None]


def markov_equivalent(graphs: np.ndarray, g_true: np.ndarray, *, chunk: int = 100_000) -> np.ndarray:
    """[N] bool: DAG k is Markov equivalent to the DAG g_true, i.e. has the same skeleton
    and the same v-structures (Verma & Pearl, UAI 1990, Thm. 1). graphs [N, d, d]."""
    t = np.asarray(g_true) != 0
    t_skel, t_v = t | t.T, _vstructures(t[None])[0]
    out = np.empty(len(graphs), dtype=bool)
    for lo in range(0, len(graphs), chunk):
        g = np.asarray(graphs[lo:lo + chunk]) != 0
        same_skel = ((g | g.transpose(0, 2, 1)) == t_skel).all(axis=(1, 2))
        same_v = (_vstructures(g) == t_v).all(axis=(1, 2, 3))
        out[lo:lo + chunk] = same_skel & same_v
    return out


@lru_cache(maxsize=8)
def _exact_cached(key: bytes, shape: tuple, mask_key: bytes, graph_prior: str, edges_per_node: float):
    from dagposterior import LocalScores, exact_posterior

    x = np.frombuffer(key, dtype=np.float64).reshape(shape).copy()
    mask = None if not mask_key else np.frombuffer(mask_key, dtype=bool).reshape(shape).copy()
    return exact_posterior(LocalScores(x, mask, graph_prior=graph_prior, edges_per_node=edges_per_node))


def exact_reference(x: np.ndarray, interv_mask: np.ndarray | None, *, graph_prior: str = "er",
                    edges_per_node: float = 2.0):
    """The exact posterior (``dagposterior.ExactPosterior``) of training data x [n, d],
    memoised per dataset within a process. Raises ValueError for d > EXACT_MAX_D."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.shape[1] > EXACT_MAX_D:
        raise ValueError(f"the exact posterior is limited to d <= {EXACT_MAX_D}, the data have d = {x.shape[1]}")
    m = None if interv_mask is None else np.ascontiguousarray(interv_mask, dtype=bool)
    mask_key = b"" if m is None or not m.any() else m.tobytes()
    return _exact_cached(x.tobytes(), x.shape, mask_key, graph_prior, float(edges_per_node))


def posterior_quality(exact, support: np.ndarray, w_sup: np.ndarray, edge_probs: np.ndarray,
                      g_true: np.ndarray, *, e_shd: float) -> dict[str, float]:
    """Distances between the exact posterior p and a method's posterior q.

    Args:
        exact: ``dagposterior.ExactPosterior`` of the dataset (N = a(d) DAGs).
        support: [S, d, d] q's distinct acyclic graphs; w_sup: [S] their weights (sum 1).
        edge_probs: [d, d] q's edge marginals as every edge score uses them
            (``scoring.scored_edge_probs``).
        g_true: [d, d] the true DAG.
        e_shd: q's E-SHD (``score_fit``'s e_shd).
    Returns (floats):
        edge_mae: (1 / d(d−1)) sum_{i≠j} |q(i→j) − p(i→j)|.
        tv: total variation (1/2) sum_G |p(G) − q(G)| over DAGs, in [0, 1].
        kl: KL(p ‖ q_ε) = sum_G p(G) log(p(G) / q_ε(G)) in nats, q_ε = (1 − ε) q + ε/a(d),
            ε = KL_SMOOTHING (so a point method gets a finite, comparable value).
        e_shd_gap: |E-SHD(q) − E-SHD(p)|, both against g_true.
        mec_mass: q's mass on the Markov equivalence class of g_true.
        exact_e_shd, exact_mec_mass: the same two numbers for p (the oracle's).
    """
    p_all = exact.weights                                                     # [N]
    d = exact.d
    # q as a vector over the N DAGs (every graph of the support is a DAG, so all are found)
    q_all = np.zeros_like(p_all)
    idx = np.searchsorted(exact.codes, _codes(support))
    np.add.at(q_all, idx, w_sup)
    tv = 0.5 * float(np.abs(p_all - q_all).sum())
    q_eps = (1.0 - KL_SMOOTHING) * q_all + KL_SMOOTHING / len(p_all)
    pos = p_all > 0
    kl = float(np.sum(p_all[pos] * (exact.log_weights[pos] - np.log(q_eps[pos]))))
    off = ~np.eye(d, dtype=bool)
    edge_mae = float(np.abs(np.asarray(edge_probs, dtype=np.float64) - exact.edge_marginals())[off].mean())
    all_graphs = exact.graphs()
    exact_e_shd = float(p_all @ shd_stack(all_graphs, g_true))
    in_mec = markov_equivalent(all_graphs, g_true)
    return {
        "edge_mae": edge_mae,
        "tv": tv,
        "kl": max(kl, 0.0),
        "e_shd_gap": abs(float(e_shd) - exact_e_shd),
        "mec_mass": float(q_all[in_mec].sum()),
        "exact_e_shd": exact_e_shd,
        "exact_mec_mass": float(p_all[in_mec].sum()),
    }


def _codes(graphs: np.ndarray) -> np.ndarray:
    from dagposterior import graphs_to_codes

    return graphs_to_codes(graphs)
