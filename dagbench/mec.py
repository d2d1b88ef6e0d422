"""The DAGs of a Markov equivalence class (MEC): counting, listing and uniform sampling.

An equivalence-class answer (a CPDAG, from PC or GES) is scored as the **uniform
distribution over the DAGs of its class**, so that no score depends on how its
undirected edges happen to be oriented (e.g. toward the lower column index).

Facts used (Andersson, Madigan & Perlman 1997, Thm 4.1; Wienöbst, Bannach &
Liśkiewicz, JMLR 24(213), 2023, Sec. 2): a CPDAG's undirected edges form chain
components, each a connected chordal graph, and the DAGs of the class are exactly the
CPDAG's directed edges plus one acyclic moral orientation (AMO: acyclic, no
v-structure) of each chain component, chosen independently. So

    |MEC| = prod_C #AMO(C)          and a uniform DAG = a uniform AMO of every C.

The counting is done by the ``cliquepicking`` package (Wienöbst et al.'s Clique-Picking
algorithm, polynomial time, in Rust): a maintained implementation by the algorithm's
authors, preferred to our own. Two things it offers are not used: its sampler takes no
seed (runs must be reproducible), and its listing (0.3.2) panics when a chain
component is a clique (e.g. a single undirected edge). Sampling and listing are
therefore ours, on top of its counts: the root-picking recursion of He, Jia & Yu
(JMLR 16, 2015, Sec. 4). Every AMO of a connected chordal graph U has exactly one
source v; the AMOs with source v are counted by orienting v's edges away from v,
closing under Meek's rules and multiplying the counts of the chordal components left
undirected. A uniform draw picks v with probability #AMO_v(U) / #AMO(U), orients, and
recurses into those components (a clique: a uniform random order); the listing takes
every v. The sum over v is checked against ``cliquepicking.mec_size`` at every step.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from dagbench.graphs import apply_meek_rules, dag_to_cpdag, pdag_to_dag

__all__ = ["MAX_ENUMERATE", "N_SAMPLES", "MecDistribution", "canonical_cpdag", "mec_size",
           "mec_distribution"]

#: Classes with at most this many DAGs are listed in full (exact scores).
MAX_ENUMERATE = 1000
#: Larger classes are represented by this many uniform draws.
N_SAMPLES = 1000


@dataclass
class MecDistribution:
    """The uniform distribution over a class, as a weighted set of DAGs.

    Fields:
        graphs: [K, d, d] int8 DAGs of the class (all of them when ``exact``, else K
            uniform draws, possibly repeated).
        weights: [K] float64, 1/K each.
        size: the number of DAGs in the class (a Python int; may exceed 2**63).
        exact: True when ``graphs`` is the whole class.
    """

    graphs: np.ndarray
    weights: np.ndarray
    size: int
    exact: bool


def canonical_cpdag(pdag: np.ndarray) -> np.ndarray:
    """The CPDAG of the class that a [d, d] PDAG stands for: the CPDAG of any of its
    consistent DAG extensions (Dor & Tarsi 1992; all extensions share skeleton and
    v-structures, so they lie in one class). For a valid CPDAG this is the input.

    Raises:
        ValueError: when the PDAG is not square or has no consistent DAG extension.
    """
    p = (np.asarray(pdag) != 0).astype(np.int8)
    if p.ndim != 2 or p.shape[0] != p.shape[1]:
        raise ValueError(f"cpdag has shape {p.shape}, expected [d, d]")
    np.fill_diagonal(p, 0)
    dag = pdag_to_dag(p)
    if dag is None:
        raise ValueError("cpdag has no consistent DAG extension (its directed edges form a "
                         "cycle, or every orientation of its undirected edges adds a "
                         "v-structure or a cycle)")
    return dag_to_cpdag(dag)


def _components(undirected: np.ndarray) -> list[np.ndarray]:
    """Node index arrays of the connected components with >= 2 nodes of a symmetric
    [d, d] bool adjacency (scipy.sparse.csgraph does the work)."""
    from scipy.sparse.csgraph import connected_components

    _, labels = connected_components(undirected, directed=False)
    comps = [np.nonzero(labels == c)[0] for c in np.unique(labels)]
    return [c for c in comps if len(c) >= 2]


def _edge_list(adj: np.ndarray) -> list[tuple[int, int]]:
    """cliquepicking's input: (a, b) and (b, a) for each undirected edge of [p, p] ``adj``."""
    a, b = np.nonzero(adj)
    return list(zip(a.tolist(), b.tolist()))


def _count(adj: np.ndarray) -> int:
    """#AMO of a connected chordal graph given as a [p, p] symmetric bool adjacency."""
    import cliquepicking

    return 1 if len(adj) < 2 else int(cliquepicking.mec_size(_edge_list(adj)))


