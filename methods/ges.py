"""GES (Chickering 2002) through causal-learn, returning a CPDAG (its Markov equivalence class).

causal-learn's ``ges`` returns a dict whose ``'G'`` is a GeneralGraph in the same
endpoint encoding as PC's (``graph[a, b]`` is the mark at a: i -> j is
``graph[i, j] == -1, graph[j, i] == 1``); the conversion and the repair rule are in
``methods/_causallearn.py`` (``cpdag_posterior``).
"""
from __future__ import annotations

import numpy as np

from methods.base import GraphPosterior, Method
from methods._causallearn import cpdag_posterior
from simulators.base import Dataset


class GES(Method):
    """Greedy equivalence search with the linear-Gaussian BIC score (causal-learn).

    Parameters:
        score: 'bic', causal-learn's ``local_score_BIC`` (computed from the sample
            covariance): per node, -n/2 (1 + log s^2) - lambda_value (|pa| + 1) log n.
        lambda_value: the penalty per free parameter in units of log n; 0.5 is the
            standard BIC, larger gives sparser graphs.
        max_parents: None (no limit) or an int, causal-learn's ``maxP``.

    Interventional data: the harness gives it only the observational rows
    (``uses_interventions`` is False; the tables say so in ``rows_used``). The fit is
    deterministic; ``seed`` is unused. Output as for PC: the ``cpdag``, scored as the
    uniform distribution over the DAGs of its class.
    """

    name = "ges"
    defaults = {"score": "bic", "lambda_value": 0.5, "max_parents": None}
    choices = {"score": ("bic",)}

    _SCORES = {"bic": "local_score_BIC"}

    def min_rows(self, d: int) -> int:
        # BIC regresses a node on up to d - 1 parents with a noise variance: n > d
        return d + 1

    @classmethod
    def check_params(cls, params):
        out = []
        if params["lambda_value"] <= 0:
            out.append(f"parameter 'lambda_value' = {params['lambda_value']} must be > 0")
        mp = params["max_parents"]
        if mp is not None and (not isinstance(mp, int) or isinstance(mp, bool) or mp < 1):
            out.append(f"parameter 'max_parents' = {mp!r} must be None or an int >= 1")
        return out

    def fit(self, data: Dataset, *, seed: int) -> GraphPosterior:
        import warnings

        from causallearn.search.ScoreBased.GES import ges

        p = self.params
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            record = ges(np.asarray(data.x, dtype=np.float64), score_func=self._SCORES[p["score"]],
                         maxP=p["max_parents"], lambda_value=float(p["lambda_value"]),
                         node_names=list(data.node_names))
        info = {"score": p["score"], "lambda_value": p["lambda_value"]}
        score = np.asarray(record.get("score", np.nan), dtype=np.float64).ravel()
        if score.size == 1 and np.isfinite(score[0]):
            info["final_score"] = float(score[0])
        return cpdag_posterior(record["G"].graph, info)
