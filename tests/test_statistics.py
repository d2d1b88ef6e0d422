"""Paired tests, ranks, CD diagrams, LaTeX tables and bootstrap CIs (evaluation/statistics.py),
checked against values computed by hand on small tables."""
import copy
import dataclasses
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation import statistics as S
from evaluation.aggregate import bootstrap_ci, cell_rng, spread_cell, summary_note, summary_tables

SEVEN = [0, 1, 2, 3, 4, 5, 6]


def table(values: dict, *, metric="e_shd", setting="s", seeds=None, status=None) -> pd.DataFrame:
    """A score table: {method: [value per seed]}; ``status`` {(method, seed): status} marks
    fits that did not end ok (their value is dropped)."""
    status = status or {}
    rows = []
    for m, vals in values.items():
        for seed, v in zip(seeds or range(len(vals)), vals):
            st = status.get((m, seed), "ok")
            rows.append({"setting": setting, "seed": seed, "method_id": m, "method": m, "status": st,
                         metric: v if st == "ok" else float("nan")})
    return pd.DataFrame(rows)


# a, b, c over 7 seeds, lower is better:
#   a - b = -1 on six seeds, a tie on the last: 6 wins, 1 tie; |d| all tied -> permutation p = 2/2^6
#   a - c = -1, -2, ..., -7: 7 wins, exact p = 2/2^7 = 0.015625
#   b - c = 0, -1, -2, -3, -4, -5, -7: 6 wins, 1 tie, exact p = 2/2^6 = 0.03125
A = [1, 2, 3, 4, 5, 6, 7]
B = [2, 3, 4, 5, 6, 7, 7]
C = [2, 4, 6, 8, 10, 12, 14]


def row(pw, a, b, setting="s", metric="e_shd"):
    r = pw[(pw["setting"] == setting) & (pw["metric"] == metric) & (pw["method_a"] == a) & (pw["method_b"] == b)]
    assert len(r) == 1, r
    return r.iloc[0]


# --------------------------------------------------------------------------- directions, CD


def test_metric_directions_come_from_the_summary_arrows():
    d = S.metric_directions()
    assert d["e_shd"] == d["shd_cpdag"] == d["sid"] == d["ece"] == d["tv"] == d["kl"] == d["edge_mae"] == "lower"
    assert d["auroc"] == d["auprc"] == d["f1"] == d["ll_heldout"] == d["mec_mass"] == "higher"
    assert "wall_s" not in d  # the run time has no arrow: not compared
    assert S.METRICS[0] == "e_shd" and S.metric_label("kl") == "KL(exact ‖ ·)"


@pytest.mark.parametrize("alpha, table_row", [
    (0.05, [1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164]),  # Demsar 2006, Table 5(a)
    (0.10, [1.645, 2.052, 2.291, 2.459, 2.589, 2.693, 2.780, 2.855, 2.920]),
])
def test_critical_difference_uses_demsars_q_alpha(alpha, table_row):
    for k, q in zip(range(2, 11), table_row):
        n = 7
        assert S.critical_difference(k, n, alpha) / math.sqrt(k * (k + 1) / (6 * n)) == pytest.approx(q, abs=2e-3)


# --------------------------------------------------------------------------- the signed-rank test


def test_signed_rank_p_values_by_hand():
    assert S.signed_rank_test([1, 2, 3, 4, 5])[:2] == (0.0625, 5)        # 2 / 2^5
    assert S.signed_rank_test([1, 2, 3, 4, 5, 6])[0] == 0.03125          # 2 / 2^6
    # one negative of rank 2: T- = 2; P(T+ <= 2) = |{}, {1}, {2}| / 64 -> p = 2 * 3/64
    assert S.signed_rank_test([1, -2, 3, 4, 5, 6])[0] == pytest.approx(6 / 64)
    p, m, test = S.signed_rank_test([1, 1, 1, 1, 1, 1, 0, 0])  # zeros dropped, tied |d|
    assert (p, m) == (pytest.approx(2 / 64), 6) and test.startswith("exact (permutation")
    assert math.isnan(S.signed_rank_test([0, 0, 0])[0])


def test_the_tied_permutation_test_is_scipys():
    from scipy import stats

    rng = np.random.default_rng(0)
    for _ in range(5):
        d = rng.integers(-3, 4, size=9).astype(float)
        d = d[d != 0]
        want = stats.wilcoxon(d, zero_method="wilcox", method=stats.PermutationMethod(n_resamples=2 ** len(d)))
        assert S.signed_rank_test(d)[0] == pytest.approx(want.pvalue)


