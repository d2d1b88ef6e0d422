"""DirectLiNGAM (Shimizu et al., JMLR 2011) through causal-learn.

Source: causal-learn (https://github.com/py-why/causal-learn, PyPI ``causal-learn``,
MIT), ``causallearn.search.FCMBased.lingam.DirectLiNGAM`` (a copy of the LiNGAM
project's implementation; the ``lingam`` package itself pins an old scipy). For a linear
SEM with non-Gaussian noise it finds a causal order by repeatedly taking the variable
most independent of its regression residuals (pairwise likelihood ratios, Hyvärinen &
Smith, JMLR 2013, by default; or kernel independence), then estimates each node's
coefficients on its predecessors by adaptive Lasso with a BIC-chosen penalty
(``LassoLarsIC``).

Convention, checked in the source (``_estimate_adjacency_matrix``:
``B[target, predictors] = ...``, i.e. row = effect, column = cause; ``x = B x + e``) and
on data (tests/test_breadth_methods.py): ``adjacency_matrix_[i, j]`` is the effect of
x_j on x_i, the edge j -> i. dagbench's ``W[i, j]`` (edge i -> j) is its **transpose**.
"""
from __future__ import annotations

import numpy as np

from methods.base import GraphPosterior, Method
from simulators.base import Dataset


class DirectLiNGAM(Method):
    """DirectLiNGAM for linear non-Gaussian data (causal-learn), a point estimate of a weighted DAG.

    Parameters (default: causal-learn 0.1.4.8's ``DirectLiNGAM``):
        measure: 'pwling' (pairwise likelihood ratio, the default) or 'kernel' (kernel
            independence measure; slower).
        w_threshold: coefficients with |b| below it are set to 0 (0, the package's
            behaviour: only the adaptive Lasso's exact zeros are dropped).

    Output: the support of the estimated coefficients (one DAG: the causal order makes
    it acyclic), ``linear_weights`` (the transposed ``adjacency_matrix_``) and
    ``noise_vars`` (each node's mean squared residual on the training rows), so the
    held-out likelihood is the Gaussian one with LiNGAM's own coefficients. The
    search is deterministic (``random_state`` only enters causal-learn's bootstrap, not
    used), so ``seed`` is unused. Interventional rows are used as observational.
    """

    name = "direct_lingam"
    defaults = {"measure": "pwling", "w_threshold": 0.0}
    choices = {"measure": ("pwling", "kernel")}

    def min_rows(self, d: int) -> int:
        return d + 1

    @classmethod
    def check_params(cls, params):
        if params["w_threshold"] < 0:
            return [f"parameter 'w_threshold' = {params['w_threshold']} must be >= 0"]
        return []

    def fit(self, data: Dataset, *, seed: int) -> GraphPosterior:
        import warnings

        from causallearn.search.FCMBased.lingam import DirectLiNGAM as _DirectLiNGAM

        from methods.dagma import linear_dag_posterior
        from methods.notears import _blas_threads

        model = _DirectLiNGAM(random_state=int(seed), measure=self.params["measure"])
        with warnings.catch_warnings(), _blas_threads(max(1, int(self.threads))):
            warnings.simplefilter("ignore")
            model.fit(np.asarray(data.x, dtype=np.float64))
        W = np.asarray(model.adjacency_matrix_, dtype=np.float64).T        # [d, d]: W[i, j] for i -> j
        W = np.where(np.abs(W) > self.params["w_threshold"], W, 0.0)
        info = {"causal_order": [int(i) for i in model.causal_order_]}
        return linear_dag_posterior(data.x, W, info)
