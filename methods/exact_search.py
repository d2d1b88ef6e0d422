"""Exact score-based search (BIC-optimal DAG by dynamic programming or A*) through causal-learn.

Source: causal-learn (https://github.com/py-why/causal-learn, PyPI ``causal-learn``,
MIT), ``causallearn.search.ScoreBased.ExactSearch.bic_exact_search`` (Ng, Zheng, Zhang
& Zhang's code, after pomegranate): it finds a DAG maximising the linear-Gaussian BIC
``-(n log(RSS_j / n) + |pa_j| log n)`` summed over nodes, by the order-graph shortest
path (Silander & Myllymäki 2006 for DP; Yuan & Malone, JAIR 2013, for A*). Time and
memory grow as d 2^d (every node scores all 2^(d-1) parent sets): measured here with A*
on sparse random DAGs, n = 500, one core, 0.4 s at d = 10, 1.5 s at d = 12, then 16 s
at d = 13 and 8 s at d = 14 (the search part varies with the data), doubling and more
per added node; hence the ``max_d`` skip, 12 by default.

Output convention, checked in the source (``dag_est[parents, i] = 1`` for the parents of
node i) and on data (tests/test_breadth_methods.py): ``dag_est[i, j] = 1`` is the edge
i -> j, dagbench's own convention; no transpose.

The BIC is score-equivalent: every DAG of the optimum's Markov equivalence class scores
the same, and which one the search returns depends on the column order. So the answer
is that DAG's CPDAG (``dagbench.graphs.dag_to_cpdag``), scored as the uniform
distribution over the class, like GES's.
"""
from __future__ import annotations

import numpy as np

from methods.base import GraphPosterior, Method
from simulators.base import Dataset


class ExactSearch(Method):
    """The BIC-optimal Markov equivalence class by exact search (causal-learn; small d only).

    Parameters (defaults: causal-learn 0.1.4.8's ``bic_exact_search``, except max_d):
        search_method: 'astar' (A*, the package default) or 'dp' (dynamic programming);
            both return an optimal DAG.
        use_path_extension: the optimal-path-extension shortcut (does not change the
            result).
        use_k_cycle_heuristic, k: A*'s k-cycle conflict heuristic.
        max_parents: None (no limit) or the most parents a node may have.
        max_d: skip datasets with more variables (exponential time and memory; see the
            module docstring for the times that set the default 12).

    The BIC here has no intercept, so the data are centred first. Deterministic;
    ``seed`` is unused. Interventional rows are used as observational. Output: the
    ``cpdag`` of the optimal DAG, scored as the uniform distribution over its class.
    """

    name = "exact_search"
    defaults = {"search_method": "astar", "use_path_extension": True, "use_k_cycle_heuristic": False,
                "k": 3, "max_parents": None, "max_d": 12}
    choices = {"search_method": ("astar", "dp")}

    def min_rows(self, d: int) -> int:
        # the least-squares fit of a node on d - 1 parents needs n > d - 1 rows with a
        # residual; with fewer, causal-learn scores that parent set as -inf (the best)
        return d + 1

    @classmethod
    def check_params(cls, params):
        out = []
        mp = params["max_parents"]
        if mp is not None and (not isinstance(mp, int) or isinstance(mp, bool) or mp < 0):
            out.append(f"parameter 'max_parents' = {mp!r} must be None or an int >= 0")
        if params["max_d"] < 1:
            out.append(f"parameter 'max_d' = {params['max_d']} must be >= 1")
        if params["k"] < 2:
            out.append(f"parameter 'k' = {params['k']} must be >= 2")
        return out

    def skip(self, data: Dataset) -> str | None:
        if data.d > self.params["max_d"]:
            return (f"exact search runs in time and memory ~ d 2^d: d = {data.d} is above "
                    f"max_d = {self.params['max_d']}")
        return None

    def fit(self, data: Dataset, *, seed: int) -> GraphPosterior:
        from causallearn.search.ScoreBased.ExactSearch import bic_exact_search

        from dagbench.graphs import dag_to_cpdag

        from methods.notears import _blas_threads

        p = self.params
        x = data.x - data.x.mean(axis=0, keepdims=True)
        with _blas_threads(max(1, int(self.threads))):
            dag, stats = bic_exact_search(x, search_method=p["search_method"],
                                          use_path_extension=bool(p["use_path_extension"]),
                                          use_k_cycle_heuristic=bool(p["use_k_cycle_heuristic"]),
                                          k=int(p["k"]), verbose=False, max_parents=p["max_parents"])
        dag = (np.asarray(dag) != 0).astype(np.int8)
        info = {"search_method": p["search_method"], "n_edges": int(dag.sum()),
                **{k: int(v) for k, v in stats.items() if isinstance(v, (int, np.integer))}}
        return GraphPosterior(cpdag=dag_to_cpdag(dag), info=info)
