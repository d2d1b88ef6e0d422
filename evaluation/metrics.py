"""Structure-learning metrics: pure functions on numpy arrays.

Conventions (the same everywhere in dagbench):

* ``g[i, j] = 1`` means the edge i -> j; graphs are [d, d] 0/1 arrays.
* A PDAG/CPDAG marks an undirected edge i - j with 1 in both ``g[i, j]`` and ``g[j, i]``.
* A posterior is ``graphs`` [K, d, d] with ``weights`` [K] (non-negative, summing to 1).
* The diagonal is never scored: self-loops in an estimate are ignored by every
  function here (a graph with a self-loop still counts as cyclic in
  :func:`is_acyclic` / :func:`frac_cyclic`).

Each function's docstring is its definition; the definitions follow the "Metric
definitions" section of the design brief.

Two rules hold for every metric (applied where fits are scored, ``evaluation.scoring``):

* An equivalence-class answer (a CPDAG, e.g. from PC or GES) is the uniform
  distribution over the DAGs of its Markov equivalence class (``dagbench.mec``; all of
  them up to 1000, else 1000 uniform draws), never one arbitrary DAG extension: E-SHD,
  the edge marginals (for the chain A - B - C, p(A -> B) = 1/3) and the scores derived
  from them are expectations over the class, so they do not depend on column order.
* An answer none of whose acyclic samples carries weight is the empty graph on every
  metric (E-SHD, SHD-CPDAG, precision, recall, F1, AUROC 0.5, AUPRC the share of true
  edges, held-out likelihood) and is flagged ``all_cyclic``.
"""
from __future__ import annotations

import numpy as np

from dagbench.graphs import is_dag

__all__ = [
    "pair_status", "shd", "shd_cpdag", "is_acyclic", "frac_cyclic", "expected_shd",
    "edge_marginals", "offdiag", "auroc", "auprc", "precision_recall_f1",
]


# ----------------------------------------------------------------------------- SHD

def pair_status(g: np.ndarray) -> np.ndarray:
    """Status of every node pair of a [d, d] (P)DAG, as [d, d] int8.

    For i < j the entry ``[i, j]`` encodes the pair {i, j} as
    ``g[i, j] + 2 * g[j, i]``: 0 = absent, 1 = i -> j, 2 = j -> i, 3 = i - j
    (undirected, or a 2-cycle in a directed graph). Entries on and below the
    diagonal are 0.
    """
    g = (np.asarray(g) != 0).astype(np.int8)
    if g.ndim != 2 or g.shape[0] != g.shape[1]:
        raise ValueError(f"expected a square [d, d] graph, got shape {g.shape}")
    return np.triu(g + 2 * g.T, k=1)


def shd(g_est: np.ndarray, g_true: np.ndarray) -> int:
    """Structural Hamming distance between two [d, d] graphs.

    SHD = the number of unordered node pairs {i, j}, i != j, whose status differs,
    where the status of a pair is one of: absent, i -> j, j -> i, i - j (both
    entries 1). Hence a missing edge costs 1, an extra edge costs 1 and a
    **reversed edge costs 1** (not 2, unlike ``cdt.metrics.SHD``'s default
    ``double_for_anticausal=True``). The diagonal is ignored.
    """
    a, b = pair_status(g_est), pair_status(g_true)
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch: {np.shape(g_est)} vs {np.shape(g_true)}")
    return int(np.count_nonzero(a != b))


def shd_cpdag(c_est: np.ndarray, c_true: np.ndarray) -> int:
    """SHD between two [d, d] CPDAGs (or any PDAGs).

    The number of unordered pairs {i, j} whose status differs among: absent,
    i -> j, j -> i, i - j (undirected: 1 both ways). So an undirected edge where
    the other graph has a directed one costs 1, and so does a missing, extra or
    reversed edge. Pass CPDAGs (e.g. ``dagbench.graphs.dag_to_cpdag(g)``); this is
    the fair score for methods that answer with an equivalence class (PC, GES).
    """
    return shd(c_est, c_true)


# ------------------------------------------------------------------------ cycles

def is_acyclic(graphs: np.ndarray) -> np.ndarray:
    """[K] bool: whether each of the [K, d, d] graphs is a DAG (a self-loop is a cycle)."""
    graphs = _as_stack(graphs)
    return np.array([is_dag(g) for g in graphs], dtype=bool)


