"""Held-out log-likelihood: linear-Gaussian densities, a least-squares fallback fit and
the two posterior summaries of the design brief.

Model (no intercept): x_j = sum_i w_ij x_i + e_j, e_j ~ N(0, sigma2_j), with
``w[i, j]`` the coefficient of x_i in x_j's equation (zero unless i -> j). This is the
same model class as the linear-Gaussian methods' own parameters (and DiBS's linear
model), so the fallback and the methods' own likelihoods are comparable. No intercept:
the harness's data are centred (simulators' noises have mean 0 and ``standardise``
centres every column on the training rows); on uncentred data the fallback is
misspecified and its likelihood correspondingly lower.

Interventions: a row's intervened nodes were set from outside the model, so their
terms are left out of that row's density (their values still enter their children's
means), and their rows are left out of their own regression.
"""
from __future__ import annotations

import numpy as np

from simulators.base import COLLINEAR_TOL

__all__ = ["DEGENERATE_FRACTION", "NOISE_VAR_NO_DATA", "linear_gaussian_logpdf",
           "least_squares_fit", "least_squares_fit_many", "heldout_scores"]

#: A node's least-squares fit is degenerate when its residual variance is below this
#: fraction of the node's own variance on its rows, or when it has no more rows than
#: parents: its parents then determine it (numerically) exactly, the maximum-likelihood
#: noise variance is 0 and any likelihood would come from a numerical floor. Such a fit
#: is refused (noise variance NaN), never floored. The value is the dataset check's
#: ``simulators.base.COLLINEAR_TOL``: data that passed that check cannot give a
#: degenerate fit unless a node has too few rows for its parents.
DEGENERATE_FRACTION = COLLINEAR_TOL
#: Noise variance of a node with no non-intervened training row (nothing to fit): the
#: variance of a standardised column; its weights are then 0.
NOISE_VAR_NO_DATA = 1.0

_LOG_2PI = float(np.log(2 * np.pi))


def linear_gaussian_logpdf(x: np.ndarray, interv_mask: np.ndarray | None,
                           weights: np.ndarray, noise_vars: np.ndarray) -> np.ndarray:
    """Per-row log density of linear-Gaussian models, [K, m].

    out[k, r] = sum_{j : not interv_mask[r, j]} log N(x[r, j]; sum_i w[k, i, j] x[r, i],
    noise_vars[k, j]), i.e. each node's term given its parents, the terms of the row's
    intervened nodes dropped.

    Args:
        x: [m, d] rows.
        interv_mask: [m, d] bool, True where that row's node was intervened on
            (None: no interventions).
        weights: [K, d, d] (or [d, d] for K = 1), ``w[k, i, j]``: x_i in x_j's equation.
        noise_vars: [K, d] (or [d]) positive noise variances.
    Returns:
        [K, m] float64 log densities in nats (NaN for a sample with a NaN noise
        variance: a refused degenerate fit).
    """
    x = np.asarray(x, dtype=np.float64)                       # [m, d]
    w = np.asarray(weights, dtype=np.float64)
    v = np.asarray(noise_vars, dtype=np.float64)
    if w.ndim == 2:
        w = w[None]
    if v.ndim == 1:
        v = v[None]
    m, d = x.shape
    if w.shape[1:] != (d, d) or v.shape != (w.shape[0], d):
        raise ValueError(f"weights {w.shape} / noise_vars {v.shape} do not fit x {x.shape}")
    if (v <= 0).any():  # (NaN marks a refused fit and passes through)
        raise ValueError("noise_vars must be positive")
    keep = np.ones((m, d)) if interv_mask is None else (~np.asarray(interv_mask, bool)).astype(np.float64)
    mean = np.einsum("ri,kij->krj", x, w)                     # [K, m, d]
    resid2 = (x[None] - mean) ** 2                            # [K, m, d]
    terms = -0.5 * (_LOG_2PI + np.log(v)[:, None, :] + resid2 / v[:, None, :])  # [K, m, d]
    return np.einsum("krj,rj->kr", terms, keep)               # [K, m]


def _fit_node(x: np.ndarray, rows: np.ndarray, j: int, parents: np.ndarray):
    """OLS of x_j on x_parents over ``rows``: (coefficients [p], noise variance), the
    variance NaN when the fit is degenerate (see ``DEGENERATE_FRACTION``)."""
    n_j = int(rows.sum())
    if n_j == 0:
        return np.zeros(len(parents)), NOISE_VAR_NO_DATA
    y = x[rows, j]                                            # [n_j]
    if len(parents) == 0:
        coef, resid = np.zeros(0), y
    elif n_j <= len(parents):                                 # underdetermined: no ML fit
        return np.zeros(len(parents)), float("nan")
    else:
        a = x[np.ix_(rows, parents)]                          # [n_j, p]
        coef, *_ = np.linalg.lstsq(a, y, rcond=None)
        resid = y - a @ coef
    var = float(np.mean(resid ** 2))
    if not var > DEGENERATE_FRACTION * float(np.var(y)):
        return np.zeros(len(parents)), float("nan")
    return coef, var


