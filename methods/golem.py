"""GOLEM (Ng, Ghassami & Zhang, NeurIPS 2020), equal- and non-equal-variance, through gCastle.

Source: gCastle (https://github.com/huawei-noah/trustworthyAI, PyPI ``gcastle``,
Apache-2.0), ``castle.algorithms.GOLEM``, a PyTorch port of the authors' code
(https://github.com/ignavier/golem). GOLEM minimises a penalised linear-Gaussian
negative log-likelihood with soft sparsity and DAG penalties, by Adam from B = 0:

    EV: d/2 log ||X - X B||_F^2 - log|det(I - B)| + lambda_1 ||B||_1 + lambda_2 h(B)
    NV: 1/2 sum_j log ||X_j - X B_j||^2 - log|det(I - B)| + lambda_1 ||B||_1 + lambda_2 h(B)

with h(B) = tr(exp(B o B)) - d; then |B| <= graph_thres is set to 0 and the weakest
edges are removed until B is a DAG (gCastle's ``postprocess``).

Convention, checked in the source (``X - X @ self.B`` in ``_compute_likelihood``) and on
data (tests/test_breadth_methods.py): ``B[i, j]`` is x_i's coefficient in x_j's
equation, i.e. ``causal_matrix[i, j] = 1`` is the edge i -> j, dagbench's own
convention; no transpose.

Importing gCastle has process-wide side effects, undone by ``castle_algorithms``: its
NOTEARS module sets torch's default dtype to float64, and it configures the root logger
at INFO. ``gcastle_torch`` runs a fit with a given default dtype, ``self.threads``
torch and BLAS threads, and torch's, numpy's and ``random``'s global states (and the
PYTHONHASHSEED variable) restored afterwards (gCastle's ``set_seed`` sets them all).
"""
from __future__ import annotations

import contextlib
import os

import numpy as np

from methods.base import GraphPosterior, Method
from simulators.base import Dataset


def castle_algorithms():
    """``castle.algorithms``, imported without its side effects on the process: the
    default torch dtype and the root logger's level and handlers are restored."""
    import logging

    import torch

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    dtype = torch.get_default_dtype()
    # a handler makes gCastle's logging.basicConfig(level=INFO) a no-op, and the
    # level keeps its import-time INFO lines ("You are using pytorch ...") quiet
    quiet = logging.NullHandler()
    root.addHandler(quiet)
    root.setLevel(logging.WARNING)
    try:
        import castle.algorithms as algorithms
    finally:
        torch.set_default_dtype(dtype)
        for h in list(root.handlers):
            if h not in handlers:
                root.removeHandler(h)
        root.setLevel(level)
    return algorithms


@contextlib.contextmanager
def gcastle_torch(threads: int, seed: int, dtype=None):
    """Run a gCastle fit: torch's default dtype set to ``dtype`` (float64 by default),
    torch and BLAS held to ``threads`` threads, torch's CPU generator seeded with
    ``seed``; every global state (dtype, threads, torch / numpy / ``random`` generators)
    restored afterwards."""
    import torch

    from methods._causallearn import python_random_seeded
    from methods.notears import _blas_threads

    prev_dtype, prev_threads = torch.get_default_dtype(), torch.get_num_threads()
    prev_hashseed = os.environ.get("PYTHONHASHSEED")      # gCastle's set_seed writes it
    torch.set_default_dtype(torch.float64 if dtype is None else dtype)
    torch.set_num_threads(max(1, int(threads)))
    try:
        with torch.random.fork_rng(devices=[]), python_random_seeded(seed), \
                _blas_threads(max(1, int(threads))):
            torch.manual_seed(int(seed))
            yield
    finally:
        torch.set_default_dtype(prev_dtype)
        torch.set_num_threads(prev_threads)
        if prev_hashseed is None:
            os.environ.pop("PYTHONHASHSEED", None)
        else:
            os.environ["PYTHONHASHSEED"] = prev_hashseed


