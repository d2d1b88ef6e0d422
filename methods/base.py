"""The GraphPosterior contract and the Method plugin base.

Every method returns a GraphPosterior; evaluation consumes nothing else and has no
per-method branches. Convention: ``g[i, j] = 1`` means the edge i -> j.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from dagbench.io import atomic_write_npz
from dagbench.plugins import Plugin, discover, find
from simulators.base import Dataset

# (x [m, d], interv_mask [m, d] bool) -> log p(x_row | G_k, theta_k) as [K, m]; the
# terms of intervened nodes are left out.
LogDensity = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class GraphPosterior:
    """A weighted set of DAGs, the one result type of every method.

    Fields:
        graphs: [K, d, d] int8 DAG samples (K = 1 for point methods).
        weights: [K] float64, non-negative, summing to 1.
        edge_probs: [d, d] float64 edge marginals; derived from graphs and weights
            when not given.
        cpdag: [d, d] int8 for methods whose answer is a Markov equivalence class:
            i -> j is ``cpdag[i, j] = 1, cpdag[j, i] = 0``; an undirected edge i - j is
            1 in both directions. Such an answer **is** the uniform distribution over
            the DAGs of its class: ``graphs`` and ``weights`` are filled in from it
            (every DAG of the class when it has at most ``dagbench.mec.MAX_ENUMERATE``
            = 1000, else ``dagbench.mec.N_SAMPLES`` = 1000 uniform draws, seeded by the
            CPDAG), and the edge marginals follow (for the chain A - B - C,
            p(A -> B) = 1/3). A PDAG is replaced by the CPDAG of its consistent
            extensions (``dagbench.mec.canonical_cpdag``; ``info['cpdag_changed']``
            says whether it differed). ``graphs`` given as well must be DAGs of the
            class; ``edge_probs``, ``linear_weights``, ``noise_vars`` and
            ``log_density`` cannot be given with a ``cpdag`` (they would belong to
            particular DAGs). ``info`` gets ``mec_size`` and ``mec_listed`` (all DAGs
            listed, or sampled). Raises ValueError for a cpdag that is not [d, d] or has
            no consistent DAG extension.
        linear_weights: [K, d, d] coefficients (``w[k, i, j]``: x_i in x_j's equation)
            and ``noise_vars`` [K, d]: a linear-Gaussian model per sample, used for the
            held-out likelihood.
        log_density: for any other model, a callable (x [m, d], interv_mask [m, d])
            -> [K, m] of per-row log densities under each sample's own parameters.
        may_be_cyclic: True for samplers whose samples may contain cycles (DiBS's
            graphs 1[U V^T > 0]); evaluation then excludes cyclic samples and reports
            their fraction. False means a cyclic graph is a bug and the fit fails.
        info: diagnostics worth keeping (iterations, final losses, ...), JSON-able.
    """

    graphs: np.ndarray | None = None
    weights: np.ndarray | None = None
    edge_probs: np.ndarray | None = None
    cpdag: np.ndarray | None = None
    linear_weights: np.ndarray | None = None
    noise_vars: np.ndarray | None = None
    log_density: LogDensity | None = None
    may_be_cyclic: bool = False
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.cpdag is not None:
            self._from_cpdag()
        if self.graphs is None:
            raise ValueError("GraphPosterior needs graphs [K, d, d] (or a cpdag)")
        self.graphs = np.asarray(self.graphs)
        if self.graphs.ndim == 2:
            self.graphs = self.graphs[None]
        if self.weights is None:
            self.weights = np.full(len(self.graphs), 1.0 / len(self.graphs))
        self.weights = np.asarray(self.weights, dtype=np.float64)

    def _from_cpdag(self) -> None:
        """graphs, weights and info from ``cpdag`` (see the class docstring)."""
        from dagbench.mec import canonical_cpdag, mec_distribution

        given = {k for k in ("edge_probs", "linear_weights", "noise_vars", "log_density")
                 if getattr(self, k) is not None}
        if given:
            raise ValueError(f"GraphPosterior: {', '.join(sorted(given))} cannot be given with a "
                             "cpdag: the answer is the uniform distribution over its class")
        raw = np.asarray(self.cpdag)
        if raw.ndim != 2 or raw.shape[0] != raw.shape[1]:
            raise ValueError(f"GraphPosterior: cpdag has shape {raw.shape}, expected [d, d]")
        if not np.isin(raw, (0, 1)).all():
            raise ValueError("GraphPosterior: cpdag has entries other than 0 and 1")
        if np.diag(raw).any():
            raise ValueError("GraphPosterior: cpdag has self-loops (diagonal entries)")
        cpdag = canonical_cpdag(raw)                                   # [d, d] int8
        mec = mec_distribution(cpdag)
        if self.graphs is not None:
            from dagbench.graphs import dag_to_cpdag, is_dag

            g = np.asarray(self.graphs)
            for k, gk in enumerate((g[None] if g.ndim == 2 else g) != 0):
                if gk.shape != cpdag.shape or not is_dag(gk) or not np.array_equal(dag_to_cpdag(gk), cpdag):
                    raise ValueError(f"GraphPosterior: graphs[{k}] is not a DAG of the cpdag's "
                                     "Markov equivalence class")
        self.cpdag = cpdag
        self.graphs, self.weights = mec.graphs, mec.weights
        self.info = {**self.info, "mec_size": int(mec.size), "mec_listed": bool(mec.exact),
                     "cpdag_changed": bool(not np.array_equal((raw != 0).astype(np.int8), cpdag))}

    @property
    def d(self) -> int:
        return self.graphs.shape[-1]

    def marginals(self) -> np.ndarray:
        """[d, d] edge probabilities: the given ones, else sum_k w_k G_k over the
        acyclic samples with their weights renormalised (the same posterior over DAGs
        that E-SHD scores). When no acyclic sample carries weight, all 0: such an
        answer is scored as the empty graph on every metric."""
        if self.edge_probs is not None:
            return np.asarray(self.edge_probs, dtype=np.float64)
        from dagbench.graphs import is_dag

        w = self.weights
        if self.may_be_cyclic:
            acyclic = np.array([is_dag(g) for g in self.graphs])
            if not (acyclic.any() and w[acyclic].sum() > 0):
                return np.zeros((self.d, self.d))
            w = np.where(acyclic, w, 0.0) / w[acyclic].sum()
        return np.einsum("k,kij->ij", w, self.graphs.astype(np.float64))

    def problems(self, d: int) -> list[str]:
        """Every way this posterior breaks the contract for a d-node problem."""
        from dagbench.graphs import is_dag

        g = self.graphs
        out = []
        if g.ndim != 3 or g.shape[1:] != (d, d) or len(g) == 0:
            return [f"graphs has shape {g.shape}, expected [K, {d}, {d}] with K >= 1"]
        if not np.issubdtype(g.dtype, np.integer) and g.dtype != bool:
            out.append(f"graphs has dtype {g.dtype}, expected an integer type")
        if not np.isin(g, (0, 1)).all():
            out.append("graphs has entries other than 0 and 1")
        if self.weights.shape != (len(g),):
            out.append(f"weights has shape {self.weights.shape}, expected ({len(g)},)")
        elif not np.isfinite(self.weights).all():
            out.append("weights has NaN or inf")
        elif (self.weights < 0).any() or abs(self.weights.sum() - 1) > 1e-6:
            out.append(f"weights must be non-negative and sum to 1 (sum = {self.weights.sum():.6g})")
        for key in ("edge_probs", "cpdag", "linear_weights", "noise_vars"):
            arr = getattr(self, key)
            if arr is None:
                continue
            arr = np.asarray(arr)
            want = {"edge_probs": (d, d), "cpdag": (d, d), "linear_weights": (len(g), d, d),
                    "noise_vars": (len(g), d)}[key]
            if arr.shape != want:
                out.append(f"{key} has shape {arr.shape}, expected {list(want)}")
            elif not np.isfinite(arr).all():
                out.append(f"{key} has NaN or inf")
        if self.edge_probs is not None and not out:
            p = np.asarray(self.edge_probs)
            if (p < 0).any() or (p > 1).any():
                out.append("edge_probs has values outside [0, 1]")
        if self.noise_vars is not None and not out and (np.asarray(self.noise_vars) <= 0).any():
            out.append("noise_vars has non-positive entries")
        if not out and not self.may_be_cyclic:
            cyclic = [k for k in range(len(g)) if not is_dag(g[k])]
            if cyclic:
                out.append(f"{len(cyclic)} of {len(g)} returned graphs have a cycle "
                           f"(first: sample {cyclic[0]}); a method whose samples may be "
                           "cyclic must say so with may_be_cyclic=True")
        return out

    def save(self, path: str | Path, *, logp_heldout: np.ndarray | None = None) -> None:
        """Write the arrays to ``path`` (.npz), atomically. ``logp_heldout`` [K, m] is
        the model's own held-out log density per sample and row, when it has one."""
        arrays = {"graphs": self.graphs.astype(np.int8), "weights": self.weights,
                  "edge_probs": self.marginals()}
        for key in ("cpdag", "linear_weights", "noise_vars"):
            if getattr(self, key) is not None:
                arrays[key] = np.asarray(getattr(self, key))
        if logp_heldout is not None:
            arrays["logp_heldout"] = np.asarray(logp_heldout, dtype=np.float64)
        atomic_write_npz(path, arrays)

    @staticmethod
    def load_arrays(path: str | Path) -> dict[str, np.ndarray]:
        """The arrays ``save`` wrote, as {name: array}."""
        with np.load(path) as f:
            return {k: f[k] for k in f.files}


class Method(Plugin):
    """Base of method plugins: one file in methods/, one subclass each.

    Subclasses set ``name`` and ``defaults`` (every parameter, typed by its default)
    and implement ``fit(data, seed=...)``. Import heavy libraries inside ``fit``, so
    that listing plugins stays fast. ``self.params`` holds the resolved parameters.
    Methods must not read ``data.g_true`` or the held-out rows (the random-DAG floor
    reads only the true edge count, by design). ``self.threads`` is the number of
    CPU threads the harness gives the fit.
    """

    threads: int = 1
    #: True when ``fit`` models interventions (reads ``data.interv_mask``). Methods that
    #: do not are given only the observational training rows of interventional data,
    #: and the score table says so (column ``rows_used``).
    uses_interventions: bool = False

    @classmethod
    def kind(cls) -> str:
        return "method"

    def min_rows(self, d: int) -> int:
        """The fewest training rows the method can work with on d variables; the
        harness refuses smaller datasets with a clear message before calling ``fit``."""
        return 2

    def skip(self, data: Dataset) -> str | None:
        """A reason not to run on ``data`` (e.g. 'needs observational data'), or None."""
        return None

    def fit(self, data: Dataset, *, seed: int) -> GraphPosterior:
        raise NotImplementedError


def registry() -> dict[str, type[Method]]:
    """{name: class} of every method plugin in methods/."""
    return discover("methods", Method)


def get(name: str) -> type[Method]:
    """The method plugin class called ``name`` (``dagbench.plugins.find``: only its own
    file is imported when that file is ``methods/<name>.py``); PluginError listing the known
    names when there is none."""
    return find("methods", Method, name)