def least_squares_fit(x: np.ndarray, interv_mask: np.ndarray | None,
                      graph: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linear-Gaussian parameters for a [d, d] DAG by least squares, per node.

    For each node j with parents pa(j) = {i : graph[i, j] = 1}: the rows used are those
    where j is not intervened on; the coefficients are the ordinary least-squares
    solution of x_j on x_pa(j) with **no intercept** (see the module docstring); the
    noise variance is the maximum-likelihood one, the mean squared residual over those
    rows. There is no floor: a **degenerate** fit, whose residual variance is at most
    ``DEGENERATE_FRACTION`` (1e-10) times the node's variance on its rows (its parents
    determine it exactly; e.g. collinear or constant columns), or whose node has no more
    rows than parents (0 < n_j <= |pa(j)|, underdetermined), gets noise variance NaN and
    weights 0: it has no maximum-likelihood variance, so the held-out likelihood is
    refused (NaN) rather than made up by a floor. With n_j = 0 the weights are 0 and the
    variance is ``NOISE_VAR_NO_DATA`` (1.0).

    Args:
        x: [n, d] training rows; interv_mask: [n, d] bool or None; graph: [d, d] 0/1.
    Returns:
        (weights [d, d] with w[i, j] = 0 unless i -> j, noise_vars [d], NaN where the
        node's fit is degenerate).
    """
    w, v = least_squares_fit_many(x, interv_mask, np.asarray(graph)[None])
    return w[0], v[0]


def least_squares_fit_many(x: np.ndarray, interv_mask: np.ndarray | None,
                           graphs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`least_squares_fit` for each of [K, d, d] graphs: ([K, d, d], [K, d]).

    A node's fit depends only on the node and its parent set, so each distinct
    (node, parent set) family is fitted once and shared across graphs.
    """
    x = np.asarray(x, dtype=np.float64)
    graphs = np.asarray(graphs) != 0
    n, d = x.shape
    mask = np.zeros((n, d), bool) if interv_mask is None else np.asarray(interv_mask, bool)
    K = len(graphs)
    W = np.zeros((K, d, d))
    V = np.zeros((K, d))
    cache: dict[tuple[int, bytes], tuple[np.ndarray, float]] = {}
    for k in range(K):
        for j in range(d):
            col = graphs[k, :, j].copy()
            col[j] = False                                    # a self-loop is not a regressor
            key = (j, np.packbits(col).tobytes())
            if key not in cache:
                cache[key] = _fit_node(x, ~mask[:, j], j, np.nonzero(col)[0])
            coef, var = cache[key]
            W[k, col, j] = coef
            V[k, j] = var
    return W, V


def heldout_scores(logp: np.ndarray, weights: np.ndarray | None = None) -> dict[str, float]:
    """The two held-out log-likelihoods of a posterior, in nats per held-out row.

    With logp[k, r] = log p(x_r | G_k, theta_k) ([K, m]) and weights w [K]
    (normalised here to sum 1; default uniform):

    * ``ll_heldout`` = (1/m) sum_r log sum_k w_k p(x_r | G_k, theta_k), the posterior
      predictive log density, computed with log-sum-exp;
    * ``ell_heldout`` = sum_k w_k (1/m) sum_r log p(x_r | G_k, theta_k), the expected
      log density (the DiBS paper's form).

    By Jensen's inequality ll_heldout >= ell_heldout, with equality for K = 1. Samples
    with weight 0 take no part in either.
    """
    logp = np.asarray(logp, dtype=np.float64)
    if logp.ndim == 1:
        logp = logp[None]
    K, m = logp.shape
    w = np.full(K, 1.0 / K) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape != (K,) or (w < 0).any() or not w.sum() > 0:
        raise ValueError(f"weights {w.shape} must be [K = {K}], non-negative, not all zero")
    if m == 0:
        return {"ll_heldout": float("nan"), "ell_heldout": float("nan")}
    w = w / w.sum()
    keep = w > 0
    w, logp = w[keep], logp[keep]
    ll = logsumexp_axis0(logp + np.log(w)[:, None])          # [m]
    return {"ll_heldout": float(ll.mean()), "ell_heldout": float(w @ logp.mean(axis=1))}


def logsumexp_axis0(a: np.ndarray) -> np.ndarray:
    """log sum_k exp(a[k, r]) for [K, m] ``a`` (float64) -> [m]: the arithmetic of
    ``scipy.special.logsumexp(a, axis=0)`` (scipy 1.17) step by step, so the same floats
    (tests/test_harness_overhead.py compares them bit for bit), without importing
    scipy.special (0.2-0.3 s of every evaluate job).

    The largest term of each column is taken out of the sum and its count m kept
    apart: log1p(sum of the others' exp(a - max) / m) + log(m) + max; where that is
    not finite (a column of -inf, an inf or a NaN), log(sum(exp(a))) instead."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"a must be [K, m], got shape {a.shape}")
    if a.shape[0] == 0:
        return np.full(a.shape[1], -np.inf)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out_inf = np.log(np.sum(np.exp(a), axis=0, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        a_max = np.max(a, axis=0, keepdims=True)                       # [1, m]
        i_max = a == a_max                                             # [K, m]
        a = np.where(i_max, -np.inf, a)
        m = np.sum(i_max.astype(np.float64), axis=0, keepdims=True, dtype=np.float64)
        e = np.exp(a - a_max)
        s = np.sum(e, axis=0, keepdims=True, dtype=e.dtype)
        s = np.where(s == 0, s, s / m)
        sgn = np.sign(s + 1) * np.sign(m)
        s = np.where(s < -1, -s - 2, s)
        m = np.abs(m)
        out = np.log1p(s) + np.log(m) + a_max
        out[sgn < 0] = np.nan
    out = np.where(np.isfinite(out), out, out_inf)
    return out[0]
