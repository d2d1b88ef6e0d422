"""PC (Spirtes & Glymour 1991) through causal-learn, returning a CPDAG (its Markov equivalence class).

causal-learn's endpoint encoding, its conversion to dagbench PDAGs
(``causallearn_to_pdag``) and the repair that turns any such PDAG into a CPDAG plus a
consistent DAG (``pdag_with_extension``, ``cpdag_posterior``) live in
``methods/_causallearn.py``, shared with GES, GRaSP and BOSS; they are re-exported here
under their old names.
"""
from __future__ import annotations

import numpy as np

from methods._causallearn import (ARROW, TAIL, _edges_on_cycles, causallearn_to_pdag,  # noqa: F401
                                  cpdag_posterior, pdag_with_extension)
from methods.base import GraphPosterior, Method
from simulators.base import Dataset

class PC(Method):
    """The PC algorithm (causal-learn), a point estimate of the Markov equivalence class.

    Parameters:
        alpha: significance level of the conditional-independence tests.
        indep_test: causal-learn's test for continuous data: 'fisherz' (partial
            correlation, linear-Gaussian), 'kci' (kernel; slow: O(n^3) per test),
            'fastkci' or 'rcit' (approximate kernel tests).
        stable: order-independent ("stable") skeleton search.
        uc_rule, uc_priority: causal-learn's rule for orienting unshielded colliders
            (0: the separating set found, 1: maxP, 2: definite maxP) and for resolving
            conflicting colliders (-1: the rule's default, 0: overwrite, 1: orient
            bidirected, read here as undirected, 2: keep existing colliders, 3/4:
            stronger colliders first); the defaults are causal-learn's (0, 2).

    Column order: the stable skeleton does not depend on it, but the collider
    orientations can, when colliders conflict or the separating set found depends on
    the order (Colombo & Maathuis, JMLR 15, 2014); so PC's scores may change when the
    columns are permuted, under each of causal-learn's ``uc_rule`` values (seen on a
    6-node linear-Gaussian dataset). Its equivalence class itself is scored without
    regard to column order (the uniform distribution over its DAGs).

    Interventional data: the harness gives it only the observational rows (PC has no
    notion of interventions; ``rows_used`` in the tables). The fit is deterministic; ``seed`` is unused.
    Output: the ``cpdag`` (Meek-closed), scored as the uniform distribution over the
    DAGs of its Markov equivalence class (``GraphPosterior``); see
    ``pdag_with_extension`` for what happens when PC's output has no extension.
    """

    name = "pc"
    defaults = {"alpha": 0.05, "indep_test": "fisherz", "stable": True, "uc_rule": 0, "uc_priority": 2}
    choices = {"indep_test": ("fisherz", "kci", "fastkci", "rcit"), "uc_rule": (0, 1, 2),
               "uc_priority": (-1, 0, 1, 2, 3, 4)}

    def min_rows(self, d: int) -> int:
        # the Fisher-z statistic sqrt(n - |S| - 3) needs n > |S| + 3 for sets up to d - 2
        return d + 2

    @classmethod
    def check_params(cls, params):
        if not 0 < params["alpha"] < 1:
            return [f"parameter 'alpha' = {params['alpha']} must lie in (0, 1)"]
        return []

    def fit(self, data: Dataset, *, seed: int) -> GraphPosterior:
        import warnings

        from causallearn.search.ConstraintBased.PC import pc

        p = self.params
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cg = pc(np.asarray(data.x, dtype=np.float64), alpha=float(p["alpha"]),
                    indep_test=p["indep_test"], stable=bool(p["stable"]),
                    uc_rule=int(p["uc_rule"]), uc_priority=int(p["uc_priority"]),
                    show_progress=False, verbose=False, node_names=list(data.node_names))
        return cpdag_posterior(cg.G.graph, {"alpha": p["alpha"], "indep_test": p["indep_test"]})
