"""Random DAG models for the simulators.

Convention: ``g[i, j] = 1`` means i -> j. Every model here builds its DAG in a
construction order and then relabels the nodes by a uniformly random permutation,
so that the column order of the data says nothing about the causal order.
All randomness comes from the ``numpy.random.Generator`` passed in (networkx's
generators are handed that same Generator as their ``seed``).

Models (``sample_graph``'s ``kind``; the parameters after the name are the ones the
SCM simulators take, with AVICI's values as defaults):

    er      Erdős–Rényi, ``edges_per_node`` expected edges per node;
    sf      Barabási–Albert scale-free, heavy-tailed *in*-degree (hubs are effects),
            ``edges_per_node`` = edges per added node, ``sf_power``;
    sf_out  its transpose: heavy-tailed *out*-degree (hubs are causes, e.g.
            regulators), every node but the first few has exactly ``edges_per_node``
            parents; AVICI's ``scale_free_inv`` / ``ScaleFreeTranspose``;
    ws      Watts–Strogatz small world on a ``ws_dim``-dimensional periodic lattice,
            neighbours within ``ws_nei`` steps, rewiring probability ``ws_rewire``;
    sbm     stochastic block model, ``sbm_blocks`` blocks of random sizes,
            ``edges_per_node`` expected edges per node, inter-block edges
            ``sbm_damp`` times as likely as intra-block ones;
    grg     random geometric graph: d uniform points in the unit square, an edge
            between two points closer than ``grg_radius``.

ws, sbm and grg are undirected models (networkx's generators); they are made DAGs
by orienting every edge along a uniformly random order of the nodes.
``edges_per_node`` is unused by ws and grg, whose density the lattice and the radius
set.

Where the defaults come from. AVICI (Lorch et al. 2022, "Amortized Inference for
Causal Structure Learning", NeurIPS; github.com/larslorch/avici) evaluates on these
graph families out of distribution; its test-domain data configs
(``experiments/{linear,rff,gene}-d=30/data.yaml`` and ``experiments/*-generalization/
ood-graph/data.yaml``) use ``scale_free_inv`` with ``edges_per_var`` 2 and ``power``
0.5 or 1.5, ``watts_strogatz`` with ``dim`` 2 or 3, ``nei`` 1, ``p`` 0.3, ``sbm`` with
``edges_per_var`` 2, ``n_blocks`` 5 or 10, ``damp`` 0.1, and ``grg`` with ``radius``
0.1; its training configs (``avici/config/train/neurips-*.yaml``) use ``ScaleFree`` and
``ScaleFreeTranspose`` with ``power`` 1. The defaults here are those values, taking
the first where AVICI uses two (power 1, dim 2, 5 blocks). AVICI's generators are
``avici/synthetic/graph.py`` (igraph); the differences here are noted per function.
"""
from __future__ import annotations

import math

import numpy as np

GRAPH_KINDS = ("er", "sf", "sf_out", "ws", "sbm", "grg")

#: parameters of the graph models besides ``edges_per_node``, with AVICI's values
GRAPH_DEFAULTS = {
    "sf_power": 1.0,     # sf, sf_out: attachment weight (in-degree)^power + 1
    "ws_dim": 2,         # ws: dimension of the periodic lattice
    "ws_nei": 1,         # ws: lattice neighbours within this many steps are joined
    "ws_rewire": 0.3,    # ws: probability that an edge is rewired
    "sbm_blocks": 5,     # sbm: number of blocks
    "sbm_damp": 0.1,     # sbm: inter-block / intra-block edge probability
    "grg_radius": 0.1,   # grg: connection radius in the unit square
}


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


def scale_free(d: int, m: int, rng: np.random.Generator, power: float = 1.0) -> np.ndarray:
    """Barabási–Albert DAG, oriented as in the DiBS and AVICI code (igraph's directed
    ``Barabasi`` game, where edges point from the newer node to the older ones).

    Nodes are added one at a time; node k (k = 0, 1, ...) draws ``min(m, k)`` distinct
    earlier nodes, each with probability proportional to (its in-degree^power + 1;
    igraph's weight with ``zero_appeal`` 1), and gets an edge *to* each of them. So
    every added node has exactly ``min(m, k)`` children, and the preferentially chosen
    old nodes collect parents: the in-degree is heavy-tailed (hubs are effects; the
    DiBS scale-free prior scores in-degrees). ``scale_free_out`` is the transpose.
    networkx has no such directed game (its ``barabasi_albert_graph`` is undirected
    and attaches by total degree, without a power); igraph has it (AVICI uses it) but
    is not a dependency here, so it is written out.

    Returns:
        [d, d] int8 DAG with ``sum_k min(m, k)`` edges.
    """
    if d < 1:
        raise ValueError(f"d = {d}: need at least one node")
    if m < 0 or int(m) != m:
        raise ValueError(f"m = {m}: the edges per added node must be a whole number >= 0")
    if not power >= 0:
        raise ValueError(f"power = {power} must be >= 0")
    m = int(m)
    g = np.zeros((d, d), dtype=np.int8)
    indeg = np.zeros(d)
    for k in range(1, d):
        size = min(m, k)
        if size == 0:
            continue
        w = (indeg[:k] if power == 1 else indeg[:k] ** power) + 1.0
        targets = rng.choice(k, size=size, replace=False, p=w / w.sum())
        g[k, targets] = 1
        indeg[targets] += 1
    return _relabel(g, rng)


