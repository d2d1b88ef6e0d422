"""Random DAG models for the simulators.

Convention: ``g[i, j] = 1`` means i -> j. Every model here builds its DAG in a
construction order and then relabels the nodes by a uniformly random permutation,
so that the column order of the data says nothing about the causal order.
All randomness comes from the ``numpy.random.Generator`` passed in.
"""
from __future__ import annotations

import numpy as np

GRAPH_KINDS = ("er", "sf")


def _relabel(g: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """[d, d] graph with node k renamed perm[k] for a random permutation perm."""
    d = len(g)
    perm = rng.permutation(d)
    out = np.zeros((d, d), dtype=np.int8)
    out[np.ix_(perm, perm)] = g  # out[perm[i], perm[j]] = g[i, j]
    return out


def erdos_renyi(d: int, edges_per_node: float, rng: np.random.Generator) -> np.ndarray:
    """Erdős–Rényi DAG with ``edges_per_node * d`` edges in expectation.

    Each of the d(d-1)/2 pairs of a random causal order gets an edge (from the
    earlier to the later node) independently with probability
    ``p = 2 * edges_per_node / (d - 1)``, so E[#edges] = p * d(d-1)/2 = e * d.

    Returns:
        [d, d] int8 DAG.
    Raises:
        ValueError: when p > 1 (edges_per_node > (d - 1) / 2) or the inputs are out of range.
    """
    if d < 1:
        raise ValueError(f"d = {d}: need at least one node")
    if edges_per_node < 0:
        raise ValueError(f"edges_per_node = {edges_per_node} is negative")
    p = 2.0 * edges_per_node / (d - 1) if d > 1 else 0.0
    if p > 1.0 + 1e-12:
        raise ValueError(f"edges_per_node = {edges_per_node} is more than (d - 1) / 2 = {(d - 1) / 2} "
                         f"for an ER graph on d = {d} nodes (edge probability would be {p:.3g} > 1)")
    coins = rng.random((d, d)) < p  # [d, d]
    g = np.tril(coins, k=-1).astype(np.int8)  # i > j: edge i -> j (a DAG in order d-1, ..., 0)
    return _relabel(g, rng)


def scale_free(d: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """Barabási–Albert DAG, oriented as in the DiBS and AVICI code (igraph's directed
    ``Barabasi`` game, where edges point from the newer node to the older ones).

    Nodes are added one at a time; node k (k = 0, 1, ...) draws ``min(m, k)`` distinct
    earlier nodes, each with probability proportional to (its in-degree + 1), and
    gets an edge *to* each of them. So every added node has exactly ``min(m, k)``
    children, and the preferentially chosen old nodes collect parents: the in-degree
    is heavy-tailed (hubs are effects; the DiBS scale-free prior scores in-degrees).
    For the opposite orientation (heavy-tailed out-degree) transpose the result.

    Returns:
        [d, d] int8 DAG with ``sum_k min(m, k)`` edges.
    """
    if d < 1:
        raise ValueError(f"d = {d}: need at least one node")
    if m < 0 or int(m) != m:
        raise ValueError(f"m = {m}: the edges per added node must be a whole number >= 0")
    m = int(m)
    g = np.zeros((d, d), dtype=np.int8)
    indeg = np.zeros(d)
    for k in range(1, d):
        size = min(m, k)
        if size == 0:
            continue
        w = indeg[:k] + 1.0
        targets = rng.choice(k, size=size, replace=False, p=w / w.sum())
        g[k, targets] = 1
        indeg[targets] += 1
    return _relabel(g, rng)


def sample_graph(kind: str, d: int, edges_per_node: float, rng: np.random.Generator) -> np.ndarray:
    """A random DAG of ``kind`` 'er' (``erdos_renyi``) or 'sf' (``scale_free`` with
    m = edges_per_node, which must then be a whole number). Returns [d, d] int8."""
    if kind == "er":
        return erdos_renyi(d, edges_per_node, rng)
    if kind == "sf":
        if float(edges_per_node) != int(edges_per_node):
            raise ValueError(f"edges_per_node = {edges_per_node}: a scale-free graph needs a whole number")
        return scale_free(d, int(edges_per_node), rng)
    raise ValueError(f"unknown graph kind {kind!r} (known: {', '.join(GRAPH_KINDS)})")


def graph_problems(kind: str, d: int, edges_per_node: float) -> list[str]:
    """Parameter problems for ``sample_graph``, each naming the parameter (for check_params)."""
    out = []
    if edges_per_node < 0:
        out.append(f"parameter 'edges_per_node' = {edges_per_node} must be >= 0")
    elif kind == "er" and d >= 2 and edges_per_node > (d - 1) / 2:
        out.append(f"parameter 'edges_per_node' = {edges_per_node} is more than (d - 1) / 2 = "
                   f"{(d - 1) / 2} for an ER graph with d = {d}")
    elif kind == "sf" and float(edges_per_node) != int(edges_per_node):
        out.append(f"parameter 'edges_per_node' = {edges_per_node} must be a whole number "
                   "for a scale-free graph (edges per added node)")
    return out
