"""Comparisons a reviewer accepts, from the long-format score table (``tables/scores.csv``).

A *dataset* is one setting x seed; every method of a setting is fitted on the same
datasets, so the scores of two methods are paired by dataset.

1. Paired tests per setting and metric (``pairwise_tests``). For each pair of methods, the
   two-sided Wilcoxon signed-rank test over the seeds of the setting (Wilcoxon 1945,
   Biometrics Bulletin 1:80-83), and Holm's step-down correction over the pairs of that
   setting and metric (Holm 1979, Scand. J. Statist. 6:65-70), with a win / tie / loss count
   per pair. Choices:

   - Pairs: a pair uses only the datasets on which both fits are ``ok`` with a finite value;
     the others are dropped for that pair alone and counted (``n_dropped``). A method with no
     ok value in a setting is not compared there (the markdown names it).
   - Ties: two values are tied when they differ by at most ``TIE_ATOL + TIE_RTOL * max(|a|,
     |b|)`` (float noise; the scores are otherwise compared exactly). A tie counts in
     ``ties`` and is a zero difference for the test.
   - Zero differences: ``zero_method="wilcox"`` (Wilcoxon's own rule: zeros are dropped and
     the test runs on the untied pairs), so that the test weighs exactly the wins and losses
     the table shows.
   - Null distribution: exact (``wilcoxon(method="exact")``) when the |differences| have no
     ties and there are at most 50 untied pairs; with tied |differences| (mid-ranks), the
     exact permutation distribution of the same statistic over all 2^m sign flips, up to
     m = 13 (``scipy.stats.permutation_test``, enumerated, so deterministic: the p of
     ``wilcoxon(method=PermutationMethod())``, vectorised); beyond, the normal approximation
     with the tie-corrected variance (no continuity correction). The ``test`` column says
     which.
   - Holm's family: the pairs of one (setting, metric) that have a p (pairs with one paired
     seed, or all tied, are not tested and not counted).
   - Not enough seeds: with m untied pairs the smallest two-sided p of the exact test is
     2 / 2^m (m = 5: 0.0625), so with 2 / 2^m >= alpha no p < alpha is possible and the
     verdict says "not enough seeds (n)" (the p is still reported). One paired seed: no test
     at all, verdict "not enough seeds (1)", p left empty, never NaN. Holm's adjusted p of a
     family of K tests is at least K times its smallest p, so when K * 2 / 2^m_max >= alpha
     no pair can be significant and every verdict says "not enough seeds (n) for K pairs"
     (10 methods = 45 pairs need 11 seeds or more, 11 methods 12, at alpha = 0.05).
   - Verdict: "<method> better" when the Holm-adjusted p < alpha, naming the method the
     median paired difference favours (the larger count of wins when that median is 0);
     else "no significant difference".

2. Ranks across settings (``rank_metric``): the Friedman test (Friedman 1937, JASA
   32:675-701) over (setting x seed) blocks, ranks within a block (1 = best, ties get the
   average rank), the Iman-Davenport F form of it, and the Nemenyi critical difference
   CD = q_alpha * sqrt(k (k + 1) / (6 N)) with q_alpha the studentized range quantile over
   sqrt(2) (Demsar 2006, JMLR 7:1-30, section 3.2.2), drawn as a critical-difference diagram
   (``evaluation.cd_diagram``). The test needs complete blocks; the rule, applied per metric:
   the blocks are the (setting, seed) pairs with at least one finite ok value; a method not
   fitted in every such block (``run_on``, or ``skipped``) is not ranked, nor is a method with
   a finite ok value in fewer than half of them; then the blocks in which a remaining method
   has no finite ok value (failed, timed out, NaN) are dropped and counted. The groups joined
   by a bar are the maximal runs of methods (in rank order) whose mean ranks differ by at
   most CD, the same relation as Nemenyi's pairwise p >= alpha; when the Friedman p >= alpha
   no post-hoc test is made and one bar joins all methods.

3. LaTeX (``latex_table``): one booktabs table per metric, methods x settings, mean and
   spread as in the summary (mean ± s.e., or the percentile bootstrap interval of
   ``evaluation.aggregate.bootstrap_ci``, Efron & Tibshirani 1993, with the summary's
   resamples); the best mean of a setting is bold only where the paired test
   says that method is significantly better than every other method of the setting.

4. ``write_statistics`` writes everything into ``tables/`` and ``figures/``; the file names
   are known beforehand (``table_names``, ``figure_names``), one set per metric of
   ``METRICS`` whether or not the run has values for it (then the file says so).

Packages: scipy.stats does the signed-rank test (``wilcoxon``), the Friedman test
(``friedmanchisquare``) and the studentized-range quantile of the CD
(``studentized_range``); statsmodels (``multipletests(method="holm")``) does Holm's
correction; scikit-posthocs (``posthoc_nemenyi_friedman``) does Nemenyi's pairwise test
(``tables/nemenyi.csv``). scikit-posthocs was chosen over autorank (both install cleanly
with numpy 2.4, pandas 3.1 and scipy 1.17: scikit-posthocs 0.17.1, autorank 1.3.0): autorank refuses fewer than five blocks, which the default
config's exact-posterior metrics have (one setting x 3 seeds), picks its tests itself from
normality checks unless forced, and computes the CD with statsmodels' approximate qsturng;
scikit-posthocs is plain functions on a block matrix using scipy's exact studentized range,
is the more widely used of the two and is released more recently. Neither diagram is used:
autorank's needs an autorank result (five blocks or more), and scikit-posthocs' prints the
CD label over the rank ticks and does not span the rank axis 1..k; ``evaluation.cd_diagram``
draws Demsar's layout with matplotlib.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from html import escape as html_escape
from itertools import combinations
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from evaluation.aggregate import SPREADS, SUMMARY_COLUMNS, bootstrap_ci, cell_rng, mean_se

#: fits with this status count; the others (failed, timeout, skipped, data_error) do not
OK = "ok"
#: statuses of a fit that was attempted (the method ran on the dataset)
FITTED = ("ok", "failed", "timeout")
TIE_RTOL = 1e-9
TIE_ATOL = 1e-12
#: largest number of untied pairs whose tied |differences| get the enumerated permutation test
MAX_PERMUTATION_PAIRS = 13


def metric_directions() -> dict[str, str]:
    """{score column: "lower" or "higher"} for the summary's columns, read from the arrows of
    ``evaluation.aggregate.SUMMARY_COLUMNS`` (the one table of metric directions); columns
    without an arrow (the run time) are not compared."""
    out = {}
    for col, header, _dec in SUMMARY_COLUMNS:
        if header.endswith("↓"):
            out[col] = "lower"
        elif header.endswith("↑"):
            out[col] = "higher"
    return out


#: the compared metrics, in summary order
METRICS = list(metric_directions())
_HEADER = {col: header for col, header, _ in SUMMARY_COLUMNS}
_DECIMALS = {col: dec for col, _, dec in SUMMARY_COLUMNS}


def metric_label(metric: str) -> str:
    """The summary's header of ``metric`` without its arrow ("E-SHD")."""
    return _HEADER.get(metric, metric).rstrip("↓↑ ").strip()