def _split(cpdag: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    c = np.asarray(cpdag) != 0
    undirected = c & c.T
    return c & ~c.T, undirected, _components(undirected)


def mec_size(cpdag: np.ndarray) -> int:
    """Number of DAGs in the class of a valid [d, d] CPDAG: prod over chain components
    C of #AMO(C) (Wienöbst et al. 2023, Sec. 2), each counted by ``cliquepicking``."""
    _, undirected, comps = _split(cpdag)
    size = 1
    for comp in comps:
        size *= _count(undirected[np.ix_(comp, comp)])
    return size


class _AmoTree:
    """The AMOs of one connected chordal graph ([p, p] symmetric bool) by root picking
    (He, Jia & Yu 2015, Sec. 4): uniform draws, or the full list. What each node set
    splits into is cached, so repeated draws cost little after the first."""

    def __init__(self, adj: np.ndarray):
        self.adj = np.asarray(adj, dtype=bool)
        self.cache: dict[tuple[int, ...], tuple] = {}

    def _is_clique(self, nodes: tuple[int, ...]) -> bool:
        return int(self.adj[np.ix_(nodes, nodes)].sum()) == len(nodes) * (len(nodes) - 1)

    def _options(self, nodes: tuple[int, ...]):
        """(probabilities [r], per root: (oriented edges, sub-components)) of ``nodes``."""
        if nodes in self.cache:
            return self.cache[nodes]
        idx = np.array(nodes)
        sub = self.adj[np.ix_(idx, idx)]
        total = _count(sub)
        counts, outcomes = [], []
        for r in range(len(idx)):
            directed = np.zeros_like(sub)
            directed[r] = sub[r]                               # r -> each neighbour
            undirected = sub & ~directed & ~directed.T
            pdag = apply_meek_rules(directed, undirected).astype(bool)
            und = pdag & pdag.T                                 # [p, p] left undirected
            fixed = pdag & ~pdag.T
            comps = _components(und)
            n = 1
            for comp in comps:
                n *= _count(und[np.ix_(comp, comp)])
            counts.append(n)
            edges = [(int(idx[a]), int(idx[b])) for a, b in zip(*np.nonzero(fixed))]
            outcomes.append((edges, [tuple(int(i) for i in idx[comp]) for comp in comps]))
        if sum(counts) != total:  # every AMO has exactly one source: the counts must add up
            raise RuntimeError(f"root-picking counts {sum(counts)} != {total} AMOs for nodes {nodes}")
        probs = np.array(counts, dtype=np.float64) / total
        self.cache[nodes] = (probs, outcomes)
        return self.cache[nodes]

    def sample(self, rng: np.random.Generator) -> list[tuple[int, int]]:
        """One uniform AMO as a list of directed edges (a, b), a -> b."""
        edges: list[tuple[int, int]] = []
        stack = [tuple(range(len(self.adj)))]
        while stack:
            nodes = stack.pop()
            if self._is_clique(nodes):                          # a clique: a uniform order
                order = [nodes[i] for i in rng.permutation(len(nodes))]
                edges += [(a, b) for i, a in enumerate(order) for b in order[i + 1:]]
                continue
            probs, outcomes = self._options(nodes)
            fixed, comps = outcomes[int(rng.choice(len(probs), p=probs))]
            edges += fixed
            stack += comps
        return edges

    def enumerate(self, nodes: tuple[int, ...] | None = None) -> list[list[tuple[int, int]]]:
        """Every AMO of ``nodes`` (default: all), each as a list of directed edges."""
        import itertools

        nodes = tuple(range(len(self.adj))) if nodes is None else nodes
        if self._is_clique(nodes):
            return [[(a, b) for i, a in enumerate(order) for b in order[i + 1:]]
                    for order in itertools.permutations(nodes)]
        out = []
        for fixed, comps in self._options(nodes)[1]:
            for parts in itertools.product(*(self.enumerate(c) for c in comps)):
                out.append(fixed + [e for part in parts for e in part])
        return out


def mec_distribution(cpdag: np.ndarray, *, max_enumerate: int = MAX_ENUMERATE,
                     n_samples: int = N_SAMPLES, seed: int | None = None) -> MecDistribution:
    """The uniform distribution over the DAGs of a valid [d, d] CPDAG's class.

    Classes of at most ``max_enumerate`` DAGs are listed in full (root picking, one
    chain component at a time, see the module docstring); larger ones are represented by
    ``n_samples`` independent uniform draws (root picking, see the module docstring),
    seeded by ``seed`` — by default a checksum of the CPDAG, so the same answer always
    gets the same draws.

    Returns:
        MecDistribution with graphs [K, d, d] int8 and weights [K] = 1/K.
    Raises:
        ValueError: for a PDAG that is not a CPDAG (pass it through
            :func:`canonical_cpdag` first).
    """
    c = (np.asarray(cpdag) != 0).astype(np.int8)
    if not np.array_equal(canonical_cpdag(c), c):
        raise ValueError("not a CPDAG: canonical_cpdag() of it differs")
    d = len(c)
    directed, undirected, comps = _split(c)
    size = mec_size(c)
    base = directed.astype(np.int8)                                # [d, d]
    trees = [(comp, _AmoTree(undirected[np.ix_(comp, comp)])) for comp in comps]
    if size <= max_enumerate:
        graphs = base[None].copy()                                 # [1, d, d]
        for comp, tree in trees:                                   # Cartesian product over components
            options = tree.enumerate()
            orient = np.zeros((len(options), d, d), np.int8)       # [A, d, d]
            for a, edges in enumerate(options):
                src, dst = np.array(edges).T
                orient[a, comp[src], comp[dst]] = 1
            graphs = (graphs[:, None] | orient[None]).reshape(-1, d, d)
        if len(graphs) != size:
            raise RuntimeError(f"listed {len(graphs)} DAGs of a class of {size}")
        return MecDistribution(graphs, np.full(len(graphs), 1.0 / len(graphs)), size, True)
    if seed is None:
        seed = zlib.crc32(np.ascontiguousarray(c).tobytes())
    rng = np.random.default_rng(seed)
    graphs = np.repeat(base[None], n_samples, axis=0)              # [S, d, d]
    for s in range(n_samples):
        for comp, tree in trees:
            for a, b in tree.sample(rng):
                graphs[s, comp[a], comp[b]] = 1
    return MecDistribution(graphs, np.full(n_samples, 1.0 / n_samples), size, False)