# --------------------------------------------------------------------------- pairwise


def test_pairwise_wins_ties_losses_and_holm_by_hand():
    pw = S.pairwise_tests(table({"a": A, "b": B, "c": C}), metrics=["e_shd"])
    ab, ac, bc = row(pw, "a", "b"), row(pw, "a", "c"), row(pw, "b", "c")
    assert (ab.wins, ab.ties, ab.losses, ab.n_pairs, ab.n_dropped) == (6, 1, 0, 7, 0)
    assert (bc.wins, bc.ties, bc.losses, bc.median_diff) == (6, 1, 0, -3.0)
    assert ab.p == pytest.approx(2 / 64) and bc.p == pytest.approx(2 / 64) and ac.p == pytest.approx(2 / 128)
    # Holm: sorted p = 1/64, 1/32, 1/32 -> 3/64, max(3/64, 2/32), max(., 1/32) = 0.046875, 0.0625, 0.0625
    assert ac.p_holm == pytest.approx(0.046875)
    assert ab.p_holm == pytest.approx(0.0625) and bc.p_holm == pytest.approx(0.0625)
    assert (ac.better, ac.verdict) == ("a", "a better")
    assert (ab.better, ab.verdict) == ("", "no significant difference")


def test_higher_is_better_metrics_turn_the_direction_round():
    pw = S.pairwise_tests(table({"a": A, "c": C}, metric="auroc"), metrics=["auroc"])
    r = row(pw, "a", "c", metric="auroc")
    assert (r.wins, r.losses, r.better, r.p_holm) == (0, 7, "c", pytest.approx(2 / 128))


def test_a_failed_fit_drops_that_seed_for_its_pairs_only():
    df = table({"a": A, "b": B, "d": [0, 1, 1, 1, 1, 1, 1]}, status={("d", 0): "failed"})
    pw = S.pairwise_tests(df, metrics=["e_shd"])
    assert (row(pw, "a", "d").n_pairs, row(pw, "a", "d").n_dropped) == (6, 1)
    assert (row(pw, "a", "b").n_pairs, row(pw, "a", "b").n_dropped) == (7, 0)
    md = S.pairwise_markdown(df, pw, metrics=["e_shd"], alpha=0.05)
    assert "a vs d (1)" in md and "b vs d (1)" in md
    r = S.rank_metric(df, "e_shd")
    assert (r.n_blocks, r.n_blocks_dropped) == (6, 1)


def test_a_dataset_that_could_not_be_made_is_not_counted_as_dropped():
    df = table({"a": A, "b": B}, status={("a", 6): "data_error", ("b", 6): "data_error"})
    r = row(S.pairwise_tests(df, metrics=["e_shd"]), "a", "b")
    assert (r.n_pairs, r.n_dropped, r.wins, r.ties) == (6, 0, 6, 0)
    ranks = S.rank_metric(df, "e_shd")
    assert (ranks.n_blocks, ranks.n_blocks_dropped) == (6, 0)
    # two methods: mean ranks, but no Friedman test and so no CD
    assert ranks.note.startswith("the Friedman test needs 3 methods") and math.isnan(ranks.cd)


def test_the_p_matrix_marks_pairs_without_enough_untied_seeds():
    df = table({"a": A, "b": [1, 2, 3, 4, 6, 7, 8], "c": C})  # a-b: 4 ties, 3 untied seeds
    pw = S.pairwise_tests(df, metrics=["e_shd"])
    assert row(pw, "a", "b").verdict == "not enough untied seeds (3 of 7)"
    md = S.pairwise_markdown(df, pw, metrics=["e_shd"], alpha=0.05)
    assert "*Holm-adjusted p*" in md and " † |" in md and "† not enough seeds for this pair" in md


