"""Shared helpers of the benchmarks in bench/: threads, data, metrics, machine facts.

Call ``set_threads(n)`` before importing torch / jax (it sets the environment that
XLA and OpenMP read at start-up). Data are generated once in numpy and the same
arrays go to our code and to the peers.
"""
from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def set_threads(n: int) -> None:
    """Hold torch, BLAS/OpenMP and XLA to ``n`` threads (before those are imported)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)
    flags = os.environ.get("XLA_FLAGS", "")
    if n == 1 and "multi_thread_eigen" not in flags:
        flags += " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    os.environ["XLA_FLAGS"] = flags.strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import torch
    torch.set_num_threads(n)


def linear_gaussian_data(d: int, n: int, *, seed: int, edges_per_node: float = 2.0,
                         noise_var: float = 0.1, n_heldout: int = 0):
    """ER DAG (``simulators.graphs.erdos_renyi``), weights ±U(0.5, 2), Gaussian noise.

    Returns (x [n, d] float64, g_true [d, d] int8, W [d, d]) (+ x_heldout when asked).
    """
    from simulators.graphs import erdos_renyi

    rng = np.random.default_rng(seed)
    g = erdos_renyi(d, edges_per_node, rng).astype(np.int8)  # [d, d]
    W = g * rng.choice([-1.0, 1.0], size=(d, d)) * rng.uniform(0.5, 2.0, size=(d, d))
    order = topological_order(g)

    def sample(m):
        x = np.zeros((m, d))
        for j in order:
            x[:, j] = x @ W[:, j] + np.sqrt(noise_var) * rng.normal(size=m)
        return x

    x = sample(n)
    if n_heldout:
        return x, g, W, sample(n_heldout)
    return x, g, W


def topological_order(g: np.ndarray) -> list[int]:
    d = len(g)
    indeg = g.sum(0).astype(int).tolist()
    todo = [j for j in range(d) if indeg[j] == 0]
    out = []
    while todo:
        i = todo.pop()
        out.append(i)
        for j in np.flatnonzero(g[i]):
            indeg[j] -= 1
            if indeg[j] == 0:
                todo.append(int(j))
    assert len(out) == d, "not a DAG"
    return out


def posterior_scores(graphs: np.ndarray, weights: np.ndarray, g_true: np.ndarray) -> dict:
    """E-SHD (acyclic samples, renormalised), AUROC of the edge marginals, fraction cyclic."""
    from evaluation import metrics as M

    graphs = np.asarray(graphs).astype(np.int8)
    weights = np.asarray(weights, dtype=np.float64)
    weights = weights / weights.sum()
    eshd, all_cyc = M.expected_shd(graphs, weights, g_true)
    return {"eshd": eshd, "auroc": M.auroc(M.edge_marginals(graphs, weights), g_true),
            "frac_cyclic": float(M.frac_cyclic(graphs, weights)),
            "all_cyclic": bool(all_cyc)}


def peak_matmul_gflops(threads: int, n: int = 1024, reps: int = 5) -> dict:
    """Measured float32 / float64 matmul peak of torch on this machine (GFLOP/s)."""
    import torch

    out = {}
    for dt in (torch.float32, torch.float64):
        a, b = torch.randn(n, n, dtype=dt), torch.randn(n, n, dtype=dt)
        a @ b
        best = float("inf")
        for _ in range(reps):
            t0 = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - t0)
        out[str(dt).replace("torch.", "")] = 2 * n ** 3 / best / 1e9
    return out


def machine() -> dict:
    import torch

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "python": platform.python_version(),
            "torch": torch.__version__, "numpy": np.__version__,
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"}
    for mod, name in (("jax", "jax"), ("dibs", "dibs-lib"), ("castle", "gcastle")):
        info[name] = peer_version(mod, name)
    return info


def peer_version(module: str, dist: str) -> str:
    from importlib import metadata
    from importlib.util import find_spec

    if find_spec(module) is None:
        return "not installed"
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "installed"


def peak_rss_mib() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fmt_table(rows: list[dict], cols: list[str]) -> str:
    def f(v):
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
        return str(v)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(f(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def report(rows: list[dict], cols: list[str], args) -> None:
    """Print the table of ``rows`` (the columns any row has) and, with ``--json``, save the
    rows with the arguments and the machine description."""
    import json
    from pathlib import Path

    print(fmt_table(rows, [c for c in cols if any(c in r for r in rows)]))
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "machine": machine(), "rows": rows}, indent=1))
