"""Graph utilities shared by simulators, methods and evaluation.

Adjacency convention: ``g[i, j] = 1`` means i -> j. A PDAG/CPDAG marks an undirected
edge i - j with 1 in both ``g[i, j]`` and ``g[j, i]``.
"""
from __future__ import annotations

import numpy as np


def topological_order(g: np.ndarray) -> list[int] | None:
    """A topological order of the [d, d] graph ``g``, or None when it has a cycle."""
    g = np.asarray(g) != 0
    indeg = g.sum(axis=0).astype(int)
    stack = [j for j in range(len(g)) if indeg[j] == 0]
    order = []
    while stack:
        i = stack.pop()
        order.append(i)
        for j in np.nonzero(g[i])[0]:
            indeg[j] -= 1
            if indeg[j] == 0:
                stack.append(j)
    return order if len(order) == len(g) else None


def is_dag(g: np.ndarray) -> bool:
    """True when the [d, d] directed graph ``g`` has no directed cycle (self-loops count)."""
    return topological_order(g) is not None


def dag_to_cpdag(g: np.ndarray) -> np.ndarray:
    """The CPDAG (essential graph) of the [d, d] DAG ``g``: [d, d] int8.

    Keeps the edges of v-structures directed, then applies Meek's rules R1-R3 to a
    fixed point; what is left unoriented is undirected (1 both ways). Without
    background knowledge R1-R3 suffice (Meek 1995).
    """
    g = (np.asarray(g) != 0).astype(np.int8)
    d = len(g)
    skel = g | g.T
    directed = np.zeros_like(g)
    for j in range(d):  # v-structures a -> j <- b with a, b non-adjacent
        parents = np.nonzero(g[:, j])[0]
        for ai, a in enumerate(parents):
            for b in parents[ai + 1:]:
                if not skel[a, b]:
                    directed[a, j] = directed[b, j] = 1
    undirected = skel.copy()
    undirected[directed == 1] = 0
    undirected[directed.T == 1] = 0
    pdag = apply_meek_rules(directed, undirected)
    return pdag


def apply_meek_rules(directed: np.ndarray, undirected: np.ndarray) -> np.ndarray:
    """Orient undirected edges by Meek's R1-R3 until nothing changes.

    Args:
        directed: [d, d] 0/1, directed[i, j] = 1 for i -> j.
        undirected: [d, d] 0/1 symmetric, 1 for i - j.
    Returns:
        [d, d] int8 PDAG (undirected edges 1 both ways).
    """
    D = np.array(directed, dtype=bool)
    U = np.array(undirected, dtype=bool)
    d = len(D)

    def adjacent(a, b):
        return D[a, b] or D[b, a] or U[a, b]

    changed = True
    while changed:
        changed = False
        for i in range(d):
            for j in range(d):
                if not U[i, j]:
                    continue
                orient = False
                # R1: k -> i - j, k and j non-adjacent  =>  i -> j
                for k in np.nonzero(D[:, i])[0]:
                    if k != j and not adjacent(k, j):
                        orient = True
                        break
                # R2: i -> k -> j and i - j  =>  i -> j
                if not orient and np.any(D[i] & D[:, j]):
                    orient = True
                # R3: i - k -> j, i - l -> j, k and l non-adjacent  =>  i -> j
                if not orient:
                    ks = np.nonzero(U[i] & D[:, j])[0]
                    for a in range(len(ks)):
                        for b in range(a + 1, len(ks)):
                            if not adjacent(ks[a], ks[b]):
                                orient = True
                                break
                        if orient:
                            break
                if orient:
                    D[i, j] = True
                    U[i, j] = U[j, i] = False
                    changed = True
    return (D | U).astype(np.int8)


def pdag_to_dag(pdag: np.ndarray) -> np.ndarray | None:
    """A consistent DAG extension of the [d, d] PDAG (Dor & Tarsi 1992), or None when
    none exists. Directed edges are kept; undirected edges are oriented without adding
    a v-structure or a cycle."""
    p = (np.asarray(pdag) != 0)
    d = len(p)
    D = p & ~p.T                       # directed part
    U = p & p.T                        # undirected part
    out = D.copy()
    alive = np.ones(d, dtype=bool)
    for _ in range(d):
        chosen = None
        for x in np.nonzero(alive)[0]:
            # x is a sink among the remaining directed edges ...
            if (D[x] & alive).any():
                continue
            nbrs = np.nonzero(U[x] & alive)[0]
            adj = np.nonzero((D[:, x] | D[x] | U[x]) & alive)[0]
            # ... and each undirected neighbour is adjacent to every other neighbour of x
            if all(all(y == z or D[y, z] or D[z, y] or U[y, z] for z in adj) for y in nbrs):
                chosen = x
                break
        if chosen is None:
            return None
        for y in np.nonzero(U[chosen] & alive)[0]:
            out[y, chosen] = True
        alive[chosen] = False
    return out.astype(np.int8)

