"""evaluation/sortability.py: var- and R²-sortability (Reisach et al. 2021, 2023).

Run: python -m pytest tests/test_sortability.py -q
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from evaluation.sortability import order_alignment, r2_scores, r2_sortability, var_sortability


def brute_force(g: np.ndarray, s: np.ndarray, tol: float = 0.0) -> float:
    """The papers' formula by explicit path enumeration: every simple directed path of
    length k = 1..d-1 puts its endpoint pair in E^k (a set per k)."""
    d = len(g)
    num = den = 0.0
    for k in range(1, d):
        pairs = set()
        for path in itertools.permutations(range(d), k + 1):
            if all(g[path[t], path[t + 1]] for t in range(k)):
                pairs.add((path[0], path[-1]))
        for i, j in pairs:
            den += 1
            num += 1.0 if s[j] > s[i] + tol else (0.5 if s[j] >= s[i] - tol else 0.0)
    return num / den if den else float("nan")


def chain(d: int) -> np.ndarray:
    g = np.zeros((d, d), np.int8)
    g[np.arange(d - 1), np.arange(1, d)] = 1
    return g


def test_chain_increasing_decreasing_and_ties():
    g = chain(4)
    assert order_alignment(g, np.array([1.0, 2, 3, 4])) == 1.0
    assert order_alignment(g, np.array([4.0, 3, 2, 1])) == 0.0
    assert order_alignment(g, np.ones(4)) == 0.5                 # ties count 1/2
    # tol widens the ties: 1.0 vs 1.05 is a tie at tol 0.1
    assert order_alignment(chain(2), np.array([1.0, 1.05])) == 1.0
    assert order_alignment(chain(2), np.array([1.0, 1.05]), tol=0.1) == 0.5


def test_pairs_count_once_per_path_length():
    # 0 -> 1 -> 2 and 0 -> 2: E^1 = {01, 12, 02}, E^2 = {02}; scores up, down, up:
    # (1 + 0 + 1 + 1) / 4 = 3/4, where counting each pair (or each edge) once would give 2/3
    g = np.zeros((3, 3), np.int8)
    g[0, 1] = g[1, 2] = g[0, 2] = 1
    s = np.array([0.0, 2.0, 1.0])
    assert order_alignment(g, s) == pytest.approx(3 / 4)
    assert brute_force(g, s) == pytest.approx(3 / 4)


def test_matches_brute_force_on_random_dags():
    rng = np.random.default_rng(0)
    for _ in range(30):
        d = int(rng.integers(2, 7))
        g = np.triu(rng.random((d, d)) < 0.5, 1).astype(np.int8)
        perm = rng.permutation(d)
        g = g[np.ix_(perm, perm)]
        s = rng.integers(0, 3, size=d).astype(float)            # small integers: many ties
        want = brute_force(g, s)
        got = order_alignment(g, s)
        if np.isnan(want):
            assert np.isnan(got)
        else:
            assert got == pytest.approx(want)


def test_no_edges_is_nan_and_bad_input():
    assert np.isnan(order_alignment(np.zeros((3, 3)), np.arange(3.0)))
    with pytest.raises(ValueError):
        order_alignment(np.zeros((3, 3)), np.arange(4.0))
    with pytest.raises(ValueError):
        order_alignment(chain(3), np.arange(3.0), tol=-1)


def test_r2_scores_match_least_squares():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 4)) @ rng.normal(size=(4, 4)) + 3.0
    r2 = r2_scores(x)
    for j in range(4):
        others = np.c_[np.ones(200), np.delete(x, j, axis=1)]
        resid = x[:, j] - others @ np.linalg.lstsq(others, x[:, j], rcond=None)[0]
        assert r2[j] == pytest.approx(1 - resid.var() / x[:, j].var(), abs=1e-10)
    # a duplicated column: singular correlation, R² = 1 for both copies by least squares
    dup = np.c_[x, x[:, 0]]
    r2d = r2_scores(dup)
    assert r2d[0] == pytest.approx(1.0) and r2d[-1] == pytest.approx(1.0)


def test_var_and_r2_sortability_of_a_raw_linear_chain():
    # x_j = x_{j-1} + e: variances 1, 2, 3, ... increase along the chain
    rng = np.random.default_rng(2)
    d, n = 6, 20000
    x = np.cumsum(rng.normal(size=(n, d)), axis=1)
    g = chain(d)
    assert var_sortability(x, g) == 1.0
    assert var_sortability(x[:, ::-1], g) == 0.0               # columns reversed: order reversed
    # standardising changes varsortability, not R²-sortability
    z = x / x.std(0) * np.array([5.0, 4, 3, 2, 1, 0.5])
    assert var_sortability(z, g) == 0.0
    assert r2_sortability(z, g) == pytest.approx(r2_sortability(x, g))
    assert 0.0 <= r2_sortability(x, g) <= 1.0


def test_the_score_table_carries_the_datasets_sortability():
    """score_fit reports the data's var- and R²-sortability: near 1 on raw simulated
    linear data (variance grows along the causal order), exactly 0.5 once standardised
    (all variances tie), and R²-sortability unchanged by the scaling."""
    from evaluation.scoring import score_fit
    from simulators.base import get

    out = {}
    for standardise in (False, True):
        ds = get("linear")(d=10, edges_per_node=1.0, n=300, n_heldout=50, standardise=standardise).simulate(seed=3)
        empty = {"graphs": np.zeros((1, 10, 10), dtype=np.int8), "weights": np.ones(1)}
        out[standardise] = score_fit(empty, ds)
    assert out[False]["var_sortability"] > 0.8  # a random order of variances gives 0.5
    assert out[True]["var_sortability"] == 0.5
    assert abs(out[True]["r2_sortability"] - out[False]["r2_sortability"]) < 1e-9
