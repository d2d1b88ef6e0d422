"""NOTEARS-MLP (Zheng, Dan, Aragam, Ravikumar & Xing, AISTATS 2020) through gCastle.

Source: gCastle (https://github.com/huawei-noah/trustworthyAI, PyPI ``gcastle``,
Apache-2.0), ``castle.algorithms.NotearsNonlinear`` with ``model_type='mlp'``, a port of
the authors' code (https://github.com/xunzheng/notears, ``nonlinear.py``). Each node j
has an MLP f_j(x) whose first layer reads every x_i; the edge strength is
``A[i, j] = ||first-layer weights of x_i in f_j||_2``, and the problem

    min  1/(2n) sum_j ||x_j - f_j(X)||^2 + lambda1 ||first layer||_1 + lambda2/2 ||all weights||^2
    s.t. h(A o A) = tr(exp(A o A)) - d = 0

is solved by the augmented Lagrangian with L-BFGS-B (as in linear NOTEARS); edges with
A[i, j] <= w_threshold are dropped.

Convention, checked in the source (``fc1_to_adj``: first-layer weights
``[j * m1, i] -> [i, j]``, commented ``# [i, j]``) and on data
(tests/test_breadth_methods.py): ``causal_matrix[i, j] = 1`` is the edge i -> j,
dagbench's own convention; no transpose.

gCastle's import side effects (torch's default dtype, the root logger) are undone by
``methods.golem.castle_algorithms``; the fit runs in float64, as gCastle's port does.
"""
from __future__ import annotations

import numpy as np

from methods.base import GraphPosterior, Method
from simulators.base import COLLINEAR_TOL, Dataset


class NOTEARSMLP(Method):
    """NOTEARS-MLP (gCastle), a point estimate of a nonlinear DAG.

    Parameters (defaults: gCastle 1.0.4's ``NotearsNonlinear``, which are the authors'):
        lambda1: L1 penalty on the first-layer weights.
        lambda2: L2 penalty on all weights.
        hidden_layers: the MLP's layer widths after the input, ending in 1 (gCastle's
            ``hidden_layers``; [10, 1] is one hidden layer of 10 sigmoid units).
        bias: whether the layers have biases.
        max_iter: the most dual (alpha) steps.
        h_tol: stop when h is at most this.
        rho_max: stop when the penalty weight reaches this.
        w_threshold: an edge where A[i, j] = ||first-layer weights of x_i into f_j||_2
            exceeds this.

    Output: the thresholded support (one DAG; if it had a cycle, the weakest edges on
    cycles are dropped, ``info['removed_for_cycles']``) and a ``log_density``: the
    fitted MLPs with the dropped edges' first-layer weights set to 0, and Gaussian noise
    with each node's mean squared residual on the training rows as its variance, so the
    held-out likelihood is the model's own. ``seed`` seeds torch's generator, which draws
    the MLPs' initial weights (PyTorch's default init); the fit is otherwise
    deterministic. ``self.threads`` torch and BLAS threads. Interventional rows are used
    as observational.
    """

    name = "notears_mlp"
    defaults = {"lambda1": 0.01, "lambda2": 0.01, "hidden_layers": [10, 1], "bias": True,
                "max_iter": 100, "h_tol": 1e-8, "rho_max": 1e16, "w_threshold": 0.3}

    @classmethod
    def check_params(cls, params):
        out = []
        for key in ("lambda1", "lambda2", "w_threshold"):
            if params[key] < 0:
                out.append(f"parameter '{key}' = {params[key]} must be >= 0")
        for key in ("max_iter", "h_tol", "rho_max"):
            if params[key] <= 0:
                out.append(f"parameter '{key}' = {params[key]} must be > 0")
        hl = params["hidden_layers"]
        if (len(hl) < 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in hl)
                or hl[-1] != 1):
            out.append(f"parameter 'hidden_layers' = {hl!r} must be at least two positive ints "
                       "ending in 1 (e.g. [10, 1])")
        return out

    def fit(self, data: Dataset, *, seed: int) -> GraphPosterior:
        import torch

        from methods.golem import castle_algorithms, gcastle_torch
        from methods.notears import break_cycles

        NotearsNonlinear = castle_algorithms().NotearsNonlinear
        p = self.params
        x = np.ascontiguousarray(data.x, dtype=np.float64)                # [n, d]
        n, d = x.shape
        with gcastle_torch(self.threads, seed):
            learner = NotearsNonlinear(lambda1=float(p["lambda1"]), lambda2=float(p["lambda2"]),
                                       max_iter=int(p["max_iter"]), h_tol=float(p["h_tol"]),
                                       rho_max=float(p["rho_max"]), w_threshold=float(p["w_threshold"]),
                                       hidden_layers=tuple(int(v) for v in p["hidden_layers"]),
                                       bias=bool(p["bias"]), model_type="mlp", device_type="cpu")
            # learn() builds its model inside; build it here (same call) to keep a handle
            model = learner.get_model(d)
            A = learner.notears_nonlinear(model, x)                       # [d, d] strengths, i -> j
        info = {"h_final": float(learner.h), "rho_final": float(learner.rho),
                "converged": bool(learner.h <= p["h_tol"])}
        A = np.where(A > p["w_threshold"], A, 0.0)
        np.fill_diagonal(A, 0.0)
        A, removed = break_cycles(A)
        graph = (A != 0).astype(np.int8)                                  # [d, d]
        info.update(removed_for_cycles=removed, n_edges=int(graph.sum()))

        m1 = model.dims[1]
        # first-layer weights are [d * m1, d]: row j * m1 + k (unit k of f_j), column i (input x_i)
        keep = torch.from_numpy(np.repeat(graph.T, m1, axis=0).astype(np.float64))
        with torch.no_grad():
            for layer in (model.fc1_pos, model.fc1_neg):     # the dropped edges leave the model
                layer.weight.mul_(keep.to(layer.weight.dtype))
        dtype = model.fc1_pos.weight.dtype

        def predict(rows: np.ndarray) -> np.ndarray:                    # [m, d] -> [m, d]
            with torch.no_grad():
                t = torch.as_tensor(np.asarray(rows, dtype=np.float64), dtype=dtype)
                return model(t).double().numpy()

        resid = x - predict(x)                                            # [n, d]
        noise = np.mean(resid ** 2, axis=0)                               # [d]
        out = GraphPosterior(graphs=graph[None], weights=np.ones(1), info=info)
        if not (noise > COLLINEAR_TOL * x.var(axis=0)).all():
            out.info["noise_vars_degenerate"] = True
            return out
        out.info["noise_vars"] = [float(v) for v in noise]

        def log_density(xh: np.ndarray, interv_mask: np.ndarray) -> np.ndarray:
            r = np.asarray(xh, dtype=np.float64) - predict(xh)            # [m, d]
            terms = -0.5 * (np.log(2 * np.pi * noise) + r ** 2 / noise)   # [m, d]
            keep_terms = ~np.asarray(interv_mask, dtype=bool)
            return np.sum(terms * keep_terms, axis=1)[None]               # [1, m]

        out.log_density = log_density
        return out
