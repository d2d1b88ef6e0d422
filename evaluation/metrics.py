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
    "pair_status", "shd", "shd_stack", "shd_cpdag", "is_acyclic", "frac_cyclic", "expected_shd",
    "DIAGNOSTIC_KEYS", "effective_sample_size", "posterior_diagnostics",
    "edge_marginals", "offdiag", "auroc", "auprc", "precision_recall_f1",
    "brier_score", "expected_calibration_error", "reliability_bins",
    "to_gadjid_cpdag", "intervention_distances",
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


def shd_stack(graphs: np.ndarray, g_true: np.ndarray) -> np.ndarray:
    """SHD (``evaluation.metrics.shd``: reversal = 1) of each graph in [N, d, d] to g_true
    [d, d] -> [N] int64, vectorised."""
    g = (np.asarray(graphs) != 0).astype(np.int8)
    t = (np.asarray(g_true) != 0).astype(np.int8)
    iu = np.triu_indices(t.shape[0], k=1)
    status = g[:, iu[0], iu[1]] + 2 * g[:, iu[1], iu[0]]                     # [N, pairs]
    return np.count_nonzero(status != (t[iu] + 2 * t.T[iu]), axis=1)


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


# ---------------------------------------------------------- posterior diagnostics

#: The keys :func:`posterior_diagnostics` returns, in order (columns of scores.csv).
DIAGNOSTIC_KEYS = ("n_graphs", "n_distinct_dags", "ess", "ess_distinct")


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size of importance weights: ESS = (sum_k w_k)^2 / sum_k w_k^2.

    Kish (1965), Survey Sampling, Wiley; used as the effective sample size of
    (self-normalised) importance weights in Owen (2013), Monte Carlo theory, methods and
    examples, Sec. 9.3. ``weights``: [K] float, non-negative, in any scale (ESS does not
    change when they are multiplied by a constant, so normalised and unnormalised
    weights give the same value). Unitless, a count of samples: K for equal positive
    weights, 1 when one sample holds all the weight, and in general
    1 <= ESS <= #{k : w_k > 0}. 0.0 when every weight is 0 (or K = 0), where the
    formula is 0/0: no sample carries weight.
    Raises ValueError when ``weights`` is not 1-D, or has a NaN, an inf or a negative entry.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1:
        raise ValueError(f"weights must be 1-D [K], got shape {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("weights must be finite and non-negative")
    total = w.sum()
    if not total > 0:
        return 0.0
    w = w / total  # (scale first, so that tiny or huge weights do not under- or overflow)
    return float(1.0 / np.sum(w * w))


def posterior_diagnostics(graphs: np.ndarray, weights: np.ndarray | None = None) -> dict[str, int | float]:
    """How many graphs a posterior rests on: whether it has collapsed onto a few DAGs.

    graphs: [K, d, d] 0/1 (any non-zero entry is an edge; a [d, d] graph is K = 1);
    weights: [K] non-negative (normalised here), None for uniform. The same posterior
    every score uses (``evaluation.scoring.score_fit``): cyclic graphs (a self-loop is
    a cycle) are left out and the weights of the acyclic ones renormalised, which does
    not change an ESS. Let A = {k : G_k acyclic}. Returns, all counts of graphs:

        n_graphs: K, the entries of ``graphs`` (the particles of a DiBS fit with a
            joint model; the distinct particle graphs of marginal DiBS, whose plugin
            merges identical particles; the samples of MC3 or a bootstrap; the DAGs of
            the class for an equivalence-class answer), cyclic ones included (their
            share is ``frac_cyclic_unweighted``).
        n_distinct_dags: the number of distinct adjacency matrices among G_k, k in A,
            whatever their weight (a DAG with weight 0, e.g. one whose DiBS+ weight
            underflows, still counts: it is what the method proposed).
        ess: Kish's effective sample size (:func:`effective_sample_size`) of the weights
            (w_k)_{k in A}, over the entries as given, duplicates apart: K for uniform
            weights and no cyclic graph.
        ess_distinct: the same over the distinct DAGs, the weights of identical entries
            summed first, W_G = sum_{k in A : G_k = G} w_k. This is the one that shows a
            collapse: 30 equally weighted particles that are all one DAG give ess 30 but
            ess_distinct 1. 0 <= ess_distinct <= min(ess, n_distinct_dags) and
            ess <= #{k in A : w_k > 0} <= K.

    When the acyclic graphs carry no weight (``all_cyclic``: every graph cyclic, or
    every acyclic one of weight 0) ess and ess_distinct are 0.0: the scores then use the
    empty graph, which is none of the fit's graphs.
    Raises ValueError for graphs that are not [K, d, d] with K >= 1, or weights that are
    not [K], finite, non-negative and not all 0.
    """
    g = _as_stack(graphs)
    K, d = len(g), g.shape[-1]
    if K == 0:
        raise ValueError("graphs holds no graph (K = 0)")
    w = _norm_weights(weights, K)                                       # [K]
    uniq, inverse = np.unique(g.reshape(K, -1) != 0, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)                           # [K] -> distinct graph
    acyclic_u = is_acyclic(uniq.reshape(-1, d, d))                      # [U]
    acyclic = acyclic_u[inverse]                                        # [K]
    w_dag = np.bincount(inverse, weights=np.where(acyclic, w, 0.0), minlength=len(uniq))[acyclic_u]
    return {"n_graphs": int(K),
            "n_distinct_dags": int(acyclic_u.sum()),
            "ess": effective_sample_size(w[acyclic]),
            "ess_distinct": effective_sample_size(w_dag)}


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
    1/2 (``sklearn.metrics.roc_auc_score``, whose arithmetic :func:`_roc_auc` repeats
    step by step, so that the number is the same to the last bit without importing
    scikit-learn, most of a second of every evaluate job). Perfect marginals give 1;
    marginals 1 - g_true give 0. Degenerate case: NaN when the off-diagonal labels are a
    single class, i.e. the true graph is empty, or complete in the sense that every
    ordered pair is an edge (impossible for a DAG), or d < 2.
    """
    y, s = _labels_scores(edge_probs, g_true)
    if _single_class(y):
        return float("nan")
    return _roc_auc(y, s)


def auprc(edge_probs: np.ndarray, g_true: np.ndarray, *, method: str = "average_precision") -> float:
    """Area under the precision-recall curve of the edge marginals, over the d(d-1)
    off-diagonal entries (label 1 where g_true[i, j] = 1).

    ``method="average_precision"`` (default, what ``score_fit`` reports as ``auprc``):
    AP = sum_n (R_n - R_{n-1}) P_n over the distinct score thresholds in decreasing
    order, a step-wise area without interpolation
    (``sklearn.metrics.average_precision_score``, repeated step by step by
    :func:`_average_precision`, as for ``auroc``).
    ``method="trapezoid"``: the trapezoidal area under the (recall, precision) points of
    ``sklearn.metrics.precision_recall_curve`` (``sklearn.metrics.auc``); this is what
    ``cdt.metrics.precision_recall`` and the DiBS code's ``prc_auc`` compute (they,
    however, over all d*d entries, diagonal included).
    Degenerate case: NaN when the off-diagonal labels are a single class (true graph
    empty, or every ordered pair an edge), or d < 2.
    """
    y, s = _labels_scores(edge_probs, g_true)
    if _single_class(y):
        return float("nan")
    if method == "average_precision":
        return _average_precision(y, s)
    if method == "trapezoid":
        from sklearn.metrics import auc, precision_recall_curve

        precision, recall, _ = precision_recall_curve(y, s)
        return float(auc(recall, precision))
    raise ValueError(f"unknown method {method!r}; use 'average_precision' or 'trapezoid'")


# scikit-learn's ranking metrics for 0/1 labels without sample weights, in numpy: the same
# operations in the same order as sklearn.metrics._ranking (1.9), so the same floats;
# tests/test_harness_overhead.py compares them with scikit-learn bit for bit on random and tied
# scores. Importing scikit-learn (with scipy.stats and pandas) took 0.9-1.4 s per job.

def _clf_curve(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fps, tps) [T]: false and true positives at each distinct score, thresholds in
    decreasing order (``confusion_matrix_at_thresholds``). Exact integers as floats:
    within a run of tied scores only the count at its end is read, so the order of
    tied entries does not matter."""
    if not (np.isfinite(s).all() and np.isfinite(y).all()):
        raise ValueError("Input contains NaN or infinity.")  # as sklearn's assert_all_finite
    order = np.argsort(s, kind="stable")[::-1]
    s, y = s[order], y[order]
    threshold_idxs = np.concatenate([np.nonzero(np.diff(s))[0], [y.size - 1]])
    tps = np.cumsum(y.astype(np.float64) * 1.0, dtype=np.float64)[threshold_idxs]
    fps = 1 + threshold_idxs.astype(np.float64) - tps
    return fps, tps