def test_a_single_seed_says_not_enough_seeds_instead_of_nan(tmp_path):
    df = table({"a": [1.0], "b": [2.0], "c": [3.0]})
    pw = S.pairwise_tests(df, metrics=["e_shd"])
    assert set(pw["verdict"]) == {"not enough seeds (1)"} and pw["p"].isna().all()
    r = S.rank_metric(df, "e_shd")
    assert r.note == "not enough blocks (1): no test" and list(r.mean_ranks) == [1.0, 2.0, 3.0]
    df.to_csv(tmp_path / "scores.csv", index=False)
    S.write_statistics(tmp_path / "scores.csv", tmp_path / "tables", tmp_path / "figures", metrics=["e_shd"])
    csv = (tmp_path / "tables" / "pairwise.csv").read_text()
    # n_untied 1, then test, p, p_holm and better empty: no NaN in the CSV either
    assert all(line.endswith(",1,,,,,not enough seeds (1)") for line in csv.splitlines()[1:])
    for name in ["pairwise.csv", "pairwise.md", "pairwise.html", "ranks.csv", "ranks.md", "summary_e_shd.tex"]:
        text = (tmp_path / "tables" / name).read_text()
        assert not re.search(r"\bnan\b", text, re.IGNORECASE), (name, text)
    assert "Not enough seeds (1): no test is possible." in (tmp_path / "tables" / "pairwise.md").read_text()
    assert "boldmath" not in (tmp_path / "tables" / "summary_e_shd.tex").read_text()


def test_three_seeds_report_p_and_say_no_p_below_alpha_is_possible():
    pw = S.pairwise_tests(table({"a": A[:3], "c": C[:3]}), metrics=["e_shd"])
    r = row(pw, "a", "c")
    assert r.p == pytest.approx(0.25) and r.verdict == "not enough seeds (3)" and r.better == ""
    md = S.pairwise_markdown(table({"a": A[:3], "c": C[:3]}), pw, metrics=["e_shd"], alpha=0.05)
    assert "Not enough seeds (3): no pair can reach α = 0.05; the smallest possible p with 3 seeds is 2/2^3 = 0.25." in md


