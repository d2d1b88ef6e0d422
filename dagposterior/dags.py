"""Every labelled DAG on d nodes, as integer codes, cached per d.

A graph is coded as the integer sum_{i, j} g[i, j] 2^(i d + j) (bit i·d + j set for the
edge i -> j), so d <= 7 fits an int64. The DAGs are enumerated as the union over the d!
topological orders of the 2^(d(d-1)/2) graphs each order allows, deduplicated; the
counts are Robinson's (1973) numbers a(d) = 1, 1, 3, 25, 543, 29281, 3781503 (OEIS
A003024), which the cache is checked against.
"""
from __future__ import annotations

import itertools
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

#: the largest d enumerated (a(6) = 3,781,503 DAGs take about 30 MB as codes; d = 7
#: would be 1.1e9)
MAX_D = 6
#: number of labelled DAGs on d nodes (Robinson 1973; OEIS A003024)
N_DAGS = {0: 1, 1: 1, 2: 3, 3: 25, 4: 543, 5: 29281, 6: 3781503}


def cache_dir() -> Path:
    """Where the DAG lists are kept: ``$DAGBENCH_CACHE`` or ``~/.cache/dagbench``."""
    return Path(os.environ.get("DAGBENCH_CACHE") or Path.home() / ".cache" / "dagbench")


@lru_cache(maxsize=None)
def all_dags(d: int) -> np.ndarray:
    """The codes of all a(d) DAGs on d nodes, sorted ascending: [a(d)] int64.

    Cached in memory and in ``cache_dir()/dags_d{d}.npy`` (written atomically; a cached
    file with the wrong count is recomputed). Raises ValueError for d outside 0..MAX_D.
    The returned array is read-only.
    """
    if not isinstance(d, (int, np.integer)) or isinstance(d, bool) or not 0 <= d <= MAX_D:
        raise ValueError(f"DAG enumeration needs 0 <= d <= {MAX_D} (there are {N_DAGS.get(6)} DAGs "
                         f"at d = 6 and about 1.1e9 at d = 7), got d = {d!r}")
    path = cache_dir() / f"dags_d{d}.npy"
    codes = None
    if path.exists():
        try:
            codes = np.load(path)
        except (OSError, ValueError):
            codes = None
        if codes is not None and (codes.dtype != np.int64 or codes.shape != (N_DAGS[d],)):
            codes = None
    if codes is None:
        codes = _enumerate(int(d))
        if len(codes) != N_DAGS[d]:  # would be a bug in _enumerate
            raise RuntimeError(f"enumerated {len(codes)} DAGs at d = {d}, expected {N_DAGS[d]}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npy")
            np.save(tmp, codes)
            os.replace(tmp, path)
        except OSError:
            pass  # an unwritable cache only costs the enumeration next time
    codes.setflags(write=False)
    return codes


def _enumerate(d: int) -> np.ndarray:
    """Union over topological orders of the graphs each order allows: [a(d)] sorted."""
    if d <= 1:
        return np.zeros(1, dtype=np.int64)
    pairs = [(a, b) for a in range(d) for b in range(a + 1, d)]            # positions in an order
    m = len(pairs)
    subsets = ((np.arange(2 ** m, dtype=np.int64)[:, None] >> np.arange(m)) & 1)  # [2^m, m]
    out = []
    for order in itertools.permutations(range(d)):
        bit = np.array([order[a] * d + order[b] for a, b in pairs], dtype=np.int64)  # [m]
        out.append(subsets @ (np.int64(1) << bit))                      # [2^m]
    return np.unique(np.concatenate(out))


def codes_to_graphs(codes: np.ndarray, d: int) -> np.ndarray:
    """Codes [N] -> adjacency matrices [N, d, d] int8 (g[i, j] = 1: edge i -> j)."""
    codes = np.asarray(codes, dtype=np.int64)
    bits = (codes[:, None] >> np.arange(d * d, dtype=np.int64)) & 1      # [N, d·d]
    return bits.reshape(len(codes), d, d).astype(np.int8)


def graphs_to_codes(graphs: np.ndarray) -> np.ndarray:
    """Adjacency matrices [N, d, d] (nonzero = edge) -> codes [N] int64; d <= 7."""
    graphs = np.asarray(graphs)
    n, d = graphs.shape[0], graphs.shape[-1]
    if graphs.shape[1:] != (d, d) or d > 7:
        raise ValueError(f"graphs must be [N, d, d] with d <= 7, got shape {graphs.shape}")
    flat = (graphs.reshape(n, d * d) != 0).astype(np.int64)
    return flat @ (np.int64(1) << np.arange(d * d, dtype=np.int64))
