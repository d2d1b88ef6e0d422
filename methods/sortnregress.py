"""Var-sortnregress and R²-sortnregress (Reisach et al., NeurIPS 2021 and 2023): sanity floors.

Sources: Reisach, Seiler & Weichwald, "Beware of the Simulated DAG! Causal Discovery
Benchmarks May Be Easy to Game", NeurIPS 2021 (sortnregress); Reisach et al., "A
Scale-Invariant Sorting Criterion to Find a Causal Order in Additive Noise Models",
NeurIPS 2023 (R²-sortnregress); the authors' reference code is
``CausalDisco.baselines.sort_regress`` (BSD licence). Written here (a few lines of
scikit-learn, BSD-3-Clause), not wrapped.

The method: order the nodes by increasing score (the marginal variance, or the R² of
regressing each node on all the others, ``evaluation.sortability.r2_scores``), then
regress each node on all its predecessors in that order by adaptive Lasso: an OLS fit
gives weights |b|, and ``LassoLarsIC(criterion='bic')`` on the predecessors scaled by
|b| chooses the parents (the nonzero coefficients), as the reference code does.

Why it is here: it knows nothing about causality beyond the order of a score. When it
scores well on a setting, that setting's simulator gives the causal order away through
the variances (raw, unstandardised linear SEMs with weights above 1 in absolute value
typically have varsortability near 1) or the R²s; ``evaluation/sortability.py``
measures how much. Var-sortnregress depends on the data's scale (standardise the
columns and it loses its edge); R²-sortnregress does not.
"""
from __future__ import annotations

import numpy as np

from methods.base import GraphPosterior, Method
from simulators.base import Dataset


def sort_regress(x: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """[d, d] the adaptive-Lasso coefficients W (``W[i, j]``: x_i in x_j's equation,
    nonzero only for i before j) of regressing each node on its predecessors in the
    order of increasing ``scores`` [d] (ties: lower column index first)."""
    from sklearn.linear_model import LassoLarsIC, LinearRegression

    x = np.asarray(x, dtype=np.float64)
    d = x.shape[1]
    W = np.zeros((d, d))
    order = np.argsort(np.asarray(scores, dtype=np.float64), kind="stable")
    for k in range(1, d):
        pred, target = order[:k], order[k]
        scale = np.abs(LinearRegression().fit(x[:, pred], x[:, target]).coef_)     # [k]
        lasso = LassoLarsIC(criterion="bic").fit(x[:, pred] * scale, x[:, target])
        W[pred, target] = lasso.coef_ * scale
    return W


def ols_refit(x: np.ndarray, support: np.ndarray) -> np.ndarray:
    """[d, d] least-squares coefficients (no intercept, the held-out likelihood's model)
    of each node on its parents in ``support`` [d, d] (``support[i, j]``: i -> j)."""
    x = np.asarray(x, dtype=np.float64)
    d = x.shape[1]
    W = np.zeros((d, d))
    for j in range(d):
        pa = np.nonzero(support[:, j])[0]
        if len(pa):
            W[pa, j] = np.linalg.lstsq(x[:, pa], x[:, j], rcond=None)[0]
    return W


class SortnRegress(Method):
    """Var-sortnregress: order by increasing variance, regress on predecessors (Lasso, BIC).

    A sanity floor (Reisach et al. 2021): it scores well exactly when a setting's
    variances increase along the causal order. No parameters.

    Output: the adaptive Lasso's support (one DAG: every edge goes forward in the order)
    with ``linear_weights`` and ``noise_vars`` from an OLS refit (no intercept) of each
    node on its chosen parents (each node's mean squared residual on the training rows).
    Deterministic; ``seed`` is unused. Interventional rows are used as observational.
    """

    name = "sortnregress"
    criterion = "var"
    defaults: dict = {}

    def min_rows(self, d: int) -> int:
        # LassoLarsIC estimates the noise variance from the OLS fit on up to d - 1
        # predecessors plus an intercept: it needs more rows than that
        return d + 2

    def scores(self, x: np.ndarray) -> np.ndarray:
        return np.var(x, axis=0)

    def fit(self, data: Dataset, *, seed: int) -> GraphPosterior:
        from methods.dagma import linear_dag_posterior
        from methods.notears import _blas_threads

        x = np.asarray(data.x, dtype=np.float64)
        with _blas_threads(max(1, int(self.threads))):
            s = self.scores(x)
            W = sort_regress(x, s)
            W = ols_refit(x, W != 0)
        order = np.argsort(s, kind="stable")
        return linear_dag_posterior(x, W, {"criterion": self.criterion,
                                           "order": [int(i) for i in order]})


class R2SortnRegress(SortnRegress):
    """R²-sortnregress: order by increasing R² (each node on all others), regress on predecessors.

    The scale-invariant sanity floor (Reisach et al. 2023): it scores well when a
    setting's R²s increase along the causal order, whatever the columns' scales. No
    parameters; output as var-sortnregress's.
    """

    name = "r2_sortnregress"
    criterion = "r2"
    defaults: dict = {}

    def scores(self, x: np.ndarray) -> np.ndarray:
        from evaluation.sortability import r2_scores

        return r2_scores(x)