def frac_cyclic(graphs: np.ndarray, weights: np.ndarray | None = None, *,
                weighted: bool = True) -> float:
    """Fraction of cyclic samples in a posterior.

    ``weighted=True`` (the default, reported as ``frac_cyclic``): the posterior
    mass on cyclic graphs, sum_k w_k 1[G_k has a cycle]. ``weighted=False`` (reported
    as ``frac_cyclic_unweighted``): the plain fraction of the K samples that are
    cyclic, #{k : G_k cyclic} / K. Weights default to uniform; they are used as
    given (normalised to sum 1).
    """
    graphs = _as_stack(graphs)
    cyc = ~is_acyclic(graphs)
    if not weighted:
        return float(cyc.mean())
    w = _norm_weights(weights, len(graphs))
    return float(np.sum(w[cyc]))


def _acyclic_weights(graphs: np.ndarray, weights: np.ndarray | None):
    """(renormalised weights over the acyclic samples [K] with 0 on cyclic ones,
    all_cyclic flag). all_cyclic is True when the acyclic samples carry no mass."""
    graphs = _as_stack(graphs)
    w = _norm_weights(weights, len(graphs))
    w = np.where(is_acyclic(graphs), w, 0.0)
    total = w.sum()
    if total <= 0:
        return np.zeros_like(w), True
    return w / total, False


def expected_shd(graphs: np.ndarray, weights: np.ndarray | None,
                 g_true: np.ndarray) -> tuple[float, bool]:
    """Expected SHD of a posterior: (e_shd, all_cyclic).

    E-SHD = sum_k w~_k SHD(G_k, G*), where the sum runs over the acyclic samples only
    and w~ are their weights renormalised to sum 1 (w~_k = w_k / sum_{acyclic} w_l).
    SHD is :func:`shd` (a reversal costs 1).

    If the acyclic samples carry no weight (every sample is cyclic, or every acyclic
    sample has weight 0), the posterior is scored as the empty graph, i.e.
    e_shd = SHD(empty, G*) = the number of true edges, and ``all_cyclic`` is True
    (the run is flagged). Otherwise ``all_cyclic`` is False.
    """
    graphs = _as_stack(graphs)
    w, all_cyclic = _acyclic_weights(graphs, weights)
    if all_cyclic:
        return float(shd(np.zeros_like(g_true), g_true)), True
    ks = np.nonzero(w > 0)[0]
    return float(sum(w[k] * shd(graphs[k], g_true) for k in ks)), False


# --------------------------------------------------------------- edge marginals