def test_ties_reduce_the_untied_seeds():
    pw = S.pairwise_tests(table({"a": [1, 2, 3, 4, 5, 6], "b": [1, 2, 4, 5, 6, 7]}), metrics=["e_shd"])
    r = row(pw, "a", "b")
    assert (r.ties, r.n_untied, r.verdict) == (2, 4, "not enough untied seeds (4 of 6)")
    pw = S.pairwise_tests(table({"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0, 3.0 + 1e-13]}), metrics=["e_shd"])
    assert row(pw, "a", "b").verdict == "all tied" and row(pw, "a", "b").ties == 3  # float noise is a tie


def test_too_many_pairs_for_holm_say_so():
    # 4 methods = 6 pairs over 6 seeds: every adjusted p >= 6 * 2/2^6 = 0.1875
    vals = {m: [i * 10 + k for k in range(6)] for i, m in enumerate("abcd")}
    pw = S.pairwise_tests(table(vals), metrics=["e_shd"])
    assert set(pw["verdict"]) == {"not enough seeds (6) for 6 pairs"}
    assert pw["p_holm"].min() >= 0.1875 - 1e-12


def test_methods_are_listed_in_config_order_across_settings():
    df = pd.concat([table({"a": A, "c": C}, setting="big"), table({"a": A, "b": B, "c": C}, setting="small")])
    assert S.method_order(df) == ["a", "b", "c"]


# --------------------------------------------------------------------------- Friedman and Nemenyi


def friedman_table(metric="e_shd", sign=1.0):
    """3 methods x 4 blocks (2 settings x 2 seeds) with ranks (1,2,3) (1,2,3) (1,3,2) (1,2,3)."""
    ranks = [(1, 2, 3), (1, 2, 3), (1, 3, 2), (1, 2, 3)]
    rows = []
    for b, rk in enumerate(ranks):
        for m, r in zip("ABC", rk):
            rows.append({"setting": f"s{b // 2}", "seed": b % 2, "method_id": m, "method": m, "status": "ok",
                         metric: sign * (r + 0.1 * b)})
    return pd.DataFrame(rows)


def test_friedman_iman_davenport_cd_and_groups_by_hand():
    r = S.rank_metric(friedman_table(), "e_shd")
    assert list(r.mean_ranks.index) == ["A", "B", "C"] and list(r.mean_ranks) == [1.0, 2.25, 2.75]
    # chi2 = 12N/(k(k+1)) * (sum R^2 - k(k+1)^2/4) = 4 * (1 + 5.0625 + 7.5625 - 12) = 6.5
    assert r.chi2 == pytest.approx(6.5) and r.p == pytest.approx(math.exp(-6.5 / 2))
    # F = (N-1) chi2 / (N(k-1) - chi2) = 13 on (2, 6) df: sf = (1 + 2F/6)^-3
    assert r.iman_davenport_p == pytest.approx((1 + 26 / 6) ** -3)
    assert r.cd == pytest.approx(2.343 * math.sqrt(12 / 24), abs=1e-3) and r.posthoc
    assert r.groups == [["A", "B"], ["B", "C"]]  # 1.25 <= CD = 1.657 < 1.75
    assert r.nemenyi.loc["A", "C"] < 0.05 <= r.nemenyi.loc["A", "B"]  # the same relation as the CD
    assert (r.n_blocks, r.n_blocks_dropped) == (4, 0)
    up = S.rank_metric(friedman_table("auroc", sign=-1.0), "auroc")  # higher is better: same ranks
    assert list(up.mean_ranks) == [1.0, 2.25, 2.75]


def test_tied_values_share_the_average_rank():
    df = table({"a": [1, 1], "b": [1, 2], "c": [3, 3]})
    r = S.rank_metric(df, "e_shd")
    assert r.mean_ranks.to_dict() == {"a": 1.25, "b": 1.75, "c": 3.0}


def test_an_insignificant_friedman_test_joins_all_methods():
    df = table({"a": [1, 2, 3, 1], "b": [2, 3, 1, 2], "c": [3, 1, 2, 3]})
    r = S.rank_metric(df, "e_shd")
    assert r.p > 0.05 and not r.posthoc and r.groups == [list(r.mean_ranks.index)]


def test_methods_not_fitted_everywhere_or_mostly_failing_are_not_ranked():
    df = pd.concat([table({"a": [1, 2], "b": [2, 3], "c": [3, 4], "f": [0, 0]}, setting="s1",
                          status={("f", 0): "failed", ("f", 1): "timeout"}),
                    table({"a": [1, 2], "b": [2, 3], "c": [3, 4], "f": [0, 0], "x": [0, 0]}, setting="s2",
                          status={("f", 0): "failed"})])
    r = S.rank_metric(df, "e_shd")
    assert r.dropped_methods == {"f": "a finite ok value in only 1 of 4 blocks",
                                 "x": "fitted in 2 of 4 blocks (run_on or skipped)"}
    assert list(r.mean_ranks.index) == ["a", "b", "c"] and r.n_blocks == 4
    ranks = S.ranks_frame([r])
    assert ranks.loc[ranks["method"] == "x", "note"].item().startswith("not ranked: fitted in 2 of 4")


def test_a_metric_without_values_is_skipped_with_a_note():
    df = table({"a": A, "b": B})
    df["tv"] = float("nan")
    r = S.rank_metric(df, "tv")
    assert not r.ranked and r.note == "no values of tv in this run"
    assert S.ranks_frame([r])["note"].tolist() == ["no values of tv in this run"]
    assert S.pairwise_tests(df, metrics=["tv"]).empty
    assert "no values of tv" in S.latex_table(df, "tv", S.pairwise_tests(df, metrics=["tv"]))
    assert "No values of tv in this run" in S.pairwise_markdown(df, S.pairwise_tests(df, metrics=["tv"]),
                                                                metrics=["tv"], alpha=0.05)


def test_the_cd_diagram_draws_one_bar_per_group_and_the_cd():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from evaluation.cd_diagram import cd_figure

    r = S.rank_metric(friedman_table(), "e_shd")
    fig = cd_figure(r, title="E-SHD ↓", colors={"A": "#0072B2"}, bold={"A"})
    ax = fig.axes[0]
    assert len([ln for ln in ax.lines if ln.get_gid() == "group"]) == 2
    texts = {t.get_gid(): t for t in ax.texts if t.get_gid() in ("cd", "name")}
    assert texts["cd"].get_text() == f"CD = {r.cd:.2f}"
    names = [t.get_text() for t in ax.texts if t.get_gid() == "name"]
    assert names == ["A (1.00)", "B (2.25)", "(2.75) C"]
    plt.close(fig)
    empty = cd_figure(S.rank_metric(table({"a": [1.0]}), "e_shd"))
    assert [t.get_text() for t in empty.axes[0].texts if t.get_gid() == "reason"] == ["fewer than 2 methods to rank (1)"]
    plt.close(empty)


# --------------------------------------------------------------------------- LaTeX


def test_latex_escape():
    assert S.latex_escape("dibs_bge[posterior=dibs+]") == r"dibs\_bge{[}posterior=dibs+{]}"
    assert S.latex_escape("a&b%c#d$e~f^g\\h{i}") == (r"a\&b\%c\#d\$e\textasciitilde{}f\textasciicircum{}g"
                                                     r"\textbackslash{}h\{i\}")
    assert S.latex_escape("KL(exact ‖ ·) ↓").isascii()


def test_latex_bold_only_where_the_paired_test_says_significantly_best():
    df = table({"a": A, "c": C})  # a better on all 7 seeds: Holm p = 2/2^7 for the one pair
    tex = S.latex_table(df, "e_shd", S.pairwise_tests(df, metrics=["e_shd"]))
    assert r"a & {\boldmath $4.0 \pm 0.8$} \\" in tex and tex.count("boldmath") == 1
    df = table({"a": A, "b": B, "c": C})  # a has the best mean but is not significantly better than b
    tex = S.latex_table(df, "e_shd", S.pairwise_tests(df, metrics=["e_shd"]))
    assert "boldmath" not in tex and r"\toprule" in tex and tex.isascii()
    df = table({"a": A[:3], "c": C[:3]})
    assert "too few seeds" in S.latex_table(df, "e_shd", S.pairwise_tests(df, metrics=["e_shd"]))


def test_latex_marks_cells_with_failed_fits_and_can_show_bootstrap_intervals():
    df = table({"a_1": A, "c": C}, status={("a_1", 0): "failed"})
    tex = S.latex_table(df, "e_shd", S.pairwise_tests(df, metrics=["e_shd"]), spread="bootstrap_ci",
                        resamples=500, seed=3)
    m, lo, hi = bootstrap_ci(A[1:], resamples=500, rng=cell_rng(3, "s", "a_1", "e_shd"))
    assert "$^{\\dagger}$" in tex and r"a\_1 & " in tex
    assert f"${m:.1f}\\ [{lo:.1f}, {hi:.1f}]$" in tex and r"500 resamples" in tex and r"95\%" in tex
    summary = summary_tables(df, spread="bootstrap_ci", resamples=500, seed=3)["s"].set_index("method")
    assert summary.loc["a_1", "E-SHD ↓"] == f"{m:.1f} [{lo:.1f}, {hi:.1f}]"  # the same numbers as the summary


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed here")
def test_the_latex_tables_compile(tmp_path):
    df = pd.concat([table({"a_1": A, "b[x=1,y=+]": B, "c": C}, status={("c", 2): "failed"}),
                    table({"a_1": A, "b[x=1,y=+]": C, "c": B}, setting="er1-lin_d10", metric="e_shd")])
    pw = S.pairwise_tests(df, metrics=["e_shd"])
    body = [S.latex_table(df, "e_shd", pw), S.latex_table(df, "e_shd", pw, spread="bootstrap_ci")]
    doc = "\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n" + "\n".join(body) + "\\end{document}\n"
    (tmp_path / "t.tex").write_text(doc)
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:]
    assert (tmp_path / "t.pdf").exists()


# --------------------------------------------------------------------------- bootstrap CIs in the summary


def test_bootstrap_ci_by_hand():
    # the mean of 2 draws from {0, 1} is 0, 0.5 or 1 with probability 1/4, 1/2, 1/4
    m, lo, hi = bootstrap_ci([0.0, 1.0], resamples=20000, confidence=0.95)
    assert (m, lo, hi) == (0.5, 0.0, 1.0)
    assert bootstrap_ci([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)
    m, lo, hi = bootstrap_ci([5.0, float("nan")])
    assert m == 5.0 and math.isnan(lo) and math.isnan(hi)
    one = bootstrap_ci([1, 4, 9, 16], rng=cell_rng(0, "s", "m", "e_shd"))
    assert one == bootstrap_ci([1, 4, 9, 16], rng=cell_rng(0, "s", "m", "e_shd"))  # seeded per cell
    assert spread_cell([0.0, 1.0], 3, spread="bootstrap_ci", resamples=20000) == "0.500 [0.000, 1.000]"
    assert spread_cell([7.0], 1, spread="bootstrap_ci") == "7.0" and spread_cell([], 1) == "–"


def test_the_summary_can_show_bootstrap_intervals_and_defaults_to_standard_errors():
    df = table({"pc": [2.0, 4.0], "dibs": [1.0, 3.0]})
    assert summary_tables(df)["s"].set_index("method").loc["pc", "E-SHD ↓"] == "3.0 ± 1.0"
    boot = summary_tables(df, spread="bootstrap_ci", resamples=4000)["s"].set_index("method")
    assert boot.loc["pc", "E-SHD ↓"] == "3.0 [2.0, 4.0]"
    assert "1000 resamples" in summary_note("bootstrap_ci") and "95%" in summary_note("bootstrap_ci")
    with pytest.raises(ValueError, match="spread"):
        spread_cell([1.0], 1, spread="sd")


# --------------------------------------------------------------------------- the files


def test_write_statistics_writes_exactly_the_declared_files_deterministically(tmp_path):
    df = pd.concat([table({"a": A, "b": B, "c": C}), table({"a": C, "b": B, "c": A}, setting="t")])
    df["auroc"] = 1.0 / (1.0 + df["e_shd"])
    df.loc[(df["method_id"] == "b") & (df["seed"] == 3), ["status", "e_shd", "auroc"]] = ["timeout", None, None]
    df.to_csv(tmp_path / "scores.csv", index=False)
    outs = []
    for run in ("one", "two"):
        written = S.write_statistics(tmp_path / "scores.csv", tmp_path / run / "tables", tmp_path / run / "figures",
                                     spread="bootstrap_ci", resamples=200, highlight=["a"])
        assert sorted(p.name for p in written if p.parent.name == "tables") == sorted(S.table_names())
        assert sorted(p.name for p in written if p.parent.name == "figures") == sorted(S.figure_names())
        assert all(p.exists() for p in written)
        outs.append({p.relative_to(tmp_path / run): p.read_bytes() for p in written})
    assert outs[0] == outs[1]
    ranks = pd.read_csv(tmp_path / "one" / "tables" / "ranks.csv")
    assert ranks.loc[ranks["metric"] == "e_shd", "n_blocks_dropped"].iloc[0] == 2  # b timed out on seed 3 of s and t
    assert "cd_e_shd.png" in S.figure_names(["e_shd"]) and S.table_names(["f1"])[-1] == "summary_f1.tex"
    with pytest.raises(ValueError, match="no direction"):
        S.write_statistics(tmp_path / "scores.csv", tmp_path, tmp_path, metrics=["wall_s"])


# --------------------------------------------------------------------------- the config block


ROOT = Path(__file__).resolve().parent.parent
BASE = {
    "seeds": 2,
    "settings": [{"simulator": "linear", "params": {"d": 5, "n": 50}}],
    "methods": [{"method": "pc", "params": {"alpha": 0.05}}, {"method": "empty"}],
}


def test_the_statistics_config_block_is_validated_by_name_and_reaches_the_plan():
    from dagbench.config import ConfigError, load_plan, load_yaml


    plan = load_plan(load_yaml(ROOT / "config" / "config.yaml"))
    assert dataclasses.asdict(plan.statistics) == {"spread": "se", "confidence": 0.95,
                                                   "bootstrap_resamples": 1000, "alpha": 0.05}
    cfg = copy.deepcopy(BASE)
    assert load_plan(cfg).statistics.spread == "se"  # defaults without the block
    cfg["statistics"] = {"spread": "bootstrap_ci", "bootstrap_resamples": 2000}
    st = load_plan(cfg).statistics
    assert (st.spread, st.bootstrap_resamples, st.confidence, st.alpha) == ("bootstrap_ci", 2000, 0.95, 0.05)
    assert dataclasses.asdict(load_plan(cfg))["statistics"]["spread"] == "bootstrap_ci"  # in the resolved config
    for bad, want in [({"spred": "se"}, "statistics: Additional properties are not allowed ('spred' was "
                                        "unexpected) (allowed keys: alpha, bootstrap_resamples, confidence, spread)"),
                      ({"spread": "ci"}, "statistics.spread: 'ci' is not one of ['se', 'bootstrap_ci']"),
                      ({"alpha": 1.5}, "statistics.alpha: 1.5 is greater than or equal to the maximum of 1"),
                      ({"confidence": 0}, "statistics.confidence: 0 is less than or equal to the minimum of 0"),
                      ({"bootstrap_resamples": 1000.0}, "statistics.bootstrap_resamples: 1000.0 is not of type "
                                                         "'integer'")]:
        cfg["statistics"] = bad
        with pytest.raises(ConfigError) as info:
            load_plan(cfg)
        assert any(want in p for p in info.value.problems), info.value.problems