# --------------------------------------------------------------------------- output names


def table_names(metrics: Iterable[str] | None = None) -> list[str]:
    """Every file ``write_statistics`` writes into the tables folder (without folder)."""
    fixed = ["pairwise.csv", "pairwise.md", "pairwise.html", "ranks.csv", "ranks.md", "ranks.html",
             "nemenyi.csv"]
    return fixed + [f"summary_{m}.tex" for m in (METRICS if metrics is None else metrics)]


def figure_names(metrics: Iterable[str] | None = None) -> list[str]:
    """Every file ``write_statistics`` writes into the figures folder (without folder):
    ``cd_<metric>.png`` and ``.pdf``."""
    from evaluation.cd_diagram import FORMATS

    return [f"cd_{m}.{fmt}" for m in (METRICS if metrics is None else metrics) for fmt in FORMATS]


# --------------------------------------------------------------------------- helpers


def _order(values) -> list:
    """Distinct values in first-appearance order (config order in scores.csv)."""
    return list(dict.fromkeys(values))


def method_order(df: pd.DataFrame) -> list[str]:
    """The method ids in config order: each setting lists its methods in config order, and
    a method missing from the first settings (``run_on``) is placed after the method it
    follows where it appears."""
    out: list[str] = []
    for setting in _order(df["setting"]):
        prev = None
        for m in _order(df.loc[df["setting"] == setting, "method_id"]):
            if m not in out:
                out.insert(out.index(prev) + 1 if prev is not None else 0, m)
            prev = m
    return out


def _numeric(df: pd.DataFrame, metric: str) -> pd.Series:
    if metric not in df.columns:
        return pd.Series(np.nan, index=df.index)
    return pd.to_numeric(df[metric], errors="coerce")


