"""MC3: structure MCMC over DAGs with the BGe score (Madigan & York 1995; moves as in
Giudici & Castelo 2003), the standard Bayesian baseline of the DiBS paper.

The sampler is ``dagposterior.mcmc.mc3``; the local scores (BGe with the DiBS plugins'
hyperparameters, plus the graph prior) are ``dagposterior.scores.LocalScores``, so mc3,
the DiBS plugins and the exact posterior (method ``exact``) target the same p(G | D).
"""
from __future__ import annotations

import numpy as np

from methods.base import GraphPosterior, Method
from simulators.base import Dataset

#: the graph priors of ``dagposterior.scores.GRAPH_PRIORS`` (spelt out here so that
#: listing the plugins imports nothing; tests/test_mc3.py checks they agree)
GRAPH_PRIORS = ("er", "sf", "uniform")


class MC3(Method):
    """Structure MCMC (MC3) with BGe: uniform add / delete / reverse proposals with the
    Hastings factor |nbd(G)| / |nbd(G')|, independent chains from the empty graph.

    Parameters:
        steps: Metropolis–Hastings steps per chain. The default 100000 (about 5 s per
            chain at d = 10, 10 s at d = 20, one core): on the default benchmark's data
            (d = 10, 1 edge per node, 100 rows) two chains of 20000 steps disagreed on
            some edge marginal by 0.19 to 1.0 (an orientation one chain never flipped),
            of 100000 steps by 0.05 to 0.4, of 300000 by about 0.1; structure MCMC
            mixes slowly between DAGs that differ in several edge orientations, so
            check ``info['max_edge_marginal_diff']`` and raise ``steps`` when it is
            large. On the broad posteriors of tests/test_mc3.py (d = 4, 5; 20 rows) the
            edge indicators' autocorrelation time is 30 to 120 steps.
        burn_in: the fraction of each chain's steps discarded at its start, in [0, 1)
            (0.5: the first half); a fraction so that it stays valid when ``steps``
            changes.
        thin: keep every thin-th state after the burn-in, counted back from the last
            step (each chain keeps ceil(steps · (1 − burn_in) / thin) states: 1000 by
            default, about the autocorrelation time apart).
        n_chains: independent chains; their samples are pooled. With >= 2, info reports
            ``max_edge_marginal_diff`` (max |p_a(i -> j) − p_b(i -> j)| over chain pairs)
            and ``rhat_log_score``, which expose non-convergence.
        max_parents: in-degree limit of every sampled DAG (0 = no limit); a limit
            changes the target to p(G | D) restricted to such DAGs.
        graph_prior: 'er' (Erdős–Rényi, as the DiBS plugins), 'sf' (scale-free) or
            'uniform'.
        edges_per_node: expected edges per node of the 'er' prior.

    Models interventions: rows with ``interv_mask`` set leave the intervened node's
    term out of its BGe score, as in DiBS. Returns the pooled samples with uniform
    weights (duplicates kept, so a DAG's weight is its sample frequency);
    ``may_be_cyclic`` is False (every sample is a DAG by construction).
    """

    name = "mc3"
    uses_interventions = True
    defaults = {"steps": 100000, "burn_in": 0.5, "thin": 50, "n_chains": 2, "max_parents": 0,
                "graph_prior": "er", "edges_per_node": 2.0}
    choices = {"graph_prior": GRAPH_PRIORS}

    @classmethod
    def check_params(cls, params):
        out = []
        for key in ("steps", "thin", "n_chains"):
            if params[key] < 1:
                out.append(f"parameter '{key}' = {params[key]!r} must be >= 1")
        if params["max_parents"] < 0:
            out.append(f"parameter 'max_parents' = {params['max_parents']!r} must be >= 0 (0 = no limit)")
        if not 0 <= params["burn_in"] < 1:
            out.append(f"parameter 'burn_in' = {params['burn_in']!r} must be a fraction of steps in [0, 1)")
        if not params["edges_per_node"] > 0:
            out.append(f"parameter 'edges_per_node' = {params['edges_per_node']!r} must be > 0")
        return out

    def burn_in_steps(self) -> int:
        """The burn-in as a step count: floor(burn_in · steps) (< steps)."""
        return int(self.params["burn_in"] * self.params["steps"])

    def fit(self, data: Dataset, *, seed: int) -> GraphPosterior:
        import torch
        from threadpoolctl import threadpool_limits

        from dagposterior.mcmc import mc3
        from dagposterior.scores import LocalScores

        p = self.params
        threads = max(1, int(self.threads or 1))
        prev = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            with threadpool_limits(limits=threads):
                scores = LocalScores(data.x, data.interv_mask if data.is_interventional else None,
                                     graph_prior=p["graph_prior"], edges_per_node=p["edges_per_node"])
                res = mc3(scores, steps=p["steps"], burn_in=self.burn_in_steps(), thin=p["thin"],
                          n_chains=p["n_chains"], max_parents=p["max_parents"], seed=int(seed))
        finally:
            torch.set_num_threads(prev)
        k = len(res.graphs)
        info = {**res.info, "graph_prior": p["graph_prior"]}
        return GraphPosterior(graphs=res.graphs, weights=np.full(k, 1.0 / k), may_be_cyclic=False,
                              info=info)
