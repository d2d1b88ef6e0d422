"""GRaSP (Lam, Andrews & Ramsey, UAI 2022) through causal-learn, returning a CPDAG.

Source: causal-learn (https://github.com/py-why/causal-learn, PyPI ``causal-learn``,
MIT), ``causallearn.search.PermutationBased.GRaSP.grasp``. GRaSP searches over variable
orders: each order's DAG takes, for every node, the best-scoring parents among its
predecessors (grow-shrink trees), and the order is improved by depth-limited sequences
of "tucks" of covered edges while the score rises (or, up to ``depth``, stays).

Output convention, checked in the source (the order's DAG is built with
``G.add_directed_edge(nodes[x], nodes[y])`` for each parent x of y, then ``dag2cpdag``)
and by its docstring ("G.graph[j,i] = 1 and G.graph[i,j] = -1 indicates i --> j,
G.graph[i,j] = G.graph[j,i] = -1 indicates i --- j"): a GeneralGraph CPDAG in the
endpoint encoding that PC and GES share, converted by
``methods._causallearn.cpdag_posterior``; the tests check that a collider comes out
oriented into the collider.
"""
from __future__ import annotations

import numpy as np

from methods._causallearn import cpdag_posterior, python_random_seeded
from methods.base import GraphPosterior, Method
from simulators.base import Dataset


class GRaSP(Method):
    """Greedy relaxation of the sparsest permutation with the linear-Gaussian BIC (causal-learn).

    Parameters (defaults: causal-learn 0.1.4.8's ``grasp``):
        lambda_value: the BIC penalty per free parameter in units of log n, causal-learn's
            ``local_score_BIC_from_cov``: per node -n/2 (1 + log s^2) - lambda_value
            (|pa| + 1) log n. causal-learn's default for GRaSP is 2, four times the
            standard BIC's 0.5 (what ``ges`` uses), so sparser graphs; set 0.5 for the
            same score as GES.
        depth: the largest depth of the search over tuck sequences.

    ``seed`` seeds the stdlib ``random`` module, from which GRaSP draws its initial
    order and its visiting orders (the caller's random state is restored). Interventional
    rows are used as observational. Output: the ``cpdag``, scored as the uniform
    distribution over the DAGs of its class.
    """

    name = "grasp"
    defaults = {"lambda_value": 2.0, "depth": 3}

    def min_rows(self, d: int) -> int:
        return d + 1

    @classmethod
    def check_params(cls, params):
        out = []
        if params["lambda_value"] <= 0:
            out.append(f"parameter 'lambda_value' = {params['lambda_value']} must be > 0")
        if params["depth"] < 1:
            out.append(f"parameter 'depth' = {params['depth']} must be >= 1")
        return out

    def fit(self, data: Dataset, *, seed: int) -> GraphPosterior:
        import warnings

        from causallearn.search.PermutationBased.GRaSP import grasp

        from methods.notears import _blas_threads

        p = self.params
        with warnings.catch_warnings(), python_random_seeded(seed), \
                _blas_threads(max(1, int(self.threads))):
            warnings.simplefilter("ignore")
            G = grasp(np.asarray(data.x, dtype=np.float64), score_func="local_score_BIC_from_cov",
                      depth=int(p["depth"]), parameters={"lambda_value": float(p["lambda_value"])},
                      verbose=False, node_names=list(data.node_names))
        return cpdag_posterior(G.graph, {"lambda_value": p["lambda_value"], "depth": p["depth"]})