def _ok_values(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The ok fits with a finite value: columns setting, seed, method_id, value."""
    v = _numeric(df, metric)
    keep = (df["status"] == OK) & np.isfinite(v)
    out = df.loc[keep, ["setting", "seed", "method_id"]].copy()
    out["value"] = v[keep].astype(float)
    return out.drop_duplicates(["setting", "seed", "method_id"], keep="last")


def _is_tie(a, b) -> np.ndarray:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.abs(a - b) <= TIE_ATOL + TIE_RTOL * np.maximum(np.abs(a), np.abs(b))


def _fmt_p(p: float) -> str:
    """A p-value for reading: 3 significant digits, 2 below 0.01, "< 0.0001" below that."""
    if p is None or not np.isfinite(p):
        return "–"
    return "< 0.0001" if p < 1e-4 else f"{p:.2g}" if p < 0.01 else f"{p:.3g}"


def p_text(p: float) -> str:
    """"p = 0.031" or "p < 0.0001"."""
    f = _fmt_p(p)
    return f"p {f}" if f.startswith("<") else f"p = {f}"


def _seeds(n: int) -> str:
    return f"{n} seed{'' if n == 1 else 's'}"


# --------------------------------------------------------------------------- paired tests


def smallest_p(n_untied: int) -> float:
    """The smallest two-sided p of the exact signed-rank test on ``n_untied`` nonzero
    differences: 2 / 2^n (all differences of one sign); 0 where the normal approximation
    is used (more than 50 untied pairs)."""
    return 2.0 / 2.0 ** n_untied if n_untied <= 50 else 0.0


def _signed_rank_statistic(x, axis):
    """The signed-rank statistic T+ (sum of the ranks of |x| over the positive x), vectorised
    for ``scipy.stats.permutation_test``; |x| and so its mid-ranks do not change under the
    sign flips."""
    from scipy.stats import rankdata

    return np.sum(np.where(x > 0, rankdata(np.abs(x), axis=axis), 0.0), axis=axis)


def signed_rank_test(diff) -> tuple[float, int, str]:
    """Two-sided Wilcoxon signed-rank test of paired differences (zeros already set for
    ties). Returns (p, m, test): p is NaN when m, the number of nonzero differences, is 0;
    test names the null distribution used. ``scipy.stats.wilcoxon`` with
    ``zero_method="wilcox"`` (exact, or the normal approximation beyond 50 pairs); with tied
    |differences| and m <= 13, the same statistic's exact permutation distribution over all
    2^m sign flips by ``scipy.stats.permutation_test`` (what ``wilcoxon`` does with
    ``PermutationMethod``, vectorised: the same p, faster)."""
    from scipy import stats

    d = np.asarray(diff, dtype=float)
    d = d[d != 0]  # zero_method="wilcox": zeros are dropped
    m = len(d)
    if m == 0:
        return float("nan"), 0, ""
    tied = len(np.unique(np.abs(d))) < m
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if tied and m <= MAX_PERMUTATION_PAIRS:
            p = stats.permutation_test((d,), _signed_rank_statistic, permutation_type="samples",
                                       vectorized=True, n_resamples=np.inf, alternative="two-sided").pvalue
            test = "exact (permutation, tied ranks)"
        else:
            method, test = ("exact", "exact") if not tied and m <= 50 else ("asymptotic", "normal approximation")
            p = stats.wilcoxon(d, zero_method="wilcox", correction=False, alternative="two-sided",
                               method=method).pvalue
    return float(min(1.0, p)), m, test


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values (Holm 1979), by statsmodels' ``multipletests``."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(pvalues, dtype=float)
    if len(p) == 0:
        return p
    return multipletests(p, method="holm")[1]


PAIRWISE_COLUMNS = ["setting", "metric", "direction", "method_a", "method_b", "n_pairs", "n_dropped",
                    "wins", "ties", "losses", "median_diff", "n_untied", "test", "p", "p_holm", "better",
                    "verdict"]


def pairwise_tests(df: pd.DataFrame, *, metrics: Iterable[str] | None = None,
                   alpha: float = 0.05) -> pd.DataFrame:
    """One row per (setting, metric, pair of methods compared there), in config order;
    columns ``PAIRWISE_COLUMNS``. wins / ties / losses count the paired datasets from
    method_a's side (better in the metric's direction); median_diff is the median of
    value_a - value_b; p the signed-rank test's, p_holm Holm's over the tested pairs of the
    (setting, metric); better names the significantly better method or is empty; n_dropped
    counts the datasets of the setting that one of the two was fitted on but that could
    not be paired (not ok, or no value). p and p_holm are NaN (an empty CSV cell) where no
    test is possible, and the verdict says why."""
    directions = metric_directions()
    metrics = [m for m in (METRICS if metrics is None else metrics) if m in directions]
    methods = method_order(df)
    rows = []
    for metric in metrics:
        direction = directions[metric]
        sign = -1.0 if direction == "lower" else 1.0  # sign * (a - b) > 0: a is better
        ok = _ok_values(df, metric)
        for setting in _order(df["setting"]):
            sdf = df[(df["setting"] == setting) & (df["status"] != "data_error")]
            seeds_of = {m: set(g["seed"]) for m, g in sdf.groupby("method_id", sort=False)}
            sok = ok[ok["setting"] == setting]
            value_of = {m: dict(zip(g["seed"], g["value"])) for m, g in sok.groupby("method_id", sort=False)}
            compared = [m for m in methods if m in value_of]
            family = []
            for a, b in combinations(compared, 2):
                xa, xb = value_of[a], value_of[b]
                common = sorted(set(xa) & set(xb))
                attempted = seeds_of.get(a, set()) | seeds_of.get(b, set())
                va = np.array([xa[k] for k in common], dtype=float)
                vb = np.array([xb[k] for k in common], dtype=float)
                tie = _is_tie(va, vb)
                diff = np.where(tie, 0.0, va - vb)
                better_side = sign * diff
                row = {"setting": setting, "metric": metric, "direction": direction, "method_a": a,
                       "method_b": b, "n_pairs": len(common), "n_dropped": len(attempted - set(common)),
                       "wins": int((better_side > 0).sum()), "ties": int(tie.sum()),
                       "losses": int((better_side < 0).sum()),
                       "median_diff": float(np.median(diff)) if len(common) else float("nan"),
                       "n_untied": int((~tie).sum()), "test": "", "p": float("nan"),
                       "p_holm": float("nan"), "better": "", "verdict": ""}
                if len(common) == 0:
                    row["verdict"] = "no paired datasets"
                elif len(common) == 1:
                    row["verdict"] = "not enough seeds (1)"
                elif row["n_untied"] == 0:
                    row["verdict"] = "all tied"
                else:
                    row["p"], _, row["test"] = signed_rank_test(diff)
                    if smallest_p(row["n_untied"]) >= alpha:
                        row["verdict"] = (f"not enough seeds ({len(common)})" if row["n_untied"] == len(common)
                                          else f"not enough untied seeds ({row['n_untied']} of {len(common)})")
                    family.append(row)
                rows.append(row)
            _holm_family(family, sign, alpha)
    out = pd.DataFrame(rows, columns=PAIRWISE_COLUMNS)
    return out.astype({c: int for c in ("n_pairs", "n_dropped", "wins", "ties", "losses", "n_untied")})


def _holm_family(family: list[dict], sign: float, alpha: float) -> None:
    """Holm-adjust the tested pairs of one (setting, metric) in place and set the verdicts."""
    if not family:
        return
    adjusted = holm([r["p"] for r in family])
    k = len(family)
    floor = k * min(smallest_p(r["n_untied"]) for r in family)  # no adjusted p can be smaller
    n_max = max(r["n_pairs"] for r in family)
    for r, ph in zip(family, adjusted):
        r["p_holm"] = float(min(1.0, ph))
        if r["verdict"]:  # not enough seeds for this pair alone
            continue
        if r["p_holm"] < alpha:
            lean = sign * r["median_diff"]
            lean = lean if lean != 0 else r["wins"] - r["losses"]
            if lean != 0:
                r["better"] = r["method_a"] if lean > 0 else r["method_b"]
                r["verdict"] = f"{r['better']} better"
                continue
        r["verdict"] = (f"not enough seeds ({n_max}) for {k} pairs" if floor >= alpha
                        else "no significant difference")


def significantly_best(pairwise: pd.DataFrame, setting: str, metric: str, method: str) -> bool:
    """Whether ``method`` is significantly better than every other method compared in the
    (setting, metric), by the Holm-corrected paired tests."""
    rows = pairwise[(pairwise["setting"] == setting) & (pairwise["metric"] == metric)
                    & ((pairwise["method_a"] == method) | (pairwise["method_b"] == method))]
    return len(rows) > 0 and bool((rows["better"] == method).all())


# --------------------------------------------------------------------------- Friedman ranks


def critical_difference(k: int, n_blocks: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical difference of mean ranks, CD = q_alpha sqrt(k (k+1) / (6 N)) with
    q_alpha the (1 - alpha) quantile of the studentized range of k means (infinite degrees
    of freedom) over sqrt(2) (Demsar 2006, section 3.2.2; q_0.05 = 1.960, 2.343, 2.569 ...
    for k = 2, 3, 4 ...)."""
    from scipy.stats import studentized_range

    q = studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    return float(q * math.sqrt(k * (k + 1) / (6.0 * n_blocks)))


