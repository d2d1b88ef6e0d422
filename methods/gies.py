"""GIES (Hauser & Bühlmann, JMLR 2012) through the ``gies`` package, for interventional data.

Source: https://github.com/juangamella/gies (PyPI ``gies``, BSD-3-Clause), Gamella &
Kolotuhina's Python implementation of greedy interventional equivalence search (checked
by its authors against pcalg's). It is GES over *interventional* Markov equivalence
classes: forward (insert), backward (delete) and turning phases on the I-essential
graph, with the l0-penalised Gaussian likelihood (BIC) of ``GaussIntL0Pen``, in which an
intervened node's rows are left out of its own term.

Data mapping: dagbench gives one training matrix with ``interv_mask`` [n, d] (True on
the node a row's hard intervention clamps). Each distinct mask row is one environment
of gies' interface (``data``: a list of [n_e, d] matrices; ``I``: the list of their
target sets, [] for the observational rows), in the order of ``numpy.unique``. gies
centres each environment on its own mean.

Output convention, checked in the package docstrings ("``A[i,j] != 0`` implies the edge
``i -> j`` and ``A[i,j] != 0 & A[j,i] != 0`` implies the edge ``i - j``") and on data
(tests/test_breadth_methods.py): dagbench's own convention; no transpose. The estimate is
an I-essential graph, whose class (the interventional MEC) can be smaller than the
observational MEC of the same graph, so it is not handed over as a ``cpdag`` (which would
stand for the larger class) unless the two coincide. Otherwise the answer is the uniform
distribution over the I-essential graph's DAGs: its directed edges plus one acyclic
orientation without v-structures of each undirected (chordal) chain component
(Hauser & Bühlmann 2012, Thm. 18), listed or sampled by ``dagbench.mec`` exactly as for
a CPDAG's class (up to 1000 DAGs listed, else 1000 uniform draws).
"""
from __future__ import annotations

import numpy as np

from methods.base import GraphPosterior, Method
from simulators.base import Dataset


def environments(x: np.ndarray, interv_mask: np.ndarray) -> tuple[list[np.ndarray], list[list[int]]]:
    """gies' input from dagbench's rows: one [n_e, d] matrix per distinct mask row, and
    that environment's intervention targets (sorted node indices; [] = observational)."""
    mask = np.asarray(interv_mask, dtype=bool)
    patterns, inverse = np.unique(mask, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).ravel()
    data = [np.asarray(x[inverse == e], dtype=np.float64) for e in range(len(patterns))]
    targets = [[int(j) for j in np.nonzero(row)[0]] for row in patterns]
    return data, targets


def iessential_posterior(A: np.ndarray, info: dict) -> GraphPosterior:
    """GraphPosterior of an I-essential graph ``A`` (``A[i, j] != 0``: i -> j; both ways:
    i - j): a ``cpdag`` when ``A`` is a CPDAG, else the uniform distribution over its
    DAGs (see the module docstring). An ``A`` whose undirected part is not chordal or
    whose orientations leave a cycle (not an I-essential graph) is repaired as causal-learn
    PDAGs are (``methods._causallearn.pdag_with_extension``; ``info['repair']``)."""
    from dagbench.graphs import is_dag
    from dagbench.mec import canonical_cpdag, mec_distribution
    from methods._causallearn import pdag_with_extension

    a = (np.asarray(A) != 0).astype(np.int8)
    np.fill_diagonal(a, 0)
    undirected = (a & a.T).astype(np.int8)
    directed = (a & (1 - a.T)).astype(np.int8)
    info = {**info, "n_directed": int(directed.sum()), "n_undirected": int(undirected.sum() // 2)}
    try:
        if np.array_equal(canonical_cpdag(a), a):
            return GraphPosterior(cpdag=a, info={**info, "repair": "none", "is_cpdag": True})
        mec = mec_distribution(undirected)          # the AMOs of every chain component, jointly
        graphs = (mec.graphs | directed[None]).astype(np.int8)
        if all(is_dag(g) for g in graphs):
            info.update(repair="none", is_cpdag=False, imec_size=int(mec.size), imec_listed=bool(mec.exact))
            return GraphPosterior(graphs=graphs, weights=mec.weights, info=info)
    except ValueError:
        pass
    cpdag, _, repair = pdag_with_extension(directed, undirected)
    return GraphPosterior(cpdag=cpdag, info={**info, "repair": repair if repair != "none" else "as_cpdag",
                                             "is_cpdag": False})


class GIES(Method):
    """Greedy interventional equivalence search with the Gaussian BIC (``gies`` package).

    Parameters (defaults: gies 0.0.3's ``fit_bic``):
        lambda_value: the l0 penalty per free parameter in units of log N (N = all
            training rows): gies' ``lmbda`` = lambda_value log N; 0.5 is the BIC, gies'
            default (and GES's here).
        phases: the phases run, in order, each until no operator improves the score.
        iterate: repeat the phases while the score improves.

    Uses the interventional rows (``uses_interventions``): see the module docstring for
    how ``interv_mask`` becomes gies' environments. Skipped when some node is intervened
    on in every training row (gies needs a conservative family of targets). The search
    is deterministic; ``seed`` is unused. Output: the I-essential graph's class, as a
    ``cpdag`` when it is one, else as its listed (or sampled) DAGs with equal weights.
    """

    name = "gies"
    uses_interventions = True
    defaults = {"lambda_value": 0.5, "phases": ["forward", "backward", "turning"], "iterate": True}

    def min_rows(self, d: int) -> int:
        return d + 1

    @classmethod
    def check_params(cls, params):
        out = []
        if params["lambda_value"] <= 0:
            out.append(f"parameter 'lambda_value' = {params['lambda_value']} must be > 0")
        ph = params["phases"]
        if not ph or any(v not in ("forward", "backward", "turning") for v in ph):
            out.append(f"parameter 'phases' = {ph!r} must be a non-empty list of 'forward', "
                       "'backward', 'turning'")
        return out

    def skip(self, data: Dataset) -> str | None:
        always = np.nonzero(data.interv_mask.all(axis=0))[0]
        if len(always):
            names = ", ".join(data.node_names[j] for j in always[:5])
            return (f"node(s) {names} intervened on in every training row: GIES needs each node "
                    "observed without intervention somewhere (a conservative family of targets)")
        return None

    def fit(self, data: Dataset, *, seed: int) -> GraphPosterior:
        import gies as _gies
        from gies.scores.gauss_int_l0_pen import GaussIntL0Pen

        from methods.notears import _blas_threads

        p = self.params
        envs, targets = environments(data.x, data.interv_mask)
        with _blas_threads(max(1, int(self.threads))):
            score = GaussIntL0Pen(envs, targets, lmbda=float(p["lambda_value"]) * np.log(data.n))
            A, total = _gies.fit(score, phases=list(p["phases"]), iterate=bool(p["iterate"]))
        info = {"lambda_value": p["lambda_value"], "n_environments": len(envs),
                "targets": targets, "final_score": float(total)}
        return iessential_posterior(A, info)