def _roc_auc(y: np.ndarray, s: np.ndarray) -> float:
    """``sklearn.metrics.roc_auc_score(y, s)`` for 0/1 labels ``y`` of both classes:
    ``roc_curve`` (collinear points dropped, (0, 0) prepended) and the trapezoidal
    area (``sklearn.metrics.auc``, ``scipy.integrate.trapezoid``)."""
    fps, tps = _clf_curve(y, s)
    if fps.shape[0] > 2:  # drop_intermediate
        keep = np.concatenate([[True], np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), [True]])
        fps, tps = fps[keep], tps[keep]
    fps = np.concatenate([[0.0], fps])
    tps = np.concatenate([[0.0], tps])
    fpr, tpr = fps / fps[-1], tps / tps[-1]
    dx = fpr[1:] - fpr[:-1]                                  # fpr never decreases: direction 1
    return float(np.sum(dx * (tpr[1:] + tpr[:-1]) / 2.0, axis=-1, dtype=np.float64))


def _average_precision(y: np.ndarray, s: np.ndarray) -> float:
    """``sklearn.metrics.average_precision_score(y, s)`` for 0/1 labels ``y`` of both
    classes: ``precision_recall_curve`` and -sum(diff(recall) * precision[:-1]), clipped at 0."""
    fps, tps = _clf_curve(y, s)
    ps = tps + fps
    precision = np.where(ps != 0, np.divide(tps, ps), 0.0)
    recall = tps / tps[-1]
    precision = np.concatenate((np.flip(precision), [1.0]))
    recall = np.concatenate((np.flip(recall), [0.0]))
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))


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