def nemenyi_groups(mean_ranks: pd.Series, cd: float) -> list[list[str]]:
    """The maximal runs of methods, in rank order, whose mean ranks lie within ``cd`` of each
    other (Demsar's bars); single methods are not groups."""
    r = mean_ranks.sort_values(kind="stable")
    names, vals = list(r.index), r.to_numpy(float)
    groups, last_end = [], -1
    for i in range(len(vals)):
        j = i
        while j + 1 < len(vals) and vals[j + 1] - vals[i] <= cd + 1e-12:
            j += 1
        if j > i and j > last_end:
            groups.append(names[i:j + 1])
            last_end = j
    return groups


@dataclass
class RankResult:
    """The Friedman / Nemenyi comparison of one metric across (setting x seed) blocks."""
    metric: str
    direction: str
    alpha: float
    #: mean rank per ranked method (1 = best), best first
    mean_ranks: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    n_blocks: int = 0
    n_blocks_dropped: int = 0
    #: {method: why it is not ranked}, config order
    dropped_methods: dict[str, str] = field(default_factory=dict)
    chi2: float = float("nan")
    p: float = float("nan")
    iman_davenport_p: float = float("nan")
    cd: float = float("nan")
    #: Nemenyi pairwise p-values (k x k), or None
    nemenyi: pd.DataFrame | None = None
    groups: list[list[str]] = field(default_factory=list)
    #: whether the Friedman test rejected (p < alpha), so the Nemenyi groups are shown
    posthoc: bool = False
    #: why there is no test or no ranking ("" when there is both)
    note: str = ""
    #: the complete block matrix that was ranked (blocks x methods), for checks
    blocks: pd.DataFrame | None = None

    @property
    def ranked(self) -> bool:
        return len(self.mean_ranks) > 0


def rank_metric(df: pd.DataFrame, metric: str, *, alpha: float = 0.05) -> RankResult:
    """Mean ranks, Friedman and Iman-Davenport tests, Nemenyi CD and groups of ``metric``
    over the (setting x seed) blocks of ``df`` (rules in the module docstring)."""
    from scipy import stats

    direction = metric_directions()[metric]
    res = RankResult(metric=metric, direction=direction, alpha=alpha)
    ok = _ok_values(df, metric)
    if ok.empty:
        res.note = f"no values of {metric} in this run"
        return res
    wide = ok.pivot_table(index=["setting", "seed"], columns="method_id", values="value", sort=False)
    blocks = list(wide.index)
    fitted = df[df["status"].isin(FITTED)]
    fitted_in = {m: set(zip(g["setting"], g["seed"])) for m, g in fitted.groupby("method_id", sort=False)}
    keep = []
    for m in method_order(df):
        n_fit = len(set(blocks) & fitted_in.get(m, set()))
        n_ok = int(wide[m].notna().sum()) if m in wide else 0
        if n_fit < len(blocks):
            res.dropped_methods[m] = f"fitted in {n_fit} of {len(blocks)} blocks (run_on or skipped)"
        elif n_ok * 2 < len(blocks):
            res.dropped_methods[m] = f"a finite ok value in only {n_ok} of {len(blocks)} blocks"
        else:
            keep.append(m)
    complete = wide.reindex(columns=keep).dropna() if keep else wide.iloc[:0, :0]
    res.n_blocks, res.n_blocks_dropped = len(complete), len(blocks) - len(complete)
    res.blocks = complete
    k, n = len(keep), len(complete)
    if k < 2:
        res.note = f"fewer than 2 methods to rank ({k})"
        return res
    if n == 0:
        res.note = "no block in which every ranked method has a value"
        return res
    ranks = complete.rank(axis=1, ascending=(direction == "lower"), method="average")
    res.mean_ranks = ranks.mean().sort_values(kind="stable")
    if n < 2:
        res.note = f"not enough blocks ({n}): no test"
    elif k < 3:
        res.note = "the Friedman test needs 3 methods or more: see the paired tests"
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            chi2, p = stats.friedmanchisquare(*complete.to_numpy(float).T)
        if not np.isfinite(chi2):
            res.note = "all methods tie in every block: no ranking"
        else:
            res.chi2, res.p = float(chi2), float(p)
            res.cd = critical_difference(k, n, alpha)
            denom = n * (k - 1) - chi2
            f_stat = (n - 1) * chi2 / denom if denom > 0 else np.inf
            res.iman_davenport_p = float(stats.f.sf(f_stat, k - 1, (k - 1) * (n - 1))) if np.isfinite(f_stat) else 0.0
            res.posthoc = res.p < alpha
            import scikit_posthocs as sp

            nem = sp.posthoc_nemenyi_friedman(complete.to_numpy(float))
            nem.index = nem.columns = keep
            res.nemenyi = nem
    res.groups = (nemenyi_groups(res.mean_ranks, res.cd) if res.posthoc
                  else [list(res.mean_ranks.index)])
    return res


