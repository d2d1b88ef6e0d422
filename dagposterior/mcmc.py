"""Structure MCMC (MC3) over DAGs with local scores: samples from p(G | D).

Madigan & York (1995), "Bayesian graphical models for discrete data", Int. Stat. Rev.
63(2) (MC3: Metropolis–Hastings over models, proposals uniform over a neighbourhood);
the move set add / delete / reverse an edge as in Giudici & Castelo (2003), "Improving
Markov chain Monte Carlo model search for data mining", Mach. Learn. 50. This is the
"MC3" baseline of the DiBS paper (Lorch et al., NeurIPS 2021).

Target. p(G | D) ∝ exp(sum_j s(j, pa_j)) over DAGs whose in-degrees are at most
``max_parents`` (0 = no limit), with s the local scores of ``LocalScores`` (log BGe +
log graph prior of one family, in nats).

Proposal and correction. The neighbourhood nbd(G) is the set of DAGs one move away:

* add i -> j: no edge i -> j, i != j, j does not reach i (else a cycle), |pa_j| <
  max_parents;
* delete i -> j: any edge;
* reverse i -> j (to j -> i): i does not reach j other than by the edge i -> j itself
  (else the reversed edge closes a cycle), |pa_i| < max_parents.

A move is drawn uniformly from nbd(G), q(G' | G) = 1 / |nbd(G)|, and accepted with the
Metropolis–Hastings probability min(1, p(G' | D) q(G | G') / [p(G | D) q(G' | G)]),
that is (the MC3 acceptance of Madigan & York 1995 and Giudici & Castelo 2003)

    α(G -> G') = min(1, [p(G' | D) |nbd(G)|] / [p(G | D) |nbd(G')|]),

so log α = Δs + log |nbd(G)| − log |nbd(G')|, where Δs involves one family (add,
delete: node j) or two (reverse: nodes i and j). The relation "G' ∈ nbd(G)" is
symmetric (every move's inverse is a valid move of G'), so the chain is reversible with
respect to p(G | D); it is irreducible because every DAG reaches the empty graph by
deletions. Without the factor |nbd(G)| / |nbd(G')| the chain would sample
∝ p(G | D) |nbd(G)| instead (the tests check that this is detectably wrong).

Acyclicity by reachability. Each chain keeps the adjacency matrix A and its transitive
closure R (R[a, b] = 1 iff a directed path a -> ... -> b of length >= 1 exists). Then
add i -> j is valid iff R[j, i] = 0, and reverse i -> j is valid iff (A R)[i, j] = 0
(no child k of i reaches j; k = j is harmless since R[j, j] = 0 in a DAG). R is updated
in O(d²) after an addition (R' = R ∨ (anc*(i) ⊗ desc*(j))) and recomputed by repeated
squaring (O(d³ log d)) after a deletion or reversal. Each proposal computes the closure
and the valid-move masks of G', because |nbd(G')| enters α.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class MC3Result:
    """The samples of ``mc3``.

    Fields:
        graphs: [K, d, d] int8 sampled DAGs (g[i, j] = 1: edge i -> j), the kept states
            of chain 0, then chain 1, ... (K = n_chains · kept states per chain).
        log_scores: [K] float64 unnormalised log posterior sum_j s(j, pa_j) of each
            sample, in nats.
        chain: [K] int64 index of the chain each sample came from.
        info: JSON-able diagnostics (see ``mc3``).
    """

    graphs: np.ndarray
    log_scores: np.ndarray
    chain: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"mc3: parameter '{name}' = {value!r} must be an integer")
    if value < low:
        raise ValueError(f"mc3: parameter '{name}' = {value!r} must be >= {low}")
    return int(value)


def kept_steps(steps: int, burn_in: int, thin: int) -> np.ndarray:
    """The step numbers t whose state X_t is kept: [S] int64, ascending.

    X_0 is the starting (empty) graph and X_t the state after t steps. Kept are
    t = steps, steps − thin, steps − 2·thin, ... while t > burn_in, so every chain
    returns ceil((steps − burn_in) / thin) >= 1 states and always its last one.
    """
    return np.arange(steps, burn_in, -thin, dtype=np.int64)[::-1].copy()


def closure(a: np.ndarray) -> np.ndarray:
    """Transitive closure of a DAG: a [d, d] 0/1 -> R [d, d] float64, R[x, y] = 1 iff a
    directed path of length >= 1 leads from x to y. Repeated squaring: R ← R ∨ R·R
    until it stops changing (ceil(log2 L) + 1 products for a longest path L)."""
    r = (np.asarray(a) != 0).astype(np.float64)
    while True:
        nxt = np.minimum(r + r @ r, 1.0)
        if (nxt == r).all():
            return r
        r = nxt


def _masks(a: np.ndarray, r: np.ndarray, max_parents: int,
           offdiag: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Valid moves of the DAG a (float 0/1) with closure r: (add, delete, reverse) [d, d]
    bool masks, entry [i, j] for the move on the pair i -> j. ``offdiag``: ~eye(d)."""
    if offdiag is None:
        offdiag = ~np.eye(len(a), dtype=bool)
    edge = a > 0.5
    add = (a + r.T < 0.5) & offdiag                                      # no i -> j, j does not reach i
    rev = edge & (a @ r < 0.5)                                           # no other path i -> ... -> j
    if max_parents > 0:
        room = a.sum(0) < max_parents                                    # [d] may gain a parent
        add &= room[None, :]
        rev &= room[:, None]                                             # i gains parent j
    return add, edge, rev