# ------------------------------------------------------------------- calibration

def _calibration_inputs(edge_probs, g_true) -> tuple[np.ndarray, np.ndarray]:
    """(labels [N] int, probabilities [N] float64) of the N = d(d-1) off-diagonal entries,
    the probabilities checked to lie in [0, 1] (a rounding excess of 1e-9 is clipped)."""
    y, p = _labels_scores(edge_probs, g_true)
    if not np.isfinite(p).all() or (p < -1e-9).any() or (p > 1 + 1e-9).any():
        raise ValueError("edge_probs must be finite probabilities in [0, 1]")
    return y, np.clip(p, 0.0, 1.0)


def _bin_index(p: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin of each probability among ``n_bins`` equal-width bins on [0, 1]: bin b holds
    b/n <= p < (b+1)/n, the last bin also p = 1 (right-closed), i.e. min(floor(n p), n - 1).
    (floor(n p) rather than comparing with edges b/n, whose float values, e.g.
    linspace(0, 1, 11)[3] = 0.30000000000000004, would put p = 0.3 in the bin below.)"""
    if int(n_bins) != n_bins or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    return np.minimum(np.floor(p * n_bins).astype(int), int(n_bins) - 1)


def brier_score(edge_probs: np.ndarray, g_true: np.ndarray) -> float:
    """Brier score of the edge marginals: (1/N) sum_{i != j} (p_ij - G*_ij)^2 over the
    N = d(d-1) off-diagonal entries (Brier 1950, Monthly Weather Review 78(1), p. 1; his
    score sums over both classes, edge and no edge, and so is twice this one).

    edge_probs: [d, d] probabilities p_ij = p(i -> j); g_true: [d, d] 0/1 true graph
    (g_true[i, j] = 1 means i -> j). Unitless, in [0, 1], lower is better: 0 for 0/1
    marginals equal to G*, 1 for 1 - G*; the empty answer scores the share of true edges
    among the N pairs. NaN when d < 2 (no off-diagonal entry).
    Raises ValueError when the shapes differ or are not [d, d], or a probability is not
    finite or outside [0, 1] (beyond a rounding excess of 1e-9, which is clipped).
    """
    y, p = _calibration_inputs(edge_probs, g_true)
    if y.size == 0:
        return float("nan")
    return float(np.mean((p - y) ** 2))


def reliability_bins(edge_probs_list, g_true_list, n_bins: int = 10
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reliability diagram of edge marginals pooled over several fits:
    (mean predicted [n_bins] float, observed frequency [n_bins] float, count [n_bins] int).

    The off-diagonal entries of every pair (edge_probs_list[f] [d_f, d_f],
    g_true_list[f] [d_f, d_f]) are pooled (fits may differ in d) and put in ``n_bins``
    equal-width bins on [0, 1]: bin b holds b/n_bins <= p < (b+1)/n_bins, and the last bin
    is right-closed so that p = 1.0 falls in it (p = 0.0 falls in the first). Per bin:
    the mean of the predicted p, the fraction of those pairs that are true edges, and how
    many pairs fall in it; the two means are NaN for an empty bin. A calibrated predictor
    has observed frequency = mean predicted in every bin (Naeini, Cooper & Hauskrecht,
    AAAI 2015; Guo et al., ICML 2017, Sec. 2 "Reliability diagrams").
    Raises ValueError as :func:`brier_score` does, and when the two lists differ in length.
    """
    if len(edge_probs_list) != len(g_true_list):
        raise ValueError(f"{len(edge_probs_list)} edge_probs but {len(g_true_list)} true graphs")
    pairs = [_calibration_inputs(p, g) for p, g in zip(edge_probs_list, g_true_list)]
    y = np.concatenate([yy for yy, _ in pairs]) if pairs else np.zeros(0, int)
    p = np.concatenate([pp for _, pp in pairs]) if pairs else np.zeros(0)
    b = _bin_index(p, n_bins)                                  # [N]
    count = np.bincount(b, minlength=n_bins)                   # [n_bins]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.bincount(b, weights=p, minlength=n_bins) / count
        freq = np.bincount(b, weights=y.astype(float), minlength=n_bins) / count
    return mean_p, freq, count


def expected_calibration_error(edge_probs: np.ndarray, g_true: np.ndarray, n_bins: int = 10) -> float:
    """Expected calibration error of the edge marginals over the N = d(d-1) off-diagonal
    entries: ECE = sum_b (n_b / N) |mean(p in b) - mean(G* in b)|, with ``n_bins``
    equal-width bins on [0, 1] (bin b holds b/n_bins <= p < (b+1)/n_bins; the last bin is
    right-closed and includes p = 1.0; p = 0.0 is in the first), empty bins contributing
    0 (Naeini, Cooper & Hauskrecht, AAAI 2015; Guo et al., ICML 2017, eq. 3).

    edge_probs: [d, d] probabilities p_ij = p(i -> j); g_true: [d, d] 0/1 true graph.
    Unitless, in [0, 1], lower is better; 0 when, in every bin, the share of true edges
    equals the mean predicted probability. NaN when d < 2. The bins are those of
    :func:`reliability_bins`. Raises ValueError as :func:`brier_score` does, and for
    n_bins that is not a positive integer.
    """
    mean_p, freq, count = reliability_bins([edge_probs], [g_true], n_bins)
    n = count.sum()
    if n == 0:
        return float("nan")
    full = count > 0
    return float(np.sum(count[full] / n * np.abs(mean_p[full] - freq[full])))


# ------------------------------------------------------- intervention distances

#: gadjid's reading of an adjacency matrix: g[i, j] = 1 means i -> j (ours).
GADJID_DIRECTION = "from row to column"


def to_gadjid_cpdag(cpdag: np.ndarray) -> np.ndarray:
    """A [d, d] CPDAG in dagbench's encoding as the [d, d] int8 matrix ``gadjid`` reads.

    dagbench: i -> j is c[i, j] = 1, c[j, i] = 0; i - j (undirected) is c[i, j] = c[j, i] = 1.
    gadjid (with edge_direction "from row to column"): i -> j is 1 at [i, j]; i - j is a 2
    at [i, j] or [j, i] (one suffices; gadjid reads two 1s as the 2-cycle i <-> j and
    refuses the graph). Here an undirected edge becomes 2 above the diagonal (i < j) and
    0 below it; directed edges stay 1; the diagonal must be 0.
    Raises ValueError for a non-square input or a diagonal entry.
    """
    c = (np.asarray(cpdag) != 0).astype(np.int8)
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise ValueError(f"expected a square [d, d] CPDAG, got shape {c.shape}")
    if np.diagonal(c).any():
        raise ValueError("the CPDAG has self-loops (diagonal entries)")
    und = (c & c.T).astype(bool)                                # [d, d] symmetric
    out = np.where(und, 0, c).astype(np.int8)
    out[np.triu(und, k=1)] = 2
    return np.ascontiguousarray(out)


def intervention_distances(g_true: np.ndarray, graphs: np.ndarray, weights: np.ndarray | None = None,
                           cpdag: np.ndarray | None = None) -> dict[str, float]:
    """Intervention distances of an answer to the true DAG: {'sid', 'parent_aid',
    'ancestor_aid'}, each a count of mistaken (treatment, effect) node pairs.

    Over the d(d-1) ordered pairs (T, Y), T != Y, a guess graph says how to estimate the
    effect of intervening on T on Y (that it is zero, or which adjustment set to use);
    a mistake is a pair for which that is wrong in the true DAG G*. Counts, not the
    fraction (divide by d(d-1) for gadjid's normalised distance):

    * ``sid``: structural intervention distance (Peters & Bühlmann, Neural Computation
      27(3), 2015): adjust for the guess's parents of T.
    * ``parent_aid``: Parent-AID (Henckel, Würtzen & Weichwald, "Adjustment Identification
      Distance: A gadjid for Causal Structure Learning", 2024, arXiv:2402.08616):
      SID's parent adjustment generalised to CPDAG guesses; for a DAG guess it equals SID.
    * ``ancestor_aid``: Ancestor-AID (same paper): adjust for the guess's ancestors of T,
      and claim a zero effect for every Y that is not a (possible) descendant of T.
    For a CPDAG guess, a pair whose effect the CPDAG cannot identify (not amenable: a
    possibly causal path from T starts with an undirected edge) is a mistake (the AIDs).

    g_true: [d, d] 0/1 true DAG (g_true[i, j] = 1 means i -> j). graphs: [K, d, d] (or
    [d, d]) DAG samples with ``weights`` [K] (non-negative; default uniform).
    A posterior is scored by the weighted mean over its acyclic samples, the weights
    renormalised over them (the rule of :func:`expected_shd`; each distinct graph is
    scored once); if they carry no weight, the answer is the empty graph (and ``cpdag``
    is not used).
    ``cpdag``: [d, d] in dagbench's encoding (undirected = 1 both ways) for an
    equivalence-class answer (PC, GES). Then parent_aid and ancestor_aid are gadjid's
    values for the CPDAG itself as the guess (one call each, after
    ``dagbench.mec.canonical_cpdag`` and :func:`to_gadjid_cpdag`), which penalise what the
    class leaves unidentified; ``sid``, defined for DAG guesses only (gadjid refuses a
    CPDAG: "Use parent_aid if you want to pass a CPDAG"), stays the weighted mean over
    ``graphs``, i.e. over the DAGs of the class. So for a CPDAG answer parent_aid can
    exceed sid (e.g. guess 0 - 1 against 0 -> 1: parent_aid 2, sid (0 + 2) / 2 = 1).

    The work is done by the ``gadjid`` package (Henckel et al.'s own implementation:
    maintained, fast (Rust, parallel over treatments), handles CPDAG guesses, needs only
    numpy). Returns floats (a posterior's mean may be fractional); all 0 when d < 2
    (no pair; gadjid refuses graphs with fewer than 2 nodes).
    Raises ValueError when g_true is not a [d, d] DAG, the shapes disagree, or the
    cpdag has no consistent DAG extension.
    """
    import gadjid

    from dagbench.mec import canonical_cpdag

    g_true = (np.asarray(g_true) != 0).astype(np.int8)
    graphs = (_as_stack(graphs) != 0).astype(np.int8)           # [K, d, d]
    d = g_true.shape[0] if g_true.ndim == 2 else -1
    if g_true.ndim != 2 or g_true.shape[1] != d or graphs.shape[1:] != (d, d):
        raise ValueError(f"g_true {g_true.shape} and graphs {graphs.shape} must be [d, d] and [K, d, d]")
    if not is_dag(g_true):
        raise ValueError("g_true is not a DAG (the distances need a true DAG)")
    keys = ("sid", "parent_aid", "ancestor_aid")
    if d < 2:
        return dict.fromkeys(keys, 0.0)
    g_true = np.ascontiguousarray(g_true)

    def counts(guess: np.ndarray, *fns) -> list[float]:
        return [float(fn(g_true, guess, edge_direction=GADJID_DIRECTION)[1]) for fn in fns]

    w, all_cyclic = _acyclic_weights(graphs, weights)            # [K], cyclic ones 0
    if all_cyclic:
        support, w_sup = np.zeros((1, d, d), np.int8), np.ones(1)
    else:
        keep = w > 0
        uniq, inverse = np.unique(graphs[keep].reshape(int(keep.sum()), -1), axis=0, return_inverse=True)
        support = uniq.reshape(-1, d, d)                          # [S, d, d] distinct DAGs
        w_sup = np.bincount(np.asarray(inverse).reshape(-1), weights=w[keep], minlength=len(support))
    fns = (gadjid.sid,) if cpdag is not None else (gadjid.sid, gadjid.parent_aid, gadjid.ancestor_aid)
    per_graph = np.array([counts(np.ascontiguousarray(g), *fns) for g in support])  # [S, len(fns)]
    mean = w_sup @ per_graph / w_sup.sum()
    if cpdag is None or all_cyclic:
        return dict(zip(keys, map(float, mean)))
    c = np.asarray(cpdag)
    if c.shape != (d, d):
        raise ValueError(f"cpdag has shape {c.shape}, expected {(d, d)}")
    guess = to_gadjid_cpdag(canonical_cpdag(c))  # (gadjid needs a valid CPDAG, not any PDAG)
    p_aid, a_aid = counts(guess, gadjid.parent_aid, gadjid.ancestor_aid)
    return {"sid": float(mean[0]), "parent_aid": p_aid, "ancestor_aid": a_aid}


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