RANK_COLUMNS = ["metric", "direction", "method", "position", "mean_rank", "n_blocks", "n_blocks_dropped",
                "n_methods", "friedman_chi2", "friedman_p", "iman_davenport_p", "cd", "alpha", "note"]


def ranks_frame(results: Iterable[RankResult]) -> pd.DataFrame:
    """``ranks.csv``: one row per ranked method (best first), then one per method not
    ranked (mean_rank empty, note says why); a metric with nothing ranked gets one row
    with an empty method and the note."""
    rows = []
    for r in results:
        common = {"metric": r.metric, "direction": r.direction, "n_blocks": r.n_blocks,
                  "n_blocks_dropped": r.n_blocks_dropped, "n_methods": len(r.mean_ranks),
                  "friedman_chi2": r.chi2, "friedman_p": r.p, "iman_davenport_p": r.iman_davenport_p,
                  "cd": r.cd, "alpha": r.alpha}
        for pos, (m, rank) in enumerate(r.mean_ranks.items(), start=1):
            rows.append({**common, "method": m, "position": pos, "mean_rank": rank, "note": r.note})
        for m, why in r.dropped_methods.items():
            rows.append({**common, "method": m, "position": None, "mean_rank": None, "note": f"not ranked: {why}"})
        if not r.ranked:
            rows.append({**common, "method": "", "position": None, "mean_rank": None, "note": r.note})
    out = pd.DataFrame(rows, columns=RANK_COLUMNS)
    return out.astype({"position": "Int64", "n_blocks": int, "n_blocks_dropped": int, "n_methods": int})


def nemenyi_frame(results: Iterable[RankResult]) -> pd.DataFrame:
    """``nemenyi.csv``: per metric and pair of ranked methods, the mean-rank difference
    (rank of a - rank of b), Nemenyi's p (scikit-posthocs) and whether it is below alpha
    with the Friedman test rejecting."""
    rows = []
    for r in results:
        if r.nemenyi is None:
            continue
        for a, b in combinations(list(r.nemenyi.columns), 2):
            p = float(r.nemenyi.loc[a, b])
            rows.append({"metric": r.metric, "method_a": a, "method_b": b,
                         "rank_diff": float(r.mean_ranks[a] - r.mean_ranks[b]), "p_nemenyi": p,
                         "cd": r.cd, "significant": bool(r.posthoc and p < r.alpha)})
    return pd.DataFrame(rows, columns=["metric", "method_a", "method_b", "rank_diff", "p_nemenyi", "cd",
                                       "significant"])


def rank_summary(r: RankResult) -> str:
    """One sentence: blocks used and dropped, the tests, the CD (or why there is none)."""
    parts = [f"{r.n_blocks} blocks (setting × seed) used, {r.n_blocks_dropped} dropped (a ranked method "
             f"not ok or without a value)"]
    if np.isfinite(r.p):
        parts.append(f"Friedman χ² = {r.chi2:.2f}, {p_text(r.p)} (Iman–Davenport {p_text(r.iman_davenport_p)})")
        parts.append(f"Nemenyi CD = {r.cd:.2f} at α = {r.alpha:g}" if r.posthoc else
                     f"p ≥ α = {r.alpha:g}: no difference detected, no post-hoc test")
    if r.note:
        parts.append(r.note)
    return "; ".join(parts) + "."


# --------------------------------------------------------------------------- markdown / HTML

PAIRWISE_NOTE = (
    "Paired comparisons per setting and metric. Each pair of methods is compared on the seeds where "
    "both fits are ok (the others are dropped for that pair and counted in `pairwise.csv`, "
    "column n_dropped) by the two-sided Wilcoxon signed-rank test (zero differences dropped, exact "
    "null distribution), and the p-values of a setting and metric are Holm-corrected over its pairs. "
    "First matrix: wins/ties/losses of the row method against the column method (better in the "
    "metric's direction; a tie is equal up to float noise); ▲ marks a significant win of the row "
    "method, ▼ a significant loss. Second matrix: Holm-adjusted p. With n untied seeds the smallest "
    "possible p is 2/2ⁿ (5 seeds: 0.0625), so fewer than 6 seeds can never reach α = 0.05: such "
    "pairs read 'not enough seeds (n)'.")

RANKS_NOTE = (
    "Ranks across settings. In each block (one setting and seed) the methods are ranked on the "
    "metric (1 = best; ties share the average rank), and the ranks are averaged over blocks. The "
    "Friedman test asks whether the mean ranks differ more than chance; if it rejects, two methods "
    "differ significantly (Nemenyi test) when their mean ranks differ by more than the critical "
    "difference CD, and methods joined by a bar in `figures/cd_<metric>` do not. Only complete "
    "blocks count: a method not fitted in every block (or ok in fewer than half) is not ranked, "
    "then blocks where a ranked method has no value are dropped.")


