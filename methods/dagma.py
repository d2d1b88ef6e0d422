"""Linear DAGMA (Bello, Aragam & Ravikumar, NeurIPS 2022) through the authors' ``dagma`` package.

Source: https://github.com/kevinsbello/dagma (PyPI ``dagma``, Apache-2.0), class
``dagma.linear.DagmaLinear``. It minimises the least-squares score
``1/(2n) ||X - X W||_F^2 + lambda1 ||W||_1`` under the log-det acyclicity function
``h_s(W) = -log det(s I - W o W) + d log s`` by a central path: T outer steps, each an
Adam minimisation of ``mu (score + lambda1 |W|_1) + h_s(W)`` with ``mu`` shrinking by
``mu_factor``; finally ``|W| < w_threshold`` is set to 0.

Convention, checked in the package source (``_score``: ``dif = I - W``, loss
``0.5 tr(dif^T cov dif)``, i.e. ``||X - X W||^2``) and on data (tests/test_breadth_methods.py):
``W[i, j]`` is x_i's coefficient in x_j's equation, i.e. ``W[i, j] != 0`` is the edge
i -> j, dagbench's own convention; no transpose.

This file also holds ``linear_dag_posterior`` (one weighted DAG -> a GraphPosterior with
its own linear-Gaussian parameters), used by the other linear point methods (GOLEM,
DirectLiNGAM, sortnregress).
"""
from __future__ import annotations

import numpy as np

from methods.base import GraphPosterior, Method
from simulators.base import COLLINEAR_TOL, Dataset


def linear_dag_posterior(x: np.ndarray, W: np.ndarray, info: dict, *,
                         noise_vars: np.ndarray | None = None) -> GraphPosterior:
    """One weighted DAG as a single-graph GraphPosterior with its own parameters.

    ``W`` [d, d] (``W[i, j]``: x_i in x_j's equation, 0 = no edge) is made acyclic, if it
    is not, by removing the weakest edge on a cycle until it is (``info
    ['removed_for_cycles']``, as NOTEARS does). ``noise_vars`` [d] are the model's own
    when given (GOLEM-EV's shared variance), else each node's mean squared residual
    ``mean((x - x W)[:, j]^2)`` on the training rows ``x`` [n, d] (the maximum-likelihood
    variance of the zero-intercept model the held-out likelihood evaluates). When a node's
    residual variance is below ``simulators.base.COLLINEAR_TOL`` of its variance, no
    parameters are given (``info['noise_vars_degenerate']``), so the held-out likelihood
    is refused rather than floored.
    """
    from methods.notears import break_cycles

    W = np.array(W, dtype=np.float64)
    np.fill_diagonal(W, 0.0)
    W, removed = break_cycles(W)
    info = {**info, "removed_for_cycles": removed, "n_edges": int((W != 0).sum())}
    graph = (W != 0).astype(np.int8)[None]                     # [1, d, d]
    resid = x - x @ W                                          # [n, d]
    mse = np.mean(resid ** 2, axis=0)                          # [d]
    noise = mse if noise_vars is None else np.asarray(noise_vars, dtype=np.float64)
    if not (mse > COLLINEAR_TOL * x.var(axis=0)).all():
        info["noise_vars_degenerate"] = True
        return GraphPosterior(graphs=graph, weights=np.ones(1), info=info)
    return GraphPosterior(graphs=graph, weights=np.ones(1), linear_weights=W[None],
                          noise_vars=noise[None], info=info)


class DAGMA(Method):
    """Linear DAGMA (log-det acyclicity, central path), a point estimate of a weighted DAG.

    Parameters (defaults: ``DagmaLinear.fit`` of dagma 1.1.1, which are the paper's):
        lambda1: L1 penalty on W.
        w_threshold: weights with |w| below it are set to 0.
        T: number of central-path (outer) iterations.
        mu_init, mu_factor: the first weight of the score and its decay per iteration.
        s: the log-det domain parameter per outer iteration (a list; its last value is
            reused when T is longer).
        warm_iter: Adam steps in each of the first T - 1 iterations; max_iter: in the last.
        lr, beta_1, beta_2: Adam's step size and moment decays.
        loss: 'l2', the least-squares score (the package's 'logistic' is for binary data).

    Output: the support of the thresholded W (one DAG), ``linear_weights`` (that W) and
    ``noise_vars`` (each node's mean squared residual on the training rows); see
    ``linear_dag_posterior``. The package centres the data itself (on a copy here; it
    would centre the caller's array in place). Deterministic: W starts at 0 and Adam
    draws nothing, so ``seed`` is unused. BLAS is held to ``self.threads`` threads.
    Interventional rows are used as observational.
    """

    name = "dagma"
    defaults = {"lambda1": 0.03, "w_threshold": 0.3, "T": 5, "mu_init": 1.0, "mu_factor": 0.1,
                "s": [1.0, 0.9, 0.8, 0.7, 0.6], "warm_iter": 30000, "max_iter": 60000,
                "lr": 0.0003, "beta_1": 0.99, "beta_2": 0.999, "loss": "l2"}
    choices = {"loss": ("l2",)}

    @classmethod
    def check_params(cls, params):
        out = []
        for key in ("lambda1", "w_threshold"):
            if params[key] < 0:
                out.append(f"parameter '{key}' = {params[key]} must be >= 0")
        for key in ("T", "warm_iter", "max_iter", "mu_init", "lr"):
            if params[key] <= 0:
                out.append(f"parameter '{key}' = {params[key]} must be > 0")
        if not 0 < params["mu_factor"] < 1:
            out.append(f"parameter 'mu_factor' = {params['mu_factor']} must lie in (0, 1)")
        s = params["s"]
        if not s or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in s):
            out.append(f"parameter 's' = {s!r} must be a non-empty list of positive numbers")
        return out

    def fit(self, data: Dataset, *, seed: int) -> GraphPosterior:
        import contextlib
        import io

        from dagma.linear import DagmaLinear

        from methods.notears import _blas_threads

        p = self.params
        x = np.array(data.x, dtype=np.float64)        # a copy: fit centres it in place
        model = DagmaLinear(loss_type=p["loss"], verbose=False, dtype=np.float64)
        # ``s`` is passed as a fresh list: fit raises its entries in place when it retries
        with _blas_threads(max(1, int(self.threads))), contextlib.redirect_stderr(io.StringIO()):
            W = model.fit(x, lambda1=float(p["lambda1"]), w_threshold=float(p["w_threshold"]),
                          T=int(p["T"]), mu_init=float(p["mu_init"]), mu_factor=float(p["mu_factor"]),
                          s=[float(v) for v in p["s"]], warm_iter=int(p["warm_iter"]),
                          max_iter=int(p["max_iter"]), lr=float(p["lr"]),
                          beta_1=float(p["beta_1"]), beta_2=float(p["beta_2"]))
        info = {"h_final": float(model.h_final), "score_final": float(model.score_final)}
        return linear_dag_posterior(data.x, W, info)