def edge_marginals(graphs: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """[d, d] edge marginals p_ij = sum_k w_k G_k[i, j] over **all** K samples
    (cyclic ones included, as ``GraphPosterior.marginals`` does); weights default to
    uniform and are normalised to sum 1."""
    graphs = _as_stack(graphs)
    w = _norm_weights(weights, len(graphs))
    return np.einsum("k,kij->ij", w, (graphs != 0).astype(np.float64))


def offdiag(a: np.ndarray) -> np.ndarray:
    """The d(d-1) off-diagonal entries of a [d, d] array, row-major, as a 1-D array."""
    a = np.asarray(a)
    return a[~np.eye(a.shape[0], dtype=bool)]


def _labels_scores(edge_probs, g_true):
    p = np.asarray(edge_probs, dtype=np.float64)
    g = np.asarray(g_true)
    if p.shape != g.shape or p.ndim != 2 or p.shape[0] != p.shape[1]:
        raise ValueError(f"edge_probs {p.shape} and g_true {g.shape} must both be [d, d]")
    return (offdiag(g) != 0).astype(int), offdiag(p)


def _single_class(y: np.ndarray) -> bool:
    return y.size == 0 or y.min() == y.max()


def auroc(edge_probs: np.ndarray, g_true: np.ndarray) -> float:
    """Area under the ROC curve of the edge marginals as scores for the true directed
    edges, over the d(d-1) off-diagonal entries (label 1 where g_true[i, j] = 1).

    Equals P(score of a random true edge > score of a random non-edge), ties counting
    1/2 (``sklearn.metrics.roc_auc_score``). Perfect marginals give 1; marginals
    1 - g_true give 0. Degenerate case: NaN when the off-diagonal labels are a single
    class, i.e. the true graph is empty, or complete in the sense that every ordered
    pair is an edge (impossible for a DAG), or d < 2.
    """
    from sklearn.metrics import roc_auc_score

    y, s = _labels_scores(edge_probs, g_true)
    if _single_class(y):
        return float("nan")
    return float(roc_auc_score(y, s))


def auprc(edge_probs: np.ndarray, g_true: np.ndarray, *, method: str = "average_precision") -> float:
    """Area under the precision-recall curve of the edge marginals, over the d(d-1)
    off-diagonal entries (label 1 where g_true[i, j] = 1).

    ``method="average_precision"`` (default, what ``score_fit`` reports as ``auprc``):
    AP = sum_n (R_n - R_{n-1}) P_n over the distinct score thresholds in decreasing
    order, a step-wise area without interpolation
    (``sklearn.metrics.average_precision_score``).
    ``method="trapezoid"``: the trapezoidal area under the (recall, precision) points of
    ``sklearn.metrics.precision_recall_curve`` (``sklearn.metrics.auc``); this is what
    ``cdt.metrics.precision_recall`` and the DiBS code's ``prc_auc`` compute (they,
    however, over all d*d entries, diagonal included).
    Degenerate case: NaN when the off-diagonal labels are a single class (true graph
    empty, or every ordered pair an edge), or d < 2.
    """
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve

    y, s = _labels_scores(edge_probs, g_true)
    if _single_class(y):
        return float("nan")
    if method == "average_precision":
        return float(average_precision_score(y, s))
    if method == "trapezoid":
        precision, recall, _ = precision_recall_curve(y, s)
        return float(auc(recall, precision))
    raise ValueError(f"unknown method {method!r}; use 'average_precision' or 'trapezoid'")


def precision_recall_f1(edge_probs: np.ndarray, g_true: np.ndarray,
                        threshold: float = 0.5) -> tuple[float, float, float]:
    """(precision, recall, F1) of the directed graph thresholded at p_ij > threshold.

    Over the off-diagonal entries: predicted edges E = {(i, j) : p_ij > threshold}
    (strictly: an edge with p_ij = 0.5 each way is not predicted at 0.5), true
    edges T = {(i, j) : g_true[i, j] = 1}; tp = |E & T|, fp = |E - T|, fn = |T - E|.
    precision = tp / (tp + fp), recall = tp / (tp + fn), F1 = 2 tp / (2 tp + fp + fn)
    (the harmonic mean of precision and recall). A reversed edge is one fp and one fn.

    0/0 cases: a ratio whose denominator is 0 is 1 when both graphs are empty (nothing
    predicted, nothing true: a perfect answer) and 0 otherwise. So an empty estimate
    of a non-empty truth has precision 0, recall 0, F1 0; a non-empty estimate of an
    empty truth has precision 0, recall 0, F1 0; both empty give 1, 1, 1.
    """
    y, s = _labels_scores(edge_probs, g_true)
    pred = s > threshold
    true = y == 1
    tp = int(np.sum(pred & true))
    fp = int(np.sum(pred & ~true))
    fn = int(np.sum(~pred & true))
    both_empty = not pred.any() and not true.any()

    def ratio(num, den):
        if den == 0:
            return 1.0 if both_empty else 0.0
        return num / den

    return ratio(tp, tp + fp), ratio(tp, tp + fn), ratio(2 * tp, 2 * tp + fp + fn)


# ------------------------------------------------------------------------ helpers

def _as_stack(graphs: np.ndarray) -> np.ndarray:
    graphs = np.asarray(graphs)
    if graphs.ndim == 2:
        graphs = graphs[None]
    if graphs.ndim != 3 or graphs.shape[1] != graphs.shape[2]:
        raise ValueError(f"expected graphs [K, d, d], got shape {graphs.shape}")
    return graphs


def _norm_weights(weights, k: int) -> np.ndarray:
    if weights is None:
        return np.full(k, 1.0 / k)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape != (k,):
        raise ValueError(f"weights has shape {w.shape}, expected ({k},)")
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise ValueError("weights must be finite, non-negative and not all zero")
    return w / w.sum()