def _pair_tables(pw: pd.DataFrame, methods: list[str], alpha: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The W/T/L and Holm-p matrices (rows and columns ``methods``) of one (setting, metric)."""
    wtl = pd.DataFrame("", index=methods, columns=methods)
    pm = pd.DataFrame("", index=methods, columns=methods)
    for m in methods:
        wtl.loc[m, m] = pm.loc[m, m] = "·"
    for r in pw.itertuples(index=False):
        a, b = r.method_a, r.method_b
        mark_a = " ▲" if r.better == a else " ▼" if r.better == b else ""
        mark_b = " ▲" if r.better == b else " ▼" if r.better == a else ""
        wtl.loc[a, b] = f"{r.wins}/{r.ties}/{r.losses}{mark_a}"
        wtl.loc[b, a] = f"{r.losses}/{r.ties}/{r.wins}{mark_b}"
        cell = _fmt_p(r.p_holm) if np.isfinite(r.p_holm) else r.verdict
        if np.isfinite(r.p_holm) and r.verdict.startswith("not enough"):
            cell += " †"
        pm.loc[a, b] = pm.loc[b, a] = cell
    return wtl, pm


def _pairwise_sections(df: pd.DataFrame, pw: pd.DataFrame, metrics: list[str], alpha: float):
    """Yield (level, title, note, [tables]) for the markdown and HTML views of the paired tests."""
    methods_all = method_order(df)
    for metric in metrics:
        direction = metric_directions()[metric]
        yield 2, f"{_HEADER.get(metric, metric)} ({direction} is better)", "", []
        mpw = pw[pw["metric"] == metric]
        ok = _ok_values(df, metric)
        if ok.empty:
            yield 3, "", f"No values of {metric} in this run: nothing to compare.", []
            continue
        for setting in _order(df["setting"]):
            spw = mpw[mpw["setting"] == setting]
            sok = ok[ok["setting"] == setting]
            if sok.empty:
                continue
            compared = [m for m in methods_all if m in set(sok["method_id"])]
            others = [m for m in methods_all if m in set(df.loc[df["setting"] == setting, "method_id"])
                      and m not in compared]
            n_seeds = sok["seed"].nunique()
            notes = []
            if len(compared) < 2:
                notes.append(f"Only {', '.join(compared)} has values: nothing to compare.")
            if others:
                notes.append(f"Not compared (no ok fit with a value): {', '.join(others)}.")
            dropped = spw[spw["n_dropped"] > 0]
            if len(dropped):
                notes.append("Pairs with dropped datasets (a fit not ok or without a value): "
                             + ", ".join(f"{r.method_a} vs {r.method_b} ({r.n_dropped})"
                                         for r in dropped.itertuples(index=False)) + ".")
            hopeless = bool(len(spw)) and spw["verdict"].str.startswith("not enough").all()
            if hopeless and n_seeds < 2:
                notes.append(f"Not enough seeds ({n_seeds}): no test is possible.")
            elif hopeless and smallest_p(n_seeds) >= alpha:
                notes.append(f"Not enough seeds ({n_seeds}): no pair can reach α = {alpha:g}; the smallest "
                             f"possible p with {_seeds(n_seeds)} is 2/2^{n_seeds} = {smallest_p(n_seeds):.3g}.")
            elif hopeless:
                notes.append(f"Not enough seeds ({n_seeds}) for {len(spw)} pairs: no pair can reach α = {alpha:g}; "
                             f"the smallest possible p with {_seeds(n_seeds)} is 2/2^{n_seeds} = "
                             f"{smallest_p(n_seeds):.3g}, and Holm's correction multiplies the smallest p of the "
                             f"setting by the number of pairs ({len(spw)}).")
            elif spw["verdict"].str.startswith("not enough").any():
                notes.append("† not enough seeds for this pair to reach α (see `pairwise.csv`, verdict).")
            tables = []
            if len(compared) >= 2:
                wtl, pm = _pair_tables(spw, compared, alpha)
                tables = [("wins/ties/losses (row vs column)", wtl)]
                if not hopeless:
                    tables.append(("Holm-adjusted p", pm))
            yield 3, f"{setting} ({_seeds(n_seeds)})", " ".join(notes), tables


def _markdown_table(t: pd.DataFrame, corner: str = "") -> list[str]:
    cols = [corner] + [str(c) for c in t.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for idx, row in t.iterrows():
        lines.append("| " + " | ".join([str(idx)] + [str(v) for v in row]) + " |")
    return lines


def _render_markdown(title: str, intro: str, sections) -> str:
    lines = [f"# {title}", "", intro, ""]
    for level, head, note, tables in sections:
        if head:
            lines += ["#" * level + " " + head, ""]
        if note:
            lines += [note, ""]
        for caption, t in tables:
            lines += [f"*{caption}*", ""] + _markdown_table(t) + [""]
    return "\n".join(lines)


def _render_html(title: str, intro: str, sections) -> str:
    parts = ["<html><head><meta charset='utf-8'><style>table{border-collapse:collapse;font:13px sans-serif;"
             "margin-bottom:1em}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}"
             "p{font:14px sans-serif;max-width:60em}</style></head><body>",
             f"<h1>{html_escape(title)}</h1>", f"<p>{html_escape(intro)}</p>"]
    for level, head, note, tables in sections:
        if head:
            parts.append(f"<h{level}>{html_escape(head)}</h{level}>")
        if note:
            parts.append(f"<p>{html_escape(note)}</p>")
        for caption, t in tables:
            parts += [f"<p><i>{html_escape(caption)}</i></p>", t.to_html(escape=True)]
    return "\n".join(parts + ["</body></html>"])


def pairwise_markdown(df: pd.DataFrame, pw: pd.DataFrame, *, metrics: list[str], alpha: float) -> str:
    """``pairwise.md``: per metric and setting, the W/T/L matrix and the Holm-p matrix."""
    return _render_markdown("Paired tests", PAIRWISE_NOTE, _pairwise_sections(df, pw, metrics, alpha))


def pairwise_html(df: pd.DataFrame, pw: pd.DataFrame, *, metrics: list[str], alpha: float) -> str:
    """``pairwise.html``: the same as ``pairwise_markdown``, for the Snakemake report."""
    return _render_html("Paired tests", PAIRWISE_NOTE.replace("`", ""), _pairwise_sections(df, pw, metrics, alpha))


def _rank_sections(results: list[RankResult]):
    for r in results:
        head = f"{_HEADER.get(r.metric, r.metric)} ({r.direction} is better)"
        if not r.ranked:
            yield 2, head, r.note + ("; not ranked: " + "; ".join(f"{m}: {w}" for m, w in r.dropped_methods.items())
                                     if r.dropped_methods else "") + ".", []
            continue
        t = pd.DataFrame({"method": list(r.mean_ranks.index),
                          "mean rank": [f"{v:.2f}" for v in r.mean_ranks]},
                         index=pd.RangeIndex(1, len(r.mean_ranks) + 1))
        if r.posthoc:
            t["groups"] = [" ".join(_letter(g) for g, members in enumerate(r.groups) if m in members) or "–"
                           for m in r.mean_ranks.index]
        note = rank_summary(r)
        if r.posthoc:
            note += (" Groups: the bars of the diagram, lettered from the best; methods sharing a letter "
                     "are not significantly different.")
        if r.dropped_methods:
            note += " Not ranked: " + "; ".join(f"{m}: {w}" for m, w in r.dropped_methods.items()) + "."
        yield 2, head, note, [("mean ranks, best first", t)]


def _letter(i: int) -> str:
    """a, b, ..., z, aa, ab, ... (the i-th group)."""
    return _letter(i // 26 - 1) + chr(97 + i % 26) if i >= 26 else chr(97 + i)


def ranks_markdown(results: list[RankResult]) -> str:
    """``ranks.md``: per metric, the mean ranks, the tests and the groups."""
    return _render_markdown("Ranks across settings", RANKS_NOTE, _rank_sections(results))


def ranks_html(results: list[RankResult]) -> str:
    """``ranks.html``: the same as ``ranks_markdown``, for the Snakemake report."""
    return _render_html("Ranks across settings", RANKS_NOTE.replace("`", ""), _rank_sections(results))


# --------------------------------------------------------------------------- LaTeX

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "[": "{[}", "]": "{]}",  # a row starting with [ would be read as \\[length]
    "<": r"\textless{}", ">": r"\textgreater{}",
    "↓": r"$\downarrow$", "↑": r"$\uparrow$", "‖": r"$\|$", "·": r"$\cdot$", "±": r"$\pm$",
    "–": "--", "—": "---", "×": r"$\times$", "α": r"$\alpha$", "χ": r"$\chi$",
}


def latex_escape(text: str) -> str:
    """``text`` safe in LaTeX text mode: the specials escaped, ``[``/``]`` braced, and the
    few non-ASCII signs of the headers (arrows, ‖, ·, ±) as math; other non-ASCII characters
    are kept as they are."""
    return "".join(_LATEX_SPECIALS.get(ch, ch) for ch in str(text))


def _latex_number_cell(values, dec: int, *, spread: str, resamples: int, confidence: float,
                       rng) -> str | None:
    """``$m \\pm se$`` or ``$m\\ [lo, hi]$`` (None without values); the same numbers as the
    summary's cell."""
    if spread == "se":
        m, se = mean_se(pd.Series(values))
        if np.isnan(m):
            return None
        return f"${m:.{dec}f} \\pm {se:.{dec}f}$" if np.isfinite(se) else f"${m:.{dec}f}$"
    m, lo, hi = bootstrap_ci(values, resamples=resamples, confidence=confidence, rng=rng)
    if np.isnan(m):
        return None
    return f"${m:.{dec}f}\\ [{lo:.{dec}f}, {hi:.{dec}f}]$" if np.isfinite(lo) else f"${m:.{dec}f}$"


def latex_table(df: pd.DataFrame, metric: str, pairwise: pd.DataFrame, *, spread: str = "se",
                resamples: int = 1000, confidence: float = 0.95, seed: int = 0, alpha: float = 0.05) -> str:
    """``summary_<metric>.tex``: a booktabs ``table`` (methods x settings, config order) of
    ``metric``; needs ``\\usepackage{booktabs}``. Cells are the summary's (mean ± s.e., or
    mean [lo, hi] with ``spread="bootstrap_ci"``, the same resamples as the summary); a
    dagger marks a cell where some fits were not ok; the best mean of a setting is bold only
    where that method is significantly better than every other method of the setting
    (``significantly_best``). Without values: a comment saying so, and no table."""
    if spread not in SPREADS:
        raise ValueError(f"spread must be one of {', '.join(SPREADS)}, not {spread!r}")
    direction = metric_directions()[metric]
    label = metric_label(metric)
    dec = _DECIMALS.get(metric, 3)
    head = [f"% {metric}: written by evaluation/statistics.py (dagbench); needs \\usepackage{{booktabs}}"]
    ok = _ok_values(df, metric)
    if ok.empty:
        return "\n".join(head + [f"% no values of {metric} in this run: no table"]) + "\n"
    settings = [s for s in _order(df["setting"]) if s in set(ok["setting"])]
    present = set(df.loc[df["setting"].isin(settings), "method_id"])
    methods = [m for m in method_order(df) if m in present]
    best = {}
    for s in settings:
        means = ok[ok["setting"] == s].groupby("method_id", sort=False)["value"].mean()
        b = means.idxmin() if direction == "lower" else means.idxmax()
        if significantly_best(pairwise, s, metric, b):
            best[s] = b
    any_dagger = False
    body = []
    for m in methods:
        cells = [latex_escape(m)]
        for s in settings:
            recs = df[(df["setting"] == s) & (df["method_id"] == m)]
            vals = ok[(ok["setting"] == s) & (ok["method_id"] == m)]["value"]
            cell = _latex_number_cell(vals, dec, spread=spread, resamples=resamples, confidence=confidence,
                                      rng=cell_rng(seed, s, m, metric) if spread != "se" else None)
            if cell is None:
                cells.append("--")
                continue
            if best.get(s) == m:
                cell = "{\\boldmath " + cell + "}"
            if (recs["status"] != OK).any():
                cell += "$^{\\dagger}$"
                any_dagger = True
            cells.append(cell)
        body.append("    " + " & ".join(cells) + r" \\")
    spread_text = (r"mean $\pm$ standard error over seeds" if spread == "se" else
                   f"mean and {confidence:.0%} percentile bootstrap confidence interval over seeds "
                   f"({resamples} resamples)").replace("%", r"\%")
    tested = pairwise[(pairwise["metric"] == metric) & np.isfinite(pairwise["p"].astype(float))]
    caption = (f"{latex_escape(label)} ({direction} is better): {spread_text}, fits that ended ok only"
               + (r" ($^{\dagger}$: some fits of this method and setting were not ok)" if any_dagger else "")
               + ". Bold: significantly better than every other method of its setting (two-sided Wilcoxon "
               f"signed-rank test over seeds, Holm-corrected over the method pairs, $\\alpha = {alpha:g}$).")
    if not best and len(tested) and tested["verdict"].str.startswith("not enough").all():
        caption += " No method is bold: too few seeds for any pair to reach $\\alpha$."
    lines = head + [
        r"\begin{table}[tbp]",
        r"  \centering",
        r"  \small",
        f"  \\caption{{{caption}}}",
        f"  \\label{{tab:dagbench-{metric.replace('_', '-')}}}",
        "  \\begin{tabular}{l" + "c" * len(settings) + "}",
        r"    \toprule",
        "    Method & " + " & ".join(latex_escape(s) for s in settings) + r" \\",
        r"    \midrule",
        *body,
        r"    \bottomrule",
        r"  \end{tabular}",
        r"\end{table}",
    ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- everything


def _method_colors(df: pd.DataFrame) -> dict[str, str]:
    """The colour of each method id in the other figures (Okabe-Ito, config order)."""
    from evaluation.plots import PALETTE

    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(_order(df["method_id"]))}


def write_statistics(scores_csv: str | Path, outdir_tables: str | Path, outdir_figures: str | Path, *,
                     alpha: float = 0.05, spread: str = "se", resamples: int = 1000,
                     confidence: float = 0.95, seed: int = 0, metrics: Iterable[str] | None = None,
                     highlight: Iterable[str] = ()) -> list[Path]:
    """Write the paired tests, ranks, LaTeX tables (into ``outdir_tables``) and the
    critical-difference diagrams (into ``outdir_figures``) of the score table
    ``scores_csv``; returns the written paths, which are exactly ``table_names(metrics)``
    and ``figure_names(metrics)`` in those folders. ``spread``, ``resamples``,
    ``confidence`` and ``seed`` shape the LaTeX cells as the summary's; ``highlight``
    (method plugin names) sets those methods' names in bold in the diagrams."""
    import matplotlib
    matplotlib.use("Agg")

    from dagbench.io import atomic_path, atomic_write_text
    from evaluation.cd_diagram import draw_cd_diagram

    if spread not in SPREADS:
        raise ValueError(f"spread must be one of {', '.join(SPREADS)}, not {spread!r}")
    metrics = list(METRICS if metrics is None else metrics)
    unknown = [m for m in metrics if m not in metric_directions()]
    if unknown:
        raise ValueError(f"no direction known for {', '.join(unknown)} (known: {', '.join(METRICS)})")
    tables, figures = Path(outdir_tables), Path(outdir_figures)
    df = pd.read_csv(scores_csv)
    pw = pairwise_tests(df, metrics=metrics, alpha=alpha)
    results = [rank_metric(df, m, alpha=alpha) for m in metrics]

    written = []

    def csv(name: str, frame: pd.DataFrame) -> None:
        with atomic_path(tables / name) as tmp:
            frame.to_csv(tmp, index=False)
        written.append(tables / name)

    def text(name: str, content: str) -> None:
        atomic_write_text(tables / name, content)
        written.append(tables / name)

    csv("pairwise.csv", pw)
    text("pairwise.md", pairwise_markdown(df, pw, metrics=metrics, alpha=alpha))
    text("pairwise.html", pairwise_html(df, pw, metrics=metrics, alpha=alpha))
    csv("ranks.csv", ranks_frame(results))
    text("ranks.md", ranks_markdown(results))
    text("ranks.html", ranks_html(results))
    csv("nemenyi.csv", nemenyi_frame(results))
    for m in metrics:
        text(f"summary_{m}.tex", latex_table(df, m, pw, spread=spread, resamples=resamples,
                                             confidence=confidence, seed=seed, alpha=alpha))
    colors = _method_colors(df)
    plugin = dict(zip(df["method_id"], df["method"])) if "method" in df else {}
    bold = {m for m, p in plugin.items() if p in set(highlight)}
    for r in results:
        written += draw_cd_diagram(r, figures / f"cd_{r.metric}", title=_HEADER.get(r.metric, r.metric),
                                   colors=colors, bold=bold)
    return written