def scale_free_out(d: int, m: int, rng: np.random.Generator, power: float = 1.0) -> np.ndarray:
    """The transpose of ``scale_free``: heavy-tailed *out*-degree, and node k of the
    construction order has exactly ``min(m, k)`` parents (AVICI's ``scale_free_inv``,
    "power-law out-degree", the scale-free family of its test domains and of its
    gene-regulatory training domain). Returns [d, d] int8 with ``sum_k min(m, k)`` edges."""
    return np.ascontiguousarray(scale_free(d, m, rng, power).T)


def _orient(undirected: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """[d, d] DAG from a symmetric 0/1 adjacency: every edge points from the earlier
    to the later node of a uniformly random order; then the labels are permuted by an
    independent random permutation (``_relabel``)."""
    d = len(undirected)
    rank = np.empty(d, dtype=np.int64)
    rank[rng.permutation(d)] = np.arange(d)                 # rank[i]: position of node i in the order
    a = (np.asarray(undirected) != 0)
    g = (a & (rank[:, None] < rank[None, :])).astype(np.int8)  # i -> j when i comes first
    return _relabel(g, rng)


def _adjacency(graph, d: int) -> np.ndarray:
    """Symmetric [d, d] int8 adjacency of a networkx graph on nodes 0 .. d-1."""
    a = np.zeros((d, d), dtype=np.int8)
    for u, v in graph.edges():
        if u != v:
            a[u, v] = a[v, u] = 1
    return a


def lattice_size(d: int, dim: int) -> int:
    """Side of the smallest ``dim``-dimensional lattice with at least d nodes: the
    least s with s^dim >= d (AVICI: ceil(d^(1/dim)), computed here in integers)."""
    s = max(1, int(math.floor(d ** (1.0 / dim))))
    while s ** dim < d:
        s += 1
    while s > 1 and (s - 1) ** dim >= d:
        s -= 1
    return s


def watts_strogatz(d: int, rng: np.random.Generator, dim: int = 2, nei: int = 1,
                   rewire: float = 0.3) -> np.ndarray:
    """Watts–Strogatz small-world DAG (Watts & Strogatz 1998) on a ``dim``-dimensional
    lattice, as AVICI's ``watts_strogatz`` (igraph's ``Watts_Strogatz``).

    The lattice is the periodic grid of side s = ``lattice_size(d, dim)`` (s^dim >= d
    nodes; networkx ``grid_graph(periodic=True)``), with every pair within ``nei``
    lattice steps joined (networkx ``power``). Each lattice edge (u, v) is then, with
    probability ``rewire``, replaced by (u, w) with w uniform among the nodes that are
    neither u nor already joined to u (skipped when there is none), which keeps the
    edge count. For ``dim`` = 1 this is exactly networkx's ``watts_strogatz_graph``
    (ring of d nodes, k = 2 nei), which is called; networkx has no rewired lattice of
    higher dimension (igraph, not a dependency here, has), so there networkx's rule is
    applied to networkx's lattice here.
    Then s^dim - d uniformly chosen nodes are deleted (as AVICI does) and the rest
    oriented by a random order (``_orient``).

    With s >= 3 and nei = 1 the lattice has dim * s^dim edges, and deleting the
    surplus nodes keeps an edge with probability d(d-1) / (N(N-1)), N = s^dim.
    AVICI orients by the lattice's own node order instead of a random one.

    Returns:
        [d, d] int8 DAG.
    """
    import networkx as nx

    if d < 1 or dim < 1 or nei < 1 or not 0.0 <= rewire <= 1.0:
        raise ValueError(f"watts_strogatz: need d >= 1, dim >= 1, nei >= 1 and 0 <= rewire <= 1 "
                         f"(got d = {d}, dim = {dim}, nei = {nei}, rewire = {rewire})")
    if dim == 1:
        k = min(2 * nei, d)
        return _orient(_adjacency(nx.watts_strogatz_graph(d, k, rewire, seed=rng), d), rng)
    s = lattice_size(d, dim)
    lattice = nx.convert_node_labels_to_integers(nx.grid_graph(dim=[s] * dim, periodic=True),
                                                 ordering="sorted")
    if nei > 1:
        lattice = nx.power(lattice, nei)
    big = lattice.number_of_nodes()                            # N = s^dim
    graph = nx.Graph()
    graph.add_nodes_from(range(big))
    graph.add_edges_from((u, v) for u, v in lattice.edges() if u != v)
    for u, v in sorted((min(e), max(e)) for e in lattice.edges() if e[0] != e[1]):
        if rng.random() < rewire:
            taken = set(graph[u]) | {u}
            free = [w for w in range(big) if w not in taken]
            if free:
                graph.remove_edge(u, v)
                graph.add_edge(u, int(free[rng.integers(len(free))]))
    keep = np.sort(rng.choice(big, size=d, replace=False))     # delete N - d random nodes
    a = _adjacency(graph, big)[np.ix_(keep, keep)]
    return _orient(a, rng)


def stochastic_block(d: int, edges_per_node: float, rng: np.random.Generator, n_blocks: int = 5,
                     damp: float = 0.1) -> np.ndarray:
    """Stochastic-block-model DAG, as AVICI's ``sbm``: the nodes are split into
    ``n_blocks`` blocks at ``n_blocks`` - 1 distinct uniformly random cut points of a
    random order (every block non-empty; AVICI's cut points can also give an empty
    block), and each pair gets an edge with probability p inside a block and
    ``damp`` * p across blocks, where p makes the expected edge count
    ``edges_per_node * d`` for the drawn block sizes:

        p = e d / (sum_b s_b (s_b - 1) / 2 + damp * sum_{b < c} s_b s_c),

    capped at 1 (AVICI caps at 0.99), when the graph has fewer edges than that.
    Sampled by networkx's ``stochastic_block_model``, oriented by a random order.

    Returns:
        [d, d] int8 DAG.
    """
    import networkx as nx

    if not 1 <= n_blocks <= d:
        raise ValueError(f"n_blocks = {n_blocks} must be between 1 and d = {d}")
    if not 0.0 <= damp <= 1.0 or edges_per_node < 0:
        raise ValueError(f"need 0 <= damp <= 1 and edges_per_node >= 0 (got {damp}, {edges_per_node})")
    sizes = block_sizes(d, n_blocks, rng)
    p = sbm_edge_probability(sizes, edges_per_node, damp)
    probs = [[p if b == c else damp * p for c in range(n_blocks)] for b in range(n_blocks)]
    graph = nx.stochastic_block_model(sizes, probs, seed=rng)
    return _orient(_adjacency(graph, d), rng)


def block_sizes(d: int, n_blocks: int, rng: np.random.Generator) -> list[int]:
    """Sizes of ``n_blocks`` non-empty blocks summing to d: cuts at ``n_blocks`` - 1
    distinct uniform points of 1 .. d-1."""
    cuts = np.sort(rng.choice(np.arange(1, d), size=n_blocks - 1, replace=False)) if n_blocks > 1 else []
    return [int(s) for s in np.diff(np.concatenate([[0], cuts, [d]]))]


def sbm_edge_probability(sizes: list[int], edges_per_node: float, damp: float) -> float:
    """The intra-block edge probability p of ``stochastic_block`` (capped at 1)."""
    s = np.asarray(sizes, dtype=float)
    intra = float(np.sum(s * (s - 1) / 2))
    inter = float((s.sum() ** 2 - np.sum(s ** 2)) / 2)
    pairs = intra + damp * inter
    if pairs <= 0:
        return 0.0
    return min(1.0, edges_per_node * s.sum() / pairs)


def random_geometric(d: int, rng: np.random.Generator, radius: float = 0.1) -> np.ndarray:
    """Random geometric DAG, as AVICI's ``grg`` (igraph's ``GRG``): d points uniform
    in the unit square, an edge between each pair at Euclidean distance <= ``radius``
    (networkx ``random_geometric_graph``), oriented by a random order. Two uniform
    points of the unit square are within r <= 1 of each other with probability
    pi r^2 - 8 r^3 / 3 + r^4 / 2, so E[#edges] = d(d-1)/2 times that. AVICI orients
    by igraph's vertex order instead of a random one.

    Returns:
        [d, d] int8 DAG.
    """
    import networkx as nx

    if not radius > 0:
        raise ValueError(f"radius = {radius} must be > 0")
    graph = nx.random_geometric_graph(d, radius, dim=2, seed=rng)
    return _orient(_adjacency(graph, d), rng)


def sample_graph(kind: str, d: int, edges_per_node: float, rng: np.random.Generator,
                 **graph_params) -> np.ndarray:
    """A random DAG of ``kind`` (see the module docstring): 'er' (``erdos_renyi``),
    'sf' / 'sf_out' (``scale_free`` / ``scale_free_out`` with m = edges_per_node, which
    must then be a whole number), 'ws' (``watts_strogatz``), 'sbm'
    (``stochastic_block``) or 'grg' (``random_geometric``). ``graph_params`` are
    ``GRAPH_DEFAULTS``' keys; missing ones take those defaults. Returns [d, d] int8."""
    unknown = set(graph_params) - set(GRAPH_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown graph parameters {sorted(unknown)} (known: {', '.join(GRAPH_DEFAULTS)})")
    q = {**GRAPH_DEFAULTS, **graph_params}
    if kind == "er":
        return erdos_renyi(d, edges_per_node, rng)
    if kind in ("sf", "sf_out"):
        if float(edges_per_node) != int(edges_per_node):
            raise ValueError(f"edges_per_node = {edges_per_node}: a scale-free graph needs a whole number")
        make = scale_free if kind == "sf" else scale_free_out
        return make(d, int(edges_per_node), rng, power=q["sf_power"])
    if kind == "ws":
        return watts_strogatz(d, rng, dim=int(q["ws_dim"]), nei=int(q["ws_nei"]), rewire=q["ws_rewire"])
    if kind == "sbm":
        return stochastic_block(d, edges_per_node, rng, n_blocks=int(q["sbm_blocks"]), damp=q["sbm_damp"])
    if kind == "grg":
        return random_geometric(d, rng, radius=q["grg_radius"])
    raise ValueError(f"unknown graph kind {kind!r} (known: {', '.join(GRAPH_KINDS)})")


def graph_problems(kind: str, d: int, edges_per_node: float, **graph_params) -> list[str]:
    """Parameter problems for ``sample_graph``, each naming the parameter (for
    check_params). Only the parameters of ``kind`` are checked."""
    q = {**GRAPH_DEFAULTS, **graph_params}
    out = []
    if edges_per_node < 0:
        out.append(f"parameter 'edges_per_node' = {edges_per_node} must be >= 0")
    elif kind in ("er", "sbm") and d >= 2 and edges_per_node > (d - 1) / 2:
        out.append(f"parameter 'edges_per_node' = {edges_per_node} is more than (d - 1) / 2 = "
                   f"{(d - 1) / 2} for an {kind.upper()} graph with d = {d}")
    elif kind in ("sf", "sf_out") and float(edges_per_node) != int(edges_per_node):
        out.append(f"parameter 'edges_per_node' = {edges_per_node} must be a whole number "
                   "for a scale-free graph (edges per added node)")
    if kind in ("sf", "sf_out") and not q["sf_power"] >= 0:
        out.append(f"parameter 'sf_power' = {q['sf_power']} must be >= 0")
    if kind == "ws":
        if q["ws_dim"] < 1:
            out.append(f"parameter 'ws_dim' = {q['ws_dim']} must be >= 1")
        elif d >= 1 and lattice_size(d, q["ws_dim"]) ** q["ws_dim"] > 100_000:
            out.append(f"parameter 'ws_dim' = {q['ws_dim']}: the lattice for d = {d} would have "
                       f"{lattice_size(d, q['ws_dim']) ** q['ws_dim']} nodes (at most 100000)")
        if q["ws_nei"] < 1:
            out.append(f"parameter 'ws_nei' = {q['ws_nei']} must be >= 1")
        if not 0 <= q["ws_rewire"] <= 1:
            out.append(f"parameter 'ws_rewire' = {q['ws_rewire']} must be in [0, 1]")
    if kind == "sbm":
        if not 1 <= q["sbm_blocks"] <= d:
            out.append(f"parameter 'sbm_blocks' = {q['sbm_blocks']} must be between 1 and d = {d}")
        if not 0 <= q["sbm_damp"] <= 1:
            out.append(f"parameter 'sbm_damp' = {q['sbm_damp']} must be in [0, 1]")
    if kind == "grg" and not q["grg_radius"] > 0:
        out.append(f"parameter 'grg_radius' = {q['grg_radius']} must be > 0")
    return out
