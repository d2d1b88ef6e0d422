"""Score one fit against its dataset: the one function the workflow's evaluate step
calls (``score_fit``), with no per-method branches; and ``read_benchmark`` for the
cost of a fit from Snakemake's ``benchmark:`` file.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from dagbench.graphs import dag_to_cpdag
from evaluation.likelihood import heldout_scores, least_squares_fit_many, linear_gaussian_logpdf
from evaluation.metrics import (DIAGNOSTIC_KEYS, _acyclic_weights, _as_stack, _norm_weights, auprc,
                                auroc, brier_score, edge_marginals, expected_calibration_error,
                                intervention_distances, is_acyclic, posterior_diagnostics,
                                precision_recall_f1, shd_cpdag, shd_stack)
from evaluation.posterior_quality import EXACT_MAX_D, POSTERIOR_KEYS, exact_reference, posterior_quality
from simulators.base import Dataset

__all__ = ["SCORE_KEYS", "score_fit", "scored_edge_probs", "read_benchmark"]

#: Every key ``score_fit`` returns, in order.
SCORE_KEYS = ("shd", "e_shd", "shd_map", "shd_cpdag", "auroc", "auprc", "precision", "recall",
              "f1", "brier", "ece", "sid", "parent_aid", "ancestor_aid", "ll_heldout", "ell_heldout",
              "ll_heldout_interv", "ll_source", "ll_note", "frac_cyclic", "frac_cyclic_unweighted",
              "all_cyclic") + DIAGNOSTIC_KEYS + ("n_edges_est", "n_edges_true", "var_sortability",
              "r2_sortability") + POSTERIOR_KEYS
#: The keys that compare with the true graph: NaN for data whose graph is unknown.
GRAPH_SCORE_KEYS = ("shd", "e_shd", "shd_map", "shd_cpdag", "auroc", "auprc", "precision",
                    "recall", "f1", "brier", "ece", "sid", "parent_aid", "ancestor_aid",
                    "n_edges_true", "var_sortability", "r2_sortability") + POSTERIOR_KEYS


def score_fit(fit: dict[str, np.ndarray], data: Dataset, *,
              exact_posterior: dict | None = None) -> dict[str, float | bool | str]:
    """All scores of one fit (the arrays ``GraphPosterior.save`` writes) on ``data``.

    ``exact_posterior``: the setting's option of that name (``graph_prior``,
    ``edges_per_node``), or None. When given and d <= 6, the fit is also scored against
    the exact BGe posterior of ``data``'s training rows under that prior
    (``evaluation.posterior_quality``); otherwise those keys are NaN.

    Let A be the acyclic samples of ``graphs`` and w~ their weights renormalised to sum
    1 (cyclic samples are excluded from every graph score and from the likelihood). If
    A carries no weight, the fit is scored as the empty graph and ``all_cyclic`` is True.

    Returns a flat, JSON-able dict:
        e_shd: sum_{k in A} w~_k SHD(G_k, G*), reversal = 1 (``metrics.expected_shd``).
        shd: the same number as e_shd (the headline SHD is the expected one; for a
            point method, K = 1, it is simply that graph's SHD).
        shd_map: SHD of the highest-weight acyclic graph, the weights of identical
            samples summed; when several graphs share the highest weight (e.g. the DAGs
            of one equivalence class), the mean of their SHDs, so no tie is broken by
            column order.
        shd_cpdag: SHD between CPDAGs; the fit's ``cpdag`` vs CPDAG(G*) when the fit has
            one, else sum_{k in A} w~_k SHD(CPDAG(G_k), CPDAG(G*)).
        auroc, auprc: of the edge marginals of :func:`scored_edge_probs` (``edge_probs``
            as saved, i.e. ``GraphPosterior.marginals``; all 0 when all cyclic) over the
            off-diagonal entries; auprc is average precision; NaN if G* is empty.
        precision, recall, f1: of the graph {p_ij > 0.5} (``metrics.precision_recall_f1``).
        brier: calibration of the same edge marginals, (1/N) sum_{i != j} (p_ij - G*_ij)^2
            over the N = d(d-1) off-diagonal entries (``metrics.brier_score``).
        ece: expected calibration error of the same marginals, 10 equal-width bins on
            [0, 1] (last bin right-closed), sum_b (n_b / N) |mean p in b - share of true
            edges in b| (``metrics.expected_calibration_error``). Both need no exact
            posterior; both are defined for an empty G*.
        sid, parent_aid, ancestor_aid: intervention distances to G*, counts of mistaken
            (treatment, effect) pairs out of d(d-1), by the ``gadjid`` package
            (``metrics.intervention_distances``): SID (Peters & Bühlmann 2015) and the
            Parent- and Ancestor-AID (Henckel, Würtzen & Weichwald 2024), each
            sum_{k in A} w~_k D(G_k, G*), once per distinct graph (the empty graph when all
            cyclic). For a fit with a ``cpdag``, parent_aid and ancestor_aid are gadjid's
            values for the CPDAG itself as the guess (a pair the class does not identify
            is a mistake), while sid, defined for DAG guesses only, is the mean over the
            DAGs of the class. For a DAG guess parent_aid equals sid.

    Equivalence-class answers (PC, GES, any method giving a ``cpdag``) arrive here as the
    uniform distribution over the DAGs of their class (``GraphPosterior``), so E-SHD,
    the edge marginals and everything derived from them are expectations over the class
    and do not depend on column order; shd_cpdag compares the class's CPDAG.
    All-cyclic answers follow one rule on every metric: they are the empty graph.
        ll_heldout: (1/m) sum_r log sum_{k in A} w~_k p(x_r | G_k, theta_k), nats per row.
        ell_heldout: sum_{k in A} w~_k (1/m) sum_r log p(x_r | G_k, theta_k).
        ll_heldout_interv: ll_heldout over the held-out rows that carry an intervention
            (the interventional held-out likelihood; NaN when the split has none).
        ll_source: where theta_k comes from: 'model' (the fit's ``logp_heldout`` [K, m]),
            'linear' (its ``linear_weights``/``noise_vars``) or 'least_squares' (a
            least-squares linear-Gaussian fit of G_k on the training rows; also used for
            the empty graph when all samples are cyclic).
        ll_note: '' normally; otherwise why the likelihoods are NaN: a least-squares
            refit that is degenerate (a node its parents determine exactly, or with no
            more rows than parents; ``likelihood.least_squares_fit``) is refused, never
            scored through a variance floor.
        frac_cyclic: posterior mass on cyclic samples, sum_k w_k 1[G_k cyclic].
        frac_cyclic_unweighted: fraction of the K samples that are cyclic.
        all_cyclic: True when the acyclic samples carry no weight (bool).
        n_graphs, n_distinct_dags, ess, ess_distinct: how many graphs the posterior
            rests on (``metrics.posterior_diagnostics``): K; the distinct DAGs among the
            samples (cyclic ones left out, any weight); Kish's effective sample size
            (sum w)^2 / sum w^2 of the acyclic samples' weights, duplicates apart; and the
            same over the distinct DAGs, the weights of duplicates summed (ess_distinct
            near 1 with ess or n_graphs large: the posterior has collapsed onto one
            graph). ess and ess_distinct are 0 when all_cyclic. Properties of the fit,
            not of G*: finite also when the dataset's graph is unknown.
        n_edges_est: expected edge count sum_{k in A} w~_k |G_k| (0 when all cyclic).
        n_edges_true: edges of G*.
        var_sortability, r2_sortability: properties of the dataset, not of the fit: the
            share of (cause, effect) pairs along G*'s directed paths whose marginal variance
            (resp. R² given all other columns) increases from cause to effect, on the
            observational training rows as the methods see them (after standardisation,
            where the setting standardises: variances then tie, 0.5); 1 means sorting by
            that score gives the causal order away (``evaluation.sortability``, Reisach et
            al. 2021, 2023). Scores equal within 1e-9 of the largest count as ties.
        edge_mae, tv, kl, e_shd_gap, mec_mass, exact_e_shd, exact_mec_mass: the distances
            to the exact posterior (``posterior_quality.posterior_quality``), computed on
            the same acyclic support and weights and the same edge marginals as above.
    The keys in GRAPH_SCORE_KEYS are NaN when the dataset's graph is unknown
    (``data.meta['graph_known']`` False, e.g. a user CSV without a graph file).
    """
    g_true = np.asarray(data.g_true)
    d = g_true.shape[0]
    graphs = _as_stack(np.asarray(fit["graphs"]))
    if graphs.shape[1:] != (d, d):
        raise ValueError(f"fit graphs have shape {graphs.shape}, data has d = {d}")
    K = len(graphs)
    weights = _norm_weights(fit.get("weights"), K)

    # distinct graphs, so each is checked, scored and fitted once
    uniq, inverse = np.unique(graphs.reshape(K, -1) != 0, axis=0, return_inverse=True)
    uniq = uniq.reshape(-1, d, d).astype(np.int8)             # [U, d, d]
    inverse = np.asarray(inverse).reshape(-1)                 # [K]
    w_u = np.bincount(inverse, weights=weights, minlength=len(uniq))  # [U]
    acyclic_u = is_acyclic(uniq)                               # [U]
    wt = np.where(acyclic_u, w_u, 0.0)                         # [U], cyclic ones 0
    all_cyclic = not wt.sum() > 0
    if all_cyclic:
        support = np.zeros((1, d, d), np.int8)
        w_sup = np.ones(1)
    else:
        keep = wt > 0
        support, w_sup = uniq[keep], wt[keep] / wt.sum()       # [S, d, d], [S]

    shds = shd_stack(support, g_true).astype(np.float64)     # [S]
    e_shd = float(w_sup @ shds)
    shd_map = float(shds[np.isclose(w_sup, w_sup.max(), rtol=1e-9, atol=0)].mean())
    c_true = dag_to_cpdag(g_true)
    if fit.get("cpdag") is not None:
        s_cpdag = float(shd_cpdag(fit["cpdag"], c_true))
    else:
        s_cpdag = _expected_shd_cpdag(support, w_sup, c_true)

    p = scored_edge_probs(fit, all_cyclic=all_cyclic)
    precision, recall, f1 = precision_recall_f1(p, g_true)
    graph_known = data.meta.get("graph_known", True)
    if graph_known:  # (gadjid needs the true DAG; the keys are NaN below otherwise)
        interv = intervention_distances(g_true, support, w_sup, cpdag=fit.get("cpdag"))
    else:
        interv = dict.fromkeys(("sid", "parent_aid", "ancestor_aid"), float("nan"))

    ll, source, ll_note = _heldout(fit, data, acyclic_u[inverse], weights, support, w_sup, all_cyclic)

    scores = {
        "shd": e_shd,
        "e_shd": e_shd,
        "shd_map": shd_map,
        "shd_cpdag": s_cpdag,
        "auroc": auroc(p, g_true),
        "auprc": auprc(p, g_true),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "brier": brier_score(p, g_true),
        "ece": expected_calibration_error(p, g_true),
        "sid": interv["sid"],
        "parent_aid": interv["parent_aid"],
        "ancestor_aid": interv["ancestor_aid"],
        "ll_heldout": ll["ll_heldout"],
        "ell_heldout": ll["ell_heldout"],
        "ll_heldout_interv": ll["ll_heldout_interv"],
        "ll_source": source,
        "ll_note": ll_note,
        "frac_cyclic": float(w_u[~acyclic_u].sum() / w_u.sum()),
        "frac_cyclic_unweighted": float(np.mean(~acyclic_u[inverse])),
        "all_cyclic": bool(all_cyclic),
        **posterior_diagnostics(graphs, weights),
        "n_edges_est": float(w_sup @ support.reshape(len(support), -1).sum(axis=1)),
        "n_edges_true": float(np.count_nonzero(g_true)),
        **_sortability(data, g_true),
    }
    scores.update(dict.fromkeys(POSTERIOR_KEYS, float("nan")))
    if exact_posterior and graph_known and d <= EXACT_MAX_D:
        exact = exact_reference(data.x, data.interv_mask, graph_prior=exact_posterior["graph_prior"],
                                edges_per_node=exact_posterior["edges_per_node"])
        scores.update(posterior_quality(exact, support, w_sup, p, g_true, e_shd=e_shd))
    if not graph_known:  # user data without a true graph
        scores.update({k: float("nan") for k in GRAPH_SCORE_KEYS})
    return scores


def _sortability(data: Dataset, g_true: np.ndarray) -> dict[str, float]:
    """var_sortability and r2_sortability of ``data``'s observational training rows."""
    from evaluation.sortability import order_alignment, r2_scores

    x = np.asarray(data.x, dtype=np.float64)
    if data.interv_mask is not None:
        x = x[~np.asarray(data.interv_mask).any(axis=1)]
    if len(x) < 3 or not np.any(g_true):
        return {"var_sortability": float("nan"), "r2_sortability": float("nan")}
    out = {}
    for key, score in (("var_sortability", np.var(x, axis=0)), ("r2_sortability", r2_scores(x))):
        tol = 1e-9 * float(np.max(np.abs(score))) if np.all(np.isfinite(score)) else 0.0
        out[key] = order_alignment(g_true, score, tol=tol)
    return out


def _expected_shd_cpdag(support: np.ndarray, w_sup: np.ndarray, c_true: np.ndarray) -> float:
    """sum_k w_k SHD(CPDAG(G_k), c_true), with one CPDAG and one SHD per equivalence class
    of the support (the DAGs of a class share skeleton and v-structures)."""
    cpdags = _CpdagCache()
    by_class: dict[bytes, float] = {}
    for wk, g in zip(w_sup, support):
        key = cpdags.key(g)
        by_class[key] = by_class.get(key, 0.0) + float(wk)
        cpdags(g)
    return float(sum(wk * shd_cpdag(cpdags.cache[key], c_true) for key, wk in by_class.items()))


class _CpdagCache:
    """CPDAG(G) of DAGs, computed once per (skeleton, v-structures): two DAGs with the
    same skeleton and v-structures have the same CPDAG (Verma & Pearl 1990), and the DAGs
    of a posterior over equivalence classes share a few of them."""

    def __init__(self):
        self.cache: dict[bytes, np.ndarray] = {}

    @staticmethod
    def key(g: np.ndarray) -> bytes:
        """Skeleton and v-structure edges of DAG g [d, d]: equal for Markov-equivalent DAGs."""
        g = (np.asarray(g) != 0).astype(np.int64)
        skel = g | g.T
        nonadj = 1 - skel - np.eye(len(g), dtype=np.int64)
        v = g & ((nonadj @ g) > 0)                          # a -> j with another parent of j not adjacent to a
        return skel.astype(bool).tobytes() + v.astype(bool).tobytes()

    def __call__(self, g: np.ndarray) -> np.ndarray:
        key = self.key(g)
        if key not in self.cache:
            self.cache[key] = dag_to_cpdag(g)
        return self.cache[key]


def scored_edge_probs(fit: dict[str, np.ndarray], *, all_cyclic: bool | None = None) -> np.ndarray:
    """[d, d] float64 edge marginals that every edge score (AUROC, AUPRC, precision,
    recall, F1, the ROC figure) uses for a fit's arrays.

    The fit's ``edge_probs`` when it saved them, else sum_k w_k G_k. One rule for an
    all-cyclic answer (no acyclic sample carries weight): it is scored as the empty
    graph on every metric, so its edge marginals are all 0 (AUROC 0.5, AUPRC the share
    of true edges, precision, recall and F1 of the empty graph), whatever it saved.
    ``all_cyclic``: that flag when the caller has it already (else computed here).
    Raises ValueError for graphs that are not [K, d, d].
    """
    graphs = _as_stack(np.asarray(fit["graphs"]))
    weights = _norm_weights(fit.get("weights"), len(graphs))
    d = graphs.shape[-1]
    if all_cyclic is None:
        all_cyclic = _acyclic_weights(graphs, weights)[1]
    if all_cyclic:
        return np.zeros((d, d))
    p = fit.get("edge_probs")
    return edge_marginals(graphs, weights) if p is None else np.asarray(p, dtype=np.float64)


def _heldout(fit, data, acyc, weights, support, w_sup, all_cyclic):
    """(heldout_scores dict plus ``ll_heldout_interv``, ll_source, ll_note) over the acyclic
    samples (see score_fit). ``ll_heldout_interv`` is ``ll_heldout`` restricted to the
    held-out rows with an intervention (NaN when there are none)."""
    x_ho, mask_ho = data.x_heldout, data.interv_mask_heldout
    m = len(x_ho)
    logp, w, source = None, None, "least_squares"
    if not all_cyclic and (fit.get("logp_heldout") is not None or fit.get("linear_weights") is not None):
        w_all = np.where(acyc, weights, 0.0)                   # (acyc: [K] bool)
        k = np.nonzero(w_all > 0)[0]
        w = w_all[k]
        if fit.get("logp_heldout") is not None:
            logp = np.asarray(fit["logp_heldout"], dtype=np.float64)
            if logp.shape != (len(acyc), m):
                raise ValueError(f"logp_heldout has shape {logp.shape}, expected [{len(acyc)}, {m}]")
            logp, source = logp[k], "model"
        else:
            if fit.get("noise_vars") is None:
                raise ValueError("fit has linear_weights but no noise_vars")
            logp = linear_gaussian_logpdf(x_ho, mask_ho, np.asarray(fit["linear_weights"])[k],
                                          np.asarray(fit["noise_vars"])[k])
            source = "linear"
    note = ""
    if logp is None:
        W, V = least_squares_fit_many(data.x, data.interv_mask, support)
        bad = np.isnan(V)                                     # [S, d] refused (degenerate) fits
        if bad.any():
            names = [data.node_names[j] for j in np.nonzero(bad.any(axis=0))[0]]
            note = (f"held-out likelihood refused: the least-squares refit of node(s) {', '.join(names)} "
                    f"is degenerate in {int(bad.any(axis=1).sum())} of {len(support)} graphs (the parents "
                    "determine the node exactly, or it has no more training rows than parents)")
        logp, w = linear_gaussian_logpdf(x_ho, mask_ho, W, V), w_sup
    out = heldout_scores(logp, w)
    interv_rows = np.asarray(mask_ho, dtype=bool).any(axis=1)  # [m]
    out["ll_heldout_interv"] = heldout_scores(logp[:, interv_rows], w)["ll_heldout"]
    return out, source, note


def read_benchmark(path: str | Path) -> dict[str, float]:
    """Cost of one job from Snakemake's ``benchmark:`` file.

    The file is a TSV with a header row (``s``, ``h:m:s``, ``max_rss``, ``max_vms``,
    ``max_uss``, ``max_pss``, ``io_in``, ``io_out``, ``mean_load``, ``cpu_time``, ...)
    and one row per repeat; or, when named ``*.jsonl``/``*.json``, one JSON object per
    line with the same keys. ``s`` is wall seconds and ``max_rss`` peak resident memory
    in MB. Values "NA" (Snakemake 8+ when it could not sample the process) and "-"
    (older versions, None) are read as NaN.

    Returns {"wall_s": mean of ``s`` over the repeats, "max_rss_mb": largest
    ``max_rss``}; NaN where the column is missing or has no number.
    """
    path = Path(path)
    text = path.read_text()
    rows: list[dict] = []
    if path.suffix in (".json", ".jsonl") or text.lstrip().startswith("{"):
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    else:
        lines = [line for line in text.splitlines() if line.strip()]
        if lines:
            header = lines[0].split("\t")
            rows = [dict(zip(header, line.split("\t"))) for line in lines[1:]]

    def numbers(key):
        out = []
        for r in rows:
            try:
                v = float(r.get(key))
            except (TypeError, ValueError):
                continue
            if math.isfinite(v):
                out.append(v)
        return out

    wall, rss = numbers("s"), numbers("max_rss")
    return {"wall_s": float(np.mean(wall)) if wall else float("nan"),
            "max_rss_mb": float(max(rss)) if rss else float("nan")}
