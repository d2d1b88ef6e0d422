"""A starting point for a new method: copy this file to ``methods/<your_name>.py``.

Files in methods/ whose name starts with ``_`` are not discovered, so this one is never
run as is. Once copied (and ``name`` changed), the harness finds the class by
scanning, the generic tests in tests/test_methods.py check its output against the
contract, and a config entry ``- method: <name>`` runs it. Nothing else in the
repository needs to change: evaluation reads only the GraphPosterior you return.

The example is a working (if naive) method, a correlation threshold: an edge wherever
|corr(x_i, x_j)| exceeds ``threshold``, oriented from the lower to the higher column
index (an arbitrary order, which is why this is a template and not a baseline), with
least-squares weights for each node's chosen parents.
"""
from __future__ import annotations

import numpy as np

# Keep module-level imports light (numpy, the dagbench contracts): every plugin file is
# imported whenever the plugins are listed. Import torch, causal-learn, scipy.optimize
# ... inside ``fit``.
from methods.base import GraphPosterior, Method
from simulators.base import Dataset


class CorrelationThreshold(Method):
    """One line saying what the method is (shown when plugins are listed).

    Say here what each parameter means, what the method assumes (observational data?
    linear?) and what it returns (a point DAG, samples, a CPDAG ...).

    Parameters:
        threshold: an edge where the absolute Pearson correlation exceeds this.
        fit_weights: also return least-squares weights and noise variances, so the
            held-out likelihood uses this model's own parameters.
    """

    # The name used in the config (``- method: corr_threshold``); must be unique.
    name = "corr_threshold"
    # Every parameter with its default; the default's type is the parameter's type
    # (a float default accepts ints too, a None default accepts anything).
    defaults = {"threshold": 0.3, "fit_weights": True}
    # Optional: allowed values of string (or other) parameters, e.g. {"score": ("bic",)}.
    choices: dict = {}

    @classmethod
    def check_params(cls, params):
        """Range checks on the full parameter dict: a list of problems, each naming
        the parameter (empty when all is well)."""
        if not 0 <= params["threshold"] < 1:
            return [f"parameter 'threshold' = {params['threshold']} must lie in [0, 1)"]
        return []

    def skip(self, data: Dataset) -> str | None:
        """A reason not to run on ``data`` (the run is recorded as skipped), or None.
        E.g. a purely observational method could return 'needs observational data'
        when ``data.is_interventional``."""
        if data.n < 3:
            return "needs at least 3 rows"
        return None

    def fit(self, data: Dataset, *, seed: int) -> GraphPosterior:
        """Fit on ``data.x`` [n, d] (and ``data.interv_mask`` [n, d] if used).

        Rules: use only the training rows (never ``data.x_heldout`` or
        ``data.g_true``); draw every random number from ``seed`` (e.g.
        ``np.random.default_rng(seed)`` or a ``torch.Generator`` seeded with it), so
        the same seed gives the same result; ``self.params`` holds the parameters and
        ``self.threads`` the CPU threads you may use.
        """
        x = data.x                                             # [n, d]
        n, d = x.shape
        corr = np.corrcoef(x, rowvar=False)                    # [d, d]
        strong = np.abs(corr) > self.params["threshold"]
        g = np.triu(strong, k=1).astype(np.int8)               # [d, d] i -> j only for i < j: a DAG

        # A point method returns one graph (K = 1); a sampler returns K graphs
        # [K, d, d] with weights [K] summing to 1. Set may_be_cyclic=True only if
        # your samples can contain cycles (evaluation then drops and counts them).
        # A method whose answer is a Markov equivalence class returns
        # GraphPosterior(cpdag=c) instead, c [d, d] with an undirected edge = 1 both
        # ways: it is scored as the uniform distribution over the DAGs of its class.
        out = GraphPosterior(graphs=g[None], weights=np.ones(1),
                             info={"n_edges": int(g.sum())})   # info: JSON-able diagnostics

        if self.params["fit_weights"]:
            # Optional model parameters: linear_weights [K, d, d] (w[k, i, j] is x_i's
            # coefficient in x_j's equation) and noise_vars [K, d]. Without them,
            # evaluation fits them by least squares itself.
            w = np.zeros((d, d))
            noise = np.empty(d)
            for j in range(d):
                pa = np.nonzero(g[:, j])[0]
                if len(pa):
                    w[pa, j] = np.linalg.lstsq(x[:, pa], x[:, j], rcond=None)[0]
                noise[j] = max(np.mean((x[:, j] - x @ w[:, j]) ** 2), 1e-12)
            out.linear_weights = w[None]                       # [1, d, d]
            out.noise_vars = noise[None]                       # [1, d]
        return out
