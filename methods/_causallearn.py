"""causal-learn's graphs as dagbench answers: shared by the causal-learn method plugins
(PC, GES, GRaSP, BOSS). The leading underscore keeps this file from being scanned as a
plugin.

``causallearn_to_pdag`` converts causal-learn's endpoint matrices to dagbench PDAGs,
``pdag_with_extension`` turns any such PDAG into a CPDAG plus a consistent DAG
(repairing invalid input), ``cpdag_posterior`` does both and returns the GraphPosterior,
and ``python_random_seeded`` seeds the stdlib ``random`` module (which GRaSP and BOSS
shuffle with) for one call without changing the caller's random state.

causal-learn's encoding (``GeneralGraph.graph``, checked against
``GeneralGraph.add_directed_edge`` and ``add_edge`` in causal-learn 0.1.4.8, and by
tests/test_methods.py on hand-built graphs): ``graph[a, b]`` is the endpoint *at node a*
of the edge between a and b, with TAIL = -1, ARROW = 1, CIRCLE = 2, 0 = no edge. So

    i -> j   is  graph[i, j] == -1 and graph[j, i] == 1
    i -- j   is  graph[i, j] == graph[j, i] == -1
    i <-> j  is  graph[i, j] == graph[j, i] == 1

PC's collider step can leave i <-> j when two v-structures orient the same edge both
ways (e.g. with ``uc_priority`` 0/1). A CPDAG has no bidirected edges, and the two
orientations contradict each other, so dagbench reads i <-> j as undirected i -- j and
lets Meek's rules orient it if they can (counted in ``info['n_bidirected']``). Any
other non-zero pair (circles, causal-learn's combined TAIL_AND_ARROW codes) is likewise
read as an undirected adjacency (``info['n_other_marks']``).
"""
from __future__ import annotations

import contextlib
import random

import numpy as np

from dagbench.graphs import apply_meek_rules, dag_to_cpdag, pdag_to_dag, topological_order
from methods.base import GraphPosterior

TAIL, ARROW = -1, 1


def causallearn_to_pdag(graph: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """Split causal-learn's [d, d] endpoint matrix into dagbench's parts.

    Returns:
        directed: [d, d] int8, directed[i, j] = 1 for i -> j.
        undirected: [d, d] int8 symmetric, 1 for i -- j (and for i <-> j and any
            other non-standard mark pair; see the module docstring).
        counts: {'n_directed', 'n_undirected', 'n_bidirected', 'n_other_marks'}.
    """
    e = np.asarray(graph)
    d = len(e)
    directed = np.zeros((d, d), dtype=np.int8)
    undirected = np.zeros((d, d), dtype=np.int8)
    counts = {"n_directed": 0, "n_undirected": 0, "n_bidirected": 0, "n_other_marks": 0}
    for i in range(d):
        for j in range(i + 1, d):
            a, b = e[i, j], e[j, i]   # mark at i, mark at j
            if a == 0 and b == 0:
                continue
            if a == TAIL and b == ARROW:
                directed[i, j] = 1
                counts["n_directed"] += 1
            elif a == ARROW and b == TAIL:
                directed[j, i] = 1
                counts["n_directed"] += 1
            else:
                undirected[i, j] = undirected[j, i] = 1
                if a == TAIL and b == TAIL:
                    counts["n_undirected"] += 1
                elif a == ARROW and b == ARROW:
                    counts["n_bidirected"] += 1
                else:
                    counts["n_other_marks"] += 1
    return directed, undirected, counts


def _edges_on_cycles(directed: np.ndarray) -> np.ndarray:
    """[d, d] bool: the directed edges i -> j that lie on a directed cycle (j reaches i)."""
    a = np.asarray(directed) != 0
    reach = a.copy()
    for k in range(len(a)):  # Warshall's transitive closure
        reach |= reach[:, k:k + 1] & reach[k:k + 1, :]
    return a & reach.T


def pdag_with_extension(directed: np.ndarray, undirected: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """A valid PDAG and a consistent DAG extension of it, repairing invalid input.

    Rules, tried in order (the one used is returned as ``repair``):
      'none': close the PDAG under Meek's rules R1-R3 and extend it (Dor & Tarsi);
      'demote_cycle_orientations': the orientations on directed cycles contradict each
          other, so they are turned back into undirected edges, then as above;
      'topological_order': if still no extension exists, keep the remaining (acyclic)
          directed edges, orient every other adjacency along a topological order of
          them, and report that DAG's own CPDAG.
    The skeleton is never changed.

    Returns:
        cpdag [d, d] int8, dag [d, d] int8 (a DAG inside ``cpdag``), repair (str).
    """
    D = np.asarray(directed, dtype=np.int8).copy()
    U = np.asarray(undirected, dtype=np.int8).copy()
    pdag = apply_meek_rules(D, U)
    dag = pdag_to_dag(pdag)
    if dag is not None:
        return pdag, dag, "none"
    repair = "topological_order"
    cyc = _edges_on_cycles(D)
    if cyc.any():
        D[cyc] = 0
        U = U | cyc | cyc.T
        pdag = apply_meek_rules(D, U)
        dag = pdag_to_dag(pdag)
        if dag is not None:
            return pdag, dag, "demote_cycle_orientations"
    order = topological_order(D)
    rank = np.empty(len(D), dtype=int)
    rank[order] = np.arange(len(D))
    skel = (D | D.T | U) != 0
    dag = (skel & (rank[:, None] < rank[None, :])).astype(np.int8)
    return dag_to_cpdag(dag), dag, repair


def cpdag_posterior(graph: np.ndarray, info: dict) -> GraphPosterior:
    """GraphPosterior from a causal-learn endpoint matrix: its CPDAG (with the repair
    rule recorded in ``info['repair']``), which the GraphPosterior turns into the
    uniform distribution over the DAGs of the class (see ``GraphPosterior``)."""
    directed, undirected, counts = causallearn_to_pdag(graph)
    cpdag, dag, repair = pdag_with_extension(directed, undirected)
    undirected_out = (cpdag == 1) & (cpdag.T == 1)
    info = {**info, **counts, "repair": repair,
            "n_edges": int(dag.sum()), "n_undirected_out": int(undirected_out.sum() // 2)}
    return GraphPosterior(cpdag=cpdag.astype(np.int8), info=info)


@contextlib.contextmanager
def python_random_seeded(seed: int):
    """Seed the stdlib ``random`` module and numpy's global RNG with ``seed`` inside the
    block (causal-learn's GRaSP and BOSS draw their orders from ``random``), restoring
    both states afterwards so that the caller's streams are untouched."""
    py_state, np_state = random.getstate(), np.random.get_state()
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