def valid_moves(g: np.ndarray, max_parents: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The neighbourhood of a DAG: boolean masks (add, delete, reverse), each [d, d].

    ``add[i, j]``: adding i -> j gives a DAG with |pa_j| <= max_parents;
    ``delete[i, j]``: i -> j is an edge; ``reverse[i, j]``: replacing i -> j by j -> i
    gives a DAG with |pa_i| <= max_parents. ``max_parents = 0`` means no limit.
    |nbd(G)| is the total number of True entries (``neighbourhood_size``).
    Raises ValueError when g is not a square 0/1 DAG or max_parents < 0.
    """
    a = _as_dag(g)
    _check_int("max_parents", max_parents, 0)
    return _masks(a, closure(a), max_parents)


def neighbourhood_size(g: np.ndarray, max_parents: int = 0) -> int:
    """|nbd(G)|: the number of valid add, delete and reverse moves of the DAG g [d, d]."""
    return int(sum(m.sum() for m in valid_moves(g, max_parents)))


def _as_dag(g: np.ndarray) -> np.ndarray:
    g = np.asarray(g)
    if g.ndim != 2 or g.shape[0] != g.shape[1]:
        raise ValueError(f"a graph must be [d, d], got shape {g.shape}")
    a = (g != 0).astype(np.float64)
    if np.diag(closure(a)).any():
        raise ValueError("the graph has a directed cycle")
    return a


def mc3(scores, *, steps: int, burn_in: int, thin: int = 1, n_chains: int = 1, max_parents: int = 0,
        seed: int = 0) -> MC3Result:
    """Sample DAGs from p(G | D) ∝ exp(sum_j s(j, pa_j)) by structure MCMC (MC3).

    Args:
        scores: a ``dagposterior.scores.LocalScores`` (or any object with ``d`` and
            ``families(nodes [U], codes [U]) -> [U]`` local scores in nats).
        steps: Metropolis–Hastings steps per chain (one proposal each), >= 1.
        burn_in: steps discarded at the start of each chain, 0 <= burn_in < steps.
        thin: keep every thin-th state, >= 1. Kept are the states after steps t =
            steps, steps − thin, ... > burn_in (``kept_steps``): ceil((steps −
            burn_in) / thin) per chain.
        n_chains: independent chains, each started from the empty graph, >= 1.
        max_parents: in-degree limit of every sampled DAG (the target is p(G | D)
            restricted to such DAGs); 0 = no limit.
        seed: chain c draws from ``np.random.default_rng(SeedSequence(seed).spawn(
            n_chains)[c])``; the same arguments give identical samples.

    Returns an ``MC3Result``: graphs [K, d, d] int8, log_scores [K], chain [K], and
    info (JSON-able):
        ``acceptance_rate``: per chain, accepted / proposed moves over all steps;
        ``n_samples``, ``n_samples_per_chain``, ``n_distinct_graphs`` (among all samples);
        ``n_families_scored``: distinct (node, parent set) scores this run looked up
        (each is computed once, by ``scores.families``);
        ``max_edge_marginal_diff``: max over chain pairs and edges of |p_a(i -> j) −
        p_b(i -> j)| from each chain's own samples (None for one chain): well above the
        Monte Carlo error (≈ 1/sqrt(effective samples)) means the chains disagree,
        i.e. have not converged;
        ``rhat_log_score``: Gelman–Rubin potential scale reduction of the sampled
        log scores across chains (None when undefined, e.g. one chain or no variance);
        ``mean_log_score_per_chain``, ``best_log_score`` (the highest state visited,
        nats), ``seconds``.

    Proposal: uniform over nbd(G), with the Hastings factor |nbd(G)| / |nbd(G')|:
    α = min(1, exp(Δs) |nbd(G)| / |nbd(G')|) (module docstring; Madigan & York 1995;
    Giudici & Castelo 2003).
    Raises ValueError naming the parameter for steps < 1, burn_in outside [0, steps),
    thin < 1, n_chains < 1, max_parents < 0, a negative or non-integer seed, or
    non-finite local scores (the message names the family).
    """
    return _sample(scores, steps=steps, burn_in=burn_in, thin=thin, n_chains=n_chains,
                   max_parents=max_parents, seed=seed, hastings=True)


def _sample(scores, *, steps, burn_in, thin, n_chains, max_parents, seed, hastings: bool) -> MC3Result:
    """``mc3``; ``hastings=False`` drops the factor |nbd(G)| / |nbd(G')| (a wrong chain,
    kept only so that the tests can show the correction matters)."""
    t0 = time.perf_counter()
    steps = _check_int("steps", steps, 1)
    burn_in = _check_int("burn_in", burn_in, 0)
    if burn_in >= steps:
        raise ValueError(f"mc3: parameter 'burn_in' = {burn_in} must be < steps = {steps}")
    thin = _check_int("thin", thin, 1)
    n_chains = _check_int("n_chains", n_chains, 1)
    max_parents = _check_int("max_parents", max_parents, 0)
    seed = _check_int("seed", seed, 0)
    d = int(scores.d)
    keep = kept_steps(steps, burn_in, thin)
    per_chain = len(keep)

    cache: dict[tuple[int, int], float] = {}

    def fam(j: int, code: int) -> float:
        key = (j, code)
        v = cache.get(key)
        if v is None:
            v = float(scores.families(np.array([j]), np.array([code]))[0])
            if not math.isfinite(v):
                raise ValueError(f"mc3: local score of node {j} with parent code {code} is {v}")
            cache[key] = v
        return v

    graphs = np.zeros((n_chains * per_chain, d, d), dtype=np.int8)
    log_scores = np.zeros(n_chains * per_chain)
    accept_rate, best = [], -math.inf
    for c, child in enumerate(np.random.SeedSequence(seed).spawn(n_chains)):
        rng = np.random.default_rng(child)
        g_out = graphs[c * per_chain:(c + 1) * per_chain]
        s_out = log_scores[c * per_chain:(c + 1) * per_chain]
        acc, top = _run_chain(d, fam, rng, steps=steps, keep=keep, max_parents=max_parents,
                              hastings=hastings, g_out=g_out, s_out=s_out)
        accept_rate.append(acc / steps)
        best = max(best, top)

    chain = np.repeat(np.arange(n_chains, dtype=np.int64), per_chain)
    info = _diagnostics(graphs, log_scores, n_chains, per_chain)
    info.update({"acceptance_rate": [float(a) for a in accept_rate], "n_families_scored": len(cache),
                 "best_log_score": float(best), "steps": steps, "burn_in": burn_in, "thin": thin,
                 "n_chains": n_chains, "max_parents": max_parents,
                 "seconds": round(time.perf_counter() - t0, 3)})
    return MC3Result(graphs=graphs, log_scores=log_scores, chain=chain, info=info)


def _run_chain(d, fam, rng, *, steps, keep, max_parents, hastings, g_out, s_out) -> tuple[int, float]:
    """One chain from the empty graph; writes the kept states into g_out [S, d, d] and
    their log scores into s_out [S]. Returns (accepted moves, best log score visited)."""
    a = np.zeros((d, d))                       # adjacency, float 0/1 (BLAS products)
    r = np.zeros((d, d))                       # transitive closure
    codes = [0] * d                            # parent-set code of each node
    local = [fam(j, 0) for j in range(d)]      # current local score of each node
    total = sum(local)
    best = total
    offdiag = ~np.eye(d, dtype=bool)
    add, dele, rev = _masks(a, r, max_parents, offdiag)
    n_add, n_del, n_rev = int(add.sum()), 0, int(rev.sum())
    accepted = 0
    next_keep, ki = (int(keep[0]) if len(keep) else -1), 0
    block = 8192
    for start in range(0, steps, block):
        m = min(block, steps - start)
        u_move = rng.random(m)
        log_u = np.log(rng.random(m))
        for b in range(m):
            t = start + b + 1                  # the state after this step is X_t
            nbd = n_add + n_del + n_rev
            if nbd > 0:
                k = min(int(u_move[b] * nbd), nbd - 1)
                if k < n_add:
                    kind, flat = 0, int(np.flatnonzero(add)[k])
                elif k < n_add + n_del:
                    kind, flat = 1, int(np.flatnonzero(dele)[k - n_add])
                else:
                    kind, flat = 2, int(np.flatnonzero(rev)[k - n_add - n_del])
                i, j = divmod(flat, d)
                bi, bj = 1 << i, 1 << j
                if kind == 0:                  # add i -> j
                    new_j = fam(j, codes[j] | bi)
                    delta = new_j - local[j]
                elif kind == 1:                # delete i -> j
                    new_j = fam(j, codes[j] & ~bi)
                    delta = new_j - local[j]
                else:                          # reverse i -> j into j -> i
                    new_j = fam(j, codes[j] & ~bi)
                    new_i = fam(i, codes[i] | bj)
                    delta = new_j - local[j] + new_i - local[i]
                a2 = a.copy()
                if kind == 0:
                    a2[i, j] = 1.0
                    up = r[:, i].copy()
                    up[i] = 1.0                # i and its ancestors ...
                    down = r[j].copy()
                    down[j] = 1.0              # ... now reach j and its descendants
                    r2 = np.maximum(r, np.outer(up, down))
                else:
                    a2[i, j] = 0.0
                    if kind == 2:
                        a2[j, i] = 1.0
                    r2 = closure(a2)
                add2, dele2, rev2 = _masks(a2, r2, max_parents, offdiag)
                n_add2, n_del2, n_rev2 = int(add2.sum()), int(dele2.sum()), int(rev2.sum())
                log_alpha = delta
                if hastings:
                    log_alpha += math.log(nbd) - math.log(n_add2 + n_del2 + n_rev2)
                if log_u[b] < log_alpha:
                    accepted += 1
                    a, r = a2, r2
                    add, dele, rev = add2, dele2, rev2
                    n_add, n_del, n_rev = n_add2, n_del2, n_rev2
                    if kind == 0:
                        codes[j] |= bi
                        local[j] = new_j
                    elif kind == 1:
                        codes[j] &= ~bi
                        local[j] = new_j
                    else:
                        codes[j] &= ~bi
                        codes[i] |= bj
                        local[j], local[i] = new_j, new_i
                    total += delta
                    if total > best:
                        best = total
            if t == next_keep:
                g_out[ki] = a
                s_out[ki] = sum(local)         # exact, free of the running sum's rounding
                ki += 1
                next_keep = int(keep[ki]) if ki < len(keep) else -1
    return accepted, best


def _diagnostics(graphs: np.ndarray, log_scores: np.ndarray, n_chains: int, per_chain: int) -> dict:
    """Between-chain diagnostics of the samples (see ``mc3``)."""
    k, d = len(graphs), graphs.shape[-1]
    flat = graphs.reshape(k, d * d)
    n_distinct = int(len(np.unique(flat, axis=0))) if k else 0
    marg = graphs.reshape(n_chains, per_chain, d, d).mean(1)             # [C, d, d]
    s = log_scores.reshape(n_chains, per_chain)
    out: dict[str, Any] = {"n_samples": int(k), "n_samples_per_chain": int(per_chain),
                           "n_distinct_graphs": n_distinct,
                           "mean_log_score_per_chain": [float(v) for v in s.mean(1)],
                           "max_edge_marginal_diff": None, "rhat_log_score": None}
    if n_chains >= 2:
        diff = np.abs(marg[:, None] - marg[None, :])                      # [C, C, d, d]
        out["max_edge_marginal_diff"] = float(diff.max())
        if per_chain >= 2:
            w = s.var(1, ddof=1).mean()                                   # within-chain variance
            b = per_chain * s.mean(1).var(ddof=1)                         # between-chain variance
            if w > 0:
                var_plus = (per_chain - 1) / per_chain * w + b / per_chain
                out["rhat_log_score"] = float(math.sqrt(var_plus / w))
    return out
