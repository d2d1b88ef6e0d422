"""BOSS (Andrews, Ramsey, Sanchez-Romero, Camchong & Kummerfeld, NeurIPS 2023) through
causal-learn, returning a CPDAG.

Source: causal-learn (https://github.com/py-why/causal-learn, PyPI ``causal-learn``,
MIT), ``causallearn.search.PermutationBased.BOSS.boss``. Best order score search: each
variable in turn is moved to the position in the order where the order's DAG (best
parents among predecessors, grow-shrink trees) scores best, until no move helps.

Output convention, checked in the source (``G.add_directed_edge(nodes[x], nodes[y])``
for each parent x of y, then ``dag2cpdag``) and its docstring ("G.graph[j,i] = 1 and
G.graph[i,j] = -1 indicates i --> j"): a GeneralGraph CPDAG in the encoding PC and GES
share, converted by ``methods._causallearn.cpdag_posterior``; the tests check that a
collider comes out oriented into the collider.
"""
from __future__ import annotations

import numpy as np

from methods._causallearn import cpdag_posterior, python_random_seeded
from methods.base import GraphPosterior, Method
from simulators.base import Dataset


class BOSS(Method):
    """Best order score search with the linear-Gaussian BIC (causal-learn).

    Parameters (default: causal-learn 0.1.4.8's ``boss``):
        lambda_value: the BIC penalty per free parameter in units of log n, causal-learn's
            ``local_score_BIC_from_cov``: per node -n/2 (1 + log s^2) - lambda_value
            (|pa| + 1) log n. causal-learn's default for BOSS is 2, four times the
            standard BIC's 0.5 (what ``ges`` uses); set 0.5 for the same score as GES.

    ``seed`` seeds the stdlib ``random`` module, from which BOSS draws the order in which
    it visits the variables (the caller's random state is restored). Interventional rows
    are used as observational. Output: the ``cpdag``, scored as the uniform distribution
    over the DAGs of its class.
    """

    name = "boss"
    defaults = {"lambda_value": 2.0}

    def min_rows(self, d: int) -> int:
        return d + 1

    @classmethod
    def check_params(cls, params):
        if params["lambda_value"] <= 0:
            return [f"parameter 'lambda_value' = {params['lambda_value']} must be > 0"]
        return []

    def fit(self, data: Dataset, *, seed: int) -> GraphPosterior:
        import warnings

        from causallearn.search.PermutationBased.BOSS import boss

        from methods.notears import _blas_threads

        p = self.params
        with warnings.catch_warnings(), python_random_seeded(seed), \
                _blas_threads(max(1, int(self.threads))):
            warnings.simplefilter("ignore")
            G = boss(np.asarray(data.x, dtype=np.float64), score_func="local_score_BIC_from_cov",
                     parameters={"lambda_value": float(p["lambda_value"])}, verbose=False,
                     node_names=list(data.node_names))
        return cpdag_posterior(G.graph, {"lambda_value": p["lambda_value"]})
