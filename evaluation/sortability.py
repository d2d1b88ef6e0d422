"""Var-sortability and R²-sortability of a dataset with respect to its true DAG.

Source: Reisach, Seiler & Weichwald, "Beware of the Simulated DAG! Causal Discovery
Benchmarks May Be Easy to Game", NeurIPS 2021, Sec. 3.1 (varsortability); Reisach et
al., "A Scale-Invariant Sorting Criterion to Find a Causal Order in Additive Noise
Models", NeurIPS 2023 (arXiv:2303.18211, Eq. (3); R²-sortability); the authors'
reference code is ``CausalDisco.analytics.order_alignment`` (BSD licence). Written here
from the papers' formula, checked against a brute-force enumeration in
tests/test_sortability.py.

Definition. For a DAG G on d nodes (``g[i, j] != 0``: i -> j) and a score per node
(the marginal variance, or the R² of regressing the node on all others), let E^k be the
set of ordered pairs (i, j) joined by a directed path of length exactly k. Then

                   sum_{k=1}^{d-1} sum_{(i, j) in E^k} incr(s_i, s_j)
    sortability = ----------------------------------------------------,
                          sum_{k=1}^{d-1} |E^k|

    incr(a, b) = 1 if b > a + tol,   1/2 if |b - a| <= tol,   0 if b < a - tol.

So it is the share of (cause, effect) pairs, along directed paths of every length, whose
score increases from cause to effect, ties counting one half. Note that a pair joined by
paths of several lengths counts once per length (E^k is per length k), as in the papers
and their code; it is **not** the share of distinct ancestor-descendant pairs, nor of
edges alone (E^1), though it equals the latter on a graph with no path longer than 1.
0.5 is what a random order of scores gives; values near 1 say that sorting by the
score recovers the causal order (var-sortnregress and R²-sortnregress then do well,
see ``methods/sortnregress.py``), near 0 that it recovers the reverse. Var-sortability
depends on the data's scale (standardising the columns changes it); R²-sortability
does not.

The value is NaN for a graph without edges (0 / 0).
"""
from __future__ import annotations

import numpy as np

__all__ = ["order_alignment", "r2_scores", "var_sortability", "r2_sortability"]


def r2_scores(x: np.ndarray) -> np.ndarray:
    """[d] the coefficient of determination R² of regressing each column of ``x`` [n, d]
    on all the other columns (least squares with an intercept):
    ``R²_j = 1 - 1 / (C^{-1})_jj`` with C the correlation matrix (the authors' ``r2coeff``).
    When C is singular, each R² comes from an explicit least-squares fit instead."""
    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape
    if d == 1:
        return np.zeros(1)
    corr = np.corrcoef(x, rowvar=False)
    try:
        prec = np.linalg.inv(corr)
        r2 = 1.0 - 1.0 / np.diag(prec)
        if np.all(np.isfinite(r2)) and np.all(np.diag(prec) > 0):
            return r2
    except np.linalg.LinAlgError:
        pass
    xc = x - x.mean(axis=0)
    out = np.zeros(d)
    for j in range(d):
        others = np.delete(xc, j, axis=1)
        coef = np.linalg.lstsq(others, xc[:, j], rcond=None)[0]
        ss = float(xc[:, j] @ xc[:, j])
        out[j] = 1.0 - float(np.sum((xc[:, j] - others @ coef) ** 2)) / ss if ss > 0 else 0.0
    return out


def order_alignment(g: np.ndarray, scores: np.ndarray, tol: float = 0.0) -> float:
    """The sortability of ``scores`` [d] along the DAG ``g`` [d, d] (module docstring):
    the share of path-connected (cause, effect) pairs, counted once per path length
    1..d-1, whose score increases from cause to effect (|difference| <= ``tol``: 1/2).
    NaN when ``g`` has no edge."""
    if tol < 0:
        raise ValueError(f"tol = {tol} must be >= 0")
    E = (np.asarray(g) != 0).astype(np.int64)                     # [d, d]
    s = np.asarray(scores, dtype=np.float64).ravel()              # [d]
    d = len(E)
    if E.shape != (d, d) or s.shape != (d,):
        raise ValueError(f"g has shape {E.shape} and scores {s.shape}: expected [d, d] and [d]")
    diff = s[None, :] - s[:, None]                                # [d, d] s_j - s_i for the pair (i, j)
    credit = np.where(diff > tol, 1.0, np.where(diff >= -tol, 0.5, 0.0))
    Ek = E.copy()                                                 # pairs joined by a path of length k
    num = den = 0.0
    for _ in range(1, d):
        reach = Ek > 0
        den += reach.sum()
        num += credit[reach].sum()
        Ek = np.minimum(Ek @ E, 1)                                # stay 0/1: reachability, not path counts
    return float(num / den) if den else float("nan")


def var_sortability(x: np.ndarray, g: np.ndarray, tol: float = 0.0) -> float:
    """Varsortability of data ``x`` [n, d] for the DAG ``g`` [d, d]: ``order_alignment``
    of the columns' variances (Reisach et al. 2021). Pass the observational rows of
    interventional data."""
    return order_alignment(g, np.var(np.asarray(x, dtype=np.float64), axis=0), tol=tol)


def r2_sortability(x: np.ndarray, g: np.ndarray, tol: float = 0.0) -> float:
    """R²-sortability of data ``x`` [n, d] for the DAG ``g`` [d, d]: ``order_alignment``
    of ``r2_scores(x)`` (Reisach et al. 2023). Pass the observational rows of
    interventional data."""
    return order_alignment(g, r2_scores(x), tol=tol)