class GOLEMEV(Method):
    """GOLEM-EV (equal noise variances, gCastle), a point estimate of a weighted linear DAG.

    Parameters (defaults: gCastle 1.0.4's ``GOLEM``, which are the paper's for GOLEM-EV):
        lambda_1: L1 penalty on B.
        lambda_2: weight of the DAG penalty h(B).
        learning_rate: Adam's step size.
        num_iter: Adam steps.
        graph_thres: weights with |w| <= it are set to 0 (then cycles are cut).

    The data are centred first, as the authors' code does (gCastle's port does not).
    Output: the support of the post-processed B (one DAG), ``linear_weights`` (that B)
    and ``noise_vars``, the model's own maximum-likelihood noise variance: one shared
    value ``||X - X B||^2 / (n d)`` for EV, each node's mean squared residual for NV.
    B starts at 0 and Adam draws nothing, so the fit is deterministic; ``seed`` is still
    passed to gCastle's ``set_seed``. Runs in float64 on the CPU with ``self.threads``
    threads: about 1 ms per step at d = 4 to 10 on one core, so the default 1e5 steps
    take about 100 s (GOLEM-NV, with its GOLEM-EV start, twice that). Interventional rows
    are used as observational.
    """

    name = "golem_ev"
    equal_variances = True
    defaults = {"lambda_1": 2e-2, "lambda_2": 5.0, "learning_rate": 1e-3, "num_iter": 100000,
                "graph_thres": 0.3}

    @classmethod
    def check_params(cls, params):
        out = []
        for key in ("lambda_1", "lambda_2", "graph_thres"):
            if params[key] < 0:
                out.append(f"parameter '{key}' = {params[key]} must be >= 0")
        for key in ("learning_rate", "num_iter"):
            if params[key] <= 0:
                out.append(f"parameter '{key}' = {params[key]} must be > 0")
        return out

    def _golem(self, x: np.ndarray, *, equal_variances: bool, lambda_1: float, seed: int,
               B_init: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(post-processed weighted B [d, d], raw B [d, d]) of one gCastle GOLEM run."""
        GOLEM = castle_algorithms().GOLEM
        p = self.params
        with gcastle_torch(self.threads, seed):
            model = GOLEM(B_init=B_init, lambda_1=float(lambda_1), lambda_2=float(p["lambda_2"]),
                          equal_variances=equal_variances, learning_rate=float(p["learning_rate"]),
                          num_iter=int(p["num_iter"]), checkpoint_iter=None, seed=int(seed),
                          graph_thres=float(p["graph_thres"]), device_type="cpu")
            model.learn(x)
        raw = np.asarray(model.weight_causal_matrix, dtype=np.float64)
        support = np.asarray(model.causal_matrix) != 0
        return np.where(support, raw, 0.0), raw

    def fit(self, data: Dataset, *, seed: int) -> GraphPosterior:
        from methods.dagma import linear_dag_posterior

        x = data.x - data.x.mean(axis=0, keepdims=True)              # [n, d]
        B, _ = self._golem(x, equal_variances=True, lambda_1=self.params["lambda_1"], seed=seed)
        n, d = x.shape
        shared = float(np.sum((data.x - data.x @ B) ** 2) / (n * d))   # as linear_dag_posterior's residuals
        return linear_dag_posterior(data.x, B, {"variant": "ev"}, noise_vars=np.full(d, shared))


class GOLEMNV(GOLEMEV):
    """GOLEM-NV (non-equal noise variances, gCastle), a point estimate of a weighted linear DAG.

    Parameters: as GOLEM-EV's (defaults: the paper's for GOLEM-NV, lambda_1 = 2e-3),
    plus
        init_from_ev: start from the GOLEM-EV solution (unthresholded B), as the paper
            does for GOLEM-NV; the EV run uses ``ev_lambda_1`` and the other parameters
            given here. False starts from B = 0.
        ev_lambda_1: lambda_1 of that initial GOLEM-EV run (the paper's EV value).

    Output as GOLEM-EV's, with each node's own noise variance (its mean squared residual).
    """

    name = "golem_nv"
    equal_variances = False
    defaults = {"lambda_1": 2e-3, "lambda_2": 5.0, "learning_rate": 1e-3, "num_iter": 100000,
                "graph_thres": 0.3, "init_from_ev": True, "ev_lambda_1": 2e-2}

    @classmethod
    def check_params(cls, params):
        out = super().check_params(params)
        if params["ev_lambda_1"] < 0:
            out.append(f"parameter 'ev_lambda_1' = {params['ev_lambda_1']} must be >= 0")
        return out

    def fit(self, data: Dataset, *, seed: int) -> GraphPosterior:
        from methods.dagma import linear_dag_posterior

        p = self.params
        x = data.x - data.x.mean(axis=0, keepdims=True)              # [n, d]
        init = None
        if p["init_from_ev"]:
            _, init = self._golem(x, equal_variances=True, lambda_1=p["ev_lambda_1"], seed=seed)
        B, _ = self._golem(x, equal_variances=False, lambda_1=p["lambda_1"], seed=seed, B_init=init)
        return linear_dag_posterior(data.x, B, {"variant": "nv", "init_from_ev": bool(p["init_from_ev"])})
