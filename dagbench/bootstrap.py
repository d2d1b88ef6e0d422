"""The nonparametric bootstrap, for any method: B resamples become a weighted set of DAGs.

This is how the DiBS paper (Lorch et al. 2021) built its bootstrap-GES and
bootstrap-PC baselines (after Friedman, Goldszmidt & Wyner 1999). The harness calls
``bootstrap_fit`` for a method entry of the config with ``bootstrap: B``; nothing in it
depends on which method is wrapped.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from methods.base import GraphPosterior, Method
from simulators.base import Dataset


def resample(data: Dataset, rng: np.random.Generator) -> Dataset:
    """``data`` with its n training rows drawn with replacement (each row's
    ``interv_mask`` travels with it). Held-out rows, the true graph (which the
    random-DAG floor reads for its edge count) and metadata are unchanged."""
    idx = rng.integers(0, data.n, size=data.n)                      # [n]
    return Dataset(x=data.x[idx], x_heldout=data.x_heldout, g_true=data.g_true,
                   interv_mask=data.interv_mask[idx], interv_mask_heldout=data.interv_mask_heldout,
                   node_names=data.node_names, params_true=data.params_true,
                   meta={**data.meta, "bootstrap_rows": True})


def bootstrap_fit(method: Method, data: Dataset, *, seed: int, n_boot: int) -> GraphPosterior:
    """Fit ``method`` on ``n_boot`` bootstrap resamples of ``data``.

    Resample b draws its rows and its fit seed from ``SeedSequence(seed)``'s b-th
    child, so the result depends only on ``seed`` and ``n_boot`` (and the first b
    resamples do not change when n_boot grows).

    Returns a GraphPosterior whose samples are all resamples' samples: resample b's
    sample k gets weight w_{b,k} / B (K = B for point methods). ``edge_probs`` is
    sum_b (1/B) marginals_b, so a CPDAG resample contributes 0.5 each way for an
    undirected edge (not the arbitrary orientation of its DAG extension).
    ``linear_weights`` / ``noise_vars`` are stacked when every resample gave them
    (otherwise evaluation fits its own); ``log_density`` callables are not combined
    (dropped), ``cpdag`` is None, and ``may_be_cyclic`` holds if it held for any
    resample. ``info`` counts what came back.
    """
    if not isinstance(n_boot, int) or isinstance(n_boot, bool) or n_boot < 1:
        raise ValueError(f"n_boot = {n_boot!r} must be an int >= 1")
    d = data.d
    children = np.random.SeedSequence(seed).spawn(n_boot)
    posts: list[GraphPosterior] = []
    for child in children:
        rows_seed, fit_seed = child.generate_state(2)
        boot = resample(data, np.random.default_rng(int(rows_seed)))
        post = method.fit(boot, seed=int(fit_seed))
        problems = post.problems(d)
        if problems:
            raise ValueError(f"method '{method.name}' broke the contract on a bootstrap "
                             f"resample: {'; '.join(problems)}")
        posts.append(post)

    graphs = np.concatenate([p.graphs.astype(np.int8) for p in posts])          # [K, d, d]
    weights = np.concatenate([p.weights / n_boot for p in posts])               # [K]
    weights = weights / weights.sum()
    edge_probs = sum(p.marginals() for p in posts) / n_boot                     # [d, d]
    edge_probs = np.clip(edge_probs, 0.0, 1.0)
    lin = noise = None
    if all(p.linear_weights is not None and p.noise_vars is not None for p in posts):
        lin = np.concatenate([np.asarray(p.linear_weights, dtype=np.float64) for p in posts])
        noise = np.concatenate([np.asarray(p.noise_vars, dtype=np.float64) for p in posts])
    n_unique = len({g.tobytes() for g in graphs})
    info: dict[str, Any] = {
        "n_boot": n_boot,
        "n_graphs": int(len(graphs)),
        "n_unique_graphs": n_unique,
        "n_with_cpdag": sum(p.cpdag is not None for p in posts),
        "n_with_linear_weights": sum(p.linear_weights is not None for p in posts),
        "n_with_log_density_dropped": sum(p.log_density is not None for p in posts),
        "resample_info": [p.info for p in posts],
    }
    return GraphPosterior(graphs=graphs, weights=weights, edge_probs=edge_probs,
                          linear_weights=lin, noise_vars=noise,
                          may_be_cyclic=any(p.may_be_cyclic for p in posts), info=info)
