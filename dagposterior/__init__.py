"""Exact and sampled structure posteriors p(G | D) for small d, scored with BGe.

The reference every approximate posterior in the benchmark is compared with:

* ``dags``: every labelled DAG on d <= 6 nodes, as integer codes (cached per d);
* ``scores``: local (node, parent set) scores log p(D | pa_j) + log p(pa_j) with the
  same BGe hyperparameters and graph priors as the DiBS plugins (torchdibs);
* ``exact``: the exact posterior over all DAGs and what is computed from it;
* ``mcmc``: structure MCMC (MC3) on the same local scores.

The methods ``exact`` and ``mc3`` (methods/) and the posterior-quality scores
(evaluation/) use this package; nothing here imports the harness.
"""
from dagposterior.dags import MAX_D, all_dags, codes_to_graphs, graphs_to_codes
from dagposterior.exact import ExactPosterior, exact_posterior
from dagposterior.mcmc import MC3Result, mc3
from dagposterior.scores import GRAPH_PRIORS, LocalScores

__all__ = ["MAX_D", "all_dags", "codes_to_graphs", "graphs_to_codes", "ExactPosterior",
           "exact_posterior", "MC3Result", "mc3", "GRAPH_PRIORS", "LocalScores"]
