"""The JAX reference implementation of DiBS with BGe (dibs-lib, Lorch et al., NeurIPS 2021),
as a method plugin, so that a study can put it beside our torch DiBS on the same data.

dibs-lib and jax are optional (``pip install -e '.[reference]'``); without them the
plugin declines every dataset with that instruction as its reason (the fit is recorded as
skipped, not failed). It runs the library as its users do: ``MarginalDiBS`` with the
library's own defaults for BGe (α(t) = 1.0 · t, kernel bandwidth h = 5, RMSProp 0.005,
score-function estimator, 128 / 32 Monte Carlo samples), 30 particles and the paper's
3000 steps.
"""
from __future__ import annotations

import math
import os
import time

import numpy as np

from methods.base import GraphPosterior, Method
from simulators.base import Dataset

INSTALL = "needs dibs-lib and jax (pip install -e '.[reference]')"


def reference_installed() -> bool:
    from importlib.util import find_spec

    return find_spec("dibs") is not None and find_spec("jax") is not None


def library_edges_per_node(d: int, edges_per_node: float) -> float:
    """The ``n_edges_per_node`` that gives dibs-lib's Erdős–Rényi prior (edge probability
    2E / (d(d − 1)) for E = n_edges_per_node · d) our prior's edge probability
    min(edges_per_node · d / (d(d − 1)/2), 0.5) (``torchdibs.priors.ErdosRenyiPrior``)."""
    from torchdibs.priors import ErdosRenyiPrior

    n_pairs = d * (d - 1) / 2
    if n_pairs == 0:
        return float(edges_per_node)
    return ErdosRenyiPrior(n_vars=d, edges_per_node=edges_per_node).p * n_pairs / d


class DibsReference(Method):
    """dibs-lib's MarginalDiBS (BGe), the reference our ``dibs_bge`` is measured against.

    Parameters:
        steps, n_particles: SVGD steps and particles (the paper's 3000 × 30).
        posterior: 'dibs' (``get_empirical``: particles weighted by count) or 'dibs+'
            (``get_mixture``: each particle weighted by p(D | G), normalised; the library
            leaves the graph prior out and counts a graph held by several particles once
            per particle; identical graphs are merged here, their weights summed).
        alpha_slope, beta_slope, h_latent, lr, n_grad_samples, n_acyclic_samples: the
            library's ``alpha_linear``, ``beta_linear``, kernel ``h``, RMSProp step size,
            ``n_grad_mc_samples``, ``n_acyclicity_mc_samples``.
        edges_per_node: the Erdős–Rényi graph prior's expected edges per node, with the
            edge probability capped at 0.5 as in ``dibs_bge`` (the library's own p =
            2E / (d(d − 1)) exceeds 1 for d ≤ 4 at 2 edges per node); passed to the
            library as the equivalent edge count.
        chunk: steps per compiled SVGD loop (the library's ``callback_every``); each chunk
            is timed. JAX compiles the loop during the first chunk, so
            ``info['compile_seconds']`` = first chunk − median chunk, and
            ``info['seconds']`` is the SVGD loop's wall time less that (NaN / all of it
            when there is a single chunk); ``info['posterior_seconds']`` is the time of
            ``get_empirical`` / ``get_mixture`` after it.

    BGe hyperparameters are the library's (α_μ = 1, α_λ = d + 2, as ``dibs_bge``).
    Data are passed in float32 (the library's default); the graphs may be cyclic.
    """

    name = "dibs_reference"
    defaults = {"steps": 3000, "n_particles": 30, "posterior": "dibs", "alpha_slope": 1.0,
                "beta_slope": 1.0, "h_latent": 5.0, "lr": 0.005, "n_grad_samples": 128,
                "n_acyclic_samples": 32, "edges_per_node": 2.0, "chunk": 100}
    choices = {"posterior": ("dibs", "dibs+")}

    @classmethod
    def check_params(cls, params):
        out = [f"parameter '{k}' = {params[k]!r} must be > 0"
               for k in ("steps", "n_particles", "alpha_slope", "h_latent", "lr", "n_grad_samples",
                         "n_acyclic_samples", "edges_per_node", "chunk")
               if k in params and not params[k] > 0]
        if params.get("beta_slope", 0) < 0:
            out.append(f"parameter 'beta_slope' = {params['beta_slope']!r} must be >= 0")
        return out

    def skip(self, data: Dataset) -> str | None:
        return None if reference_installed() else INSTALL

    def fit(self, data: Dataset, *, seed: int) -> GraphPosterior:
        p = self.params
        if int(self.threads or 1) == 1 and "multi_thread_eigen" not in os.environ.get("XLA_FLAGS", ""):
            # XLA reads this when jax is first imported; one thread, as the harness gives torch
            os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                       " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
        import jax
        import jax.numpy as jnp
        from dibs.inference import MarginalDiBS
        from dibs.models import BGe, ErdosReniDAGDistribution
        from jax import random

        d = data.d
        graph_model = ErdosReniDAGDistribution(n_vars=d, n_edges_per_node=library_edges_per_node(
            d, p["edges_per_node"]))
        x = jnp.asarray(data.x, dtype=jnp.float32)
        mask = None if data.interv_mask is None else jnp.asarray(data.interv_mask, dtype=jnp.int32)
        dibs = MarginalDiBS(x=x, interv_mask=mask, graph_model=graph_model, likelihood_model=BGe(n_vars=d),
                            kernel_param={"h": float(p["h_latent"])}, optimizer_param={"stepsize": float(p["lr"])},
                            alpha_linear=float(p["alpha_slope"]), beta_linear=float(p["beta_slope"]),
                            n_grad_mc_samples=int(p["n_grad_samples"]),
                            n_acyclicity_mc_samples=int(p["n_acyclic_samples"]))
        chunk = int(min(p["chunk"], p["steps"]))
        steps = -(-int(p["steps"]) // chunk) * chunk  # whole chunks
        stamps = [time.perf_counter()]

        def tick(*, zs, **_):  # called after each compiled chunk; waits for it to finish
            zs.block_until_ready()
            stamps.append(time.perf_counter())

        g = dibs.sample(key=random.PRNGKey(seed), n_particles=int(p["n_particles"]), steps=steps,
                        callback=tick, callback_every=chunk)
        t_svgd = time.perf_counter()
        dist = dibs.get_empirical(g) if p["posterior"] == "dibs" else dibs.get_mixture(g)
        per_chunk = np.diff(stamps)  # [steps / chunk] s; the first one includes JAX's compilation
        compile_s = max(0.0, per_chunk[0] - float(np.median(per_chunk[1:]))) if len(per_chunk) > 1 else float("nan")
        seconds = stamps[-1] - stamps[0] - (0.0 if math.isnan(compile_s) else compile_s)
        graphs = np.asarray(dist.g).astype(np.int8)
        weights = np.exp(np.asarray(dist.logp, dtype=np.float64))
        uniq, inverse = np.unique(graphs.reshape(len(graphs), -1), axis=0, return_inverse=True)
        merged = np.bincount(inverse.ravel(), weights=weights, minlength=len(uniq))
        info = {"seconds": seconds, "compile_seconds": compile_s,
                "posterior_seconds": time.perf_counter() - t_svgd, "steps": steps,
                "posterior": p["posterior"], "n_graphs": int(len(uniq)), "jax_backend": jax.default_backend()}
        return GraphPosterior(graphs=uniq.reshape(-1, d, d).astype(np.int8), weights=merged / merged.sum(),
                              may_be_cyclic=True, info=info)
