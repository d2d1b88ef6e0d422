"""Figures: each panel shows the methods that ran on its setting, and a panel that shows
nothing says why."""
import json
import warnings

import numpy as np
import pandas as pd
import pytest

from evaluation import plots


def test_metric_panels_leave_out_methods_not_run_on_the_setting(monkeypatch, tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    rows = [{"setting": s, "seed": k, "method_id": m, "method": m, "status": "ok", "e_shd": float(k)}
            for s, ms in (("lin", ["pc", "bge"]), ("mlp", ["pc", "mlp"])) for m in ms for k in range(2)]
    df = pd.DataFrame(rows)
    captured = {}
    monkeypatch.setattr(plots, "_save", lambda fig, stem, **kw: captured.setdefault("fig", fig) and [])
    plots.metric_figure(df, "e_shd", "expected SHD (lower is better)", plots.Style(df, []), tmp_path / "e")
    axes = [ax for ax in captured["fig"].axes if ax.get_visible()]
    ticks = {ax.get_title(): [t.get_text() for t in ax.get_xticklabels()] for ax in axes}
    assert ticks == {"lin (2 seeds)": ["pc", "bge"], "mlp (2 seeds)": ["pc", "mlp"]}
    assert axes[0].get_ylabel() == "expected SHD\n(lower is better)"


# --- every panel that shows nothing says why --------------------------------------------
# Helpers: a results folder with datasets (simulators.base.Dataset.save), fits
# (methods.base.GraphPosterior.save), the simulate step's marker of a dataset that could
# not be made, and the score table's rows.
CHAIN = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])  # A -> B -> C
EMPTY = np.zeros((3, 3), dtype=int)


def _dataset(results, setting, seed, g, names=None):
    from simulators.base import Dataset

    rng = np.random.default_rng(seed)
    path = results / "data" / setting / f"seed{seed}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    Dataset(x=rng.normal(size=(20, len(g))), x_heldout=rng.normal(size=(10, len(g))), g_true=g,
            node_names=names, meta={"setting": setting}).save(path)


def _no_dataset(results, setting, seed):
    """What the simulate step writes for a dataset that could not be made."""
    path = results / "data" / setting / f"seed{seed}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    reason = f"dataset {setting} seed {seed} could not be made: constant columns: R"
    np.savez(path, data_error=np.array(reason))
    path.with_suffix(".json").write_text(json.dumps({"status": "data_error", "reason": reason,
                                                     "setting": setting, "seed": seed}))


def _fit(results, setting, seed, method, graphs, weights=None, edge_probs=None):
    from methods.base import GraphPosterior

    path = results / "fits" / setting / f"seed{seed}" / f"{method}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    GraphPosterior(np.asarray(graphs, dtype=np.int8), weights, edge_probs=edge_probs,
                   may_be_cyclic=True).save(path)


def _row(setting, seed, method, status="ok", **scores):
    row = {"setting": setting, "seed": seed, "method_id": method, "method": method, "status": status,
           "reason": "" if status == "ok" else f"{status} reason"}
    if status == "ok":
        row.update({"e_shd": 1.0 + seed, "auroc": 0.7, "auprc": 0.5, "f1": 0.5, "shd_cpdag": 1.0,
                    "ll_heldout": -3.0, "wall_s": 1.0 + seed, "n_edges_true": 2.0})
    row.update(scores)
    return row


@pytest.fixture
def figures(monkeypatch):
    """{figure name: Figure} of every figure drawn; each is also written as PNG and PDF."""
    import matplotlib
    matplotlib.use("Agg")
    drawn, save = {}, plots._save

    def keep(fig, stem, **kw):
        drawn[stem.name] = fig
        return save(fig, stem, **kw)
    monkeypatch.setattr(plots, "_save", keep)
    return drawn


def _plot_all(df, results, outdir):
    """plot_all on ``df`` (as scores.csv); no matplotlib warning (e.g. 'No artists with labels')."""
    results.mkdir(parents=True, exist_ok=True)
    table = results / "scores.csv"
    df.to_csv(table, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        return plots.plot_all(table, results=results, outdir=outdir)


def _texts(ax, gid):
    return [t.get_text().replace("\n", " ") for t in ax.texts if t.get_gid() == gid]


def _legend_texts(fig):
    """The entries of the figure's legend (drawn below the panels, never inside one)."""
    assert all(ax.get_legend() is None for ax in fig.axes), "a legend inside a panel"
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def _panels(fig):
    """The visible panels of a figure by title (the colour bar is not a panel)."""
    return {ax.get_title(): ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"}


def _shows_something(ax) -> bool:
    return bool(ax.images or ax.containers or any(len(c.get_offsets()) for c in ax.collections)
                or any(not line.get_label().startswith("_") for line in ax.lines))


def _check_every_panel(figs):
    """Each panel shows something or says why; no legend without entries."""
    for name, fig in figs.items():
        for title, ax in _panels(fig).items():
            if not _shows_something(ax):
                assert _texts(ax, "reason"), f"{name}: panel {title!r} is empty and says nothing"
            assert ax.get_legend() is None, f"{name}: a legend inside panel {title!r}"
        for legend in fig.legends:
            assert legend.get_texts(), f"{name}: empty legend"


def test_reasons_name_the_cause():
    df = pd.DataFrame([_row("s", k, m, auroc=np.nan, auprc=np.nan, n_edges_true=0.0)
                       for m in ("pc", "ges") for k in (0, 1)])
    assert plots.metric_reason(df, "auroc") == (
        "no finite values of auroc: the true graph has no edges in any seed (AUROC undefined)")
    assert plots.metric_reason(df, "e_shd") == ""
    assert plots.metric_reason(df, "shd_map") == "no shd_map column in the score table"
    unknown = df.assign(e_shd=np.nan, n_edges_true=np.nan)
    assert plots.metric_reason(unknown, "e_shd") == "no finite values of e_shd: the true graph is unknown"
    failed = df.assign(status="failed")
    assert plots.metric_reason(failed, "e_shd") == "no fit ended ok"
    assert plots.runtime_reason(failed, "wall_s") == "no fit ended ok"
    assert plots.runtime_reason(df, None) == "no timing column (fit_s or wall_s) in the score table"
    assert plots.runtime_reason(df.assign(wall_s=np.nan), "wall_s") == "no finite values of wall_s"
    lost = pd.DataFrame([_row("s", k, m, "data_error") for m in ("pc", "ges") for k in (0, 1)])
    for why in (plots.metric_reason(lost, "e_shd"), plots.runtime_reason(lost, "wall_s"),
                plots.accuracy_panel(lost, "wall_s", ["pc", "ges"])[1]):
        assert why == "no dataset could be made (seeds 0, 1)"
    # a seed without a dataset is not each method's failure
    mixed = pd.concat([df, pd.DataFrame([_row("s", 3, m, "data_error") for m in ("pc", "ges")]),
                       pd.DataFrame([_row("s", 4, "pc", "failed")])])
    assert plots._not_ok_note(mixed) == "no dataset: seed 3; not shown (not ok): pc ×1"


def test_roc_of_an_empty_true_graph_says_why_and_draws_no_legend(tmp_path, figures):
    results = tmp_path / "results"
    rows = []
    for k in (0, 1):
        _dataset(results, "empty-truth", k, EMPTY)
        for m, g in (("pc", CHAIN), ("empty", EMPTY)):
            _fit(results, "empty-truth", k, m, g[None])
            rows.append(_row("empty-truth", k, m, auroc=np.nan, auprc=np.nan, n_edges_true=0.0))
    _plot_all(pd.DataFrame(rows), results, tmp_path / "fig")
    (ax,) = _panels(figures["roc"]).values()
    assert _texts(ax, "reason") == [
        "no ROC curve: the true graph has no edges in any seed (AUROC undefined)"]
    assert ax.get_legend() is None
    (ax,) = _panels(figures["auroc"]).values()
    assert _texts(ax, "reason") == [
        "no finite values of auroc: the true graph has no edges in any seed (AUROC undefined)"]
    _check_every_panel(figures)
    assert (tmp_path / "fig" / "roc.png").exists()
    # calibration is defined for an empty truth: the reliability panel draws and says why
    # every observed share is 0
    (ax,) = _panels(figures["reliability"]).values()
    assert not _texts(ax, "reason")
    assert _texts(ax, "note") == ["no true edge in any seed: every observed frequency is 0"]
    assert _legend_texts(figures["reliability"]) == ["pc", "empty", "perfect calibration"]
    assert not figures["roc"].legends


def test_a_setting_without_any_dataset_says_so_in_every_figure(tmp_path, figures):
    results = tmp_path / "results"
    rows = []
    for k in (0, 1, 2):  # 'lin': seed 0's dataset could not be made, 1 and 2 are fine
        if k == 0:
            _no_dataset(results, "lin", k)
        else:
            _dataset(results, "lin", k, CHAIN)
        for m in ("pc", "ges"):
            if k:
                _fit(results, "lin", k, m, CHAIN[None])
            rows.append(_row("lin", k, m, "ok" if k else "data_error"))
    for k in (0, 1):  # 'broken': no dataset could be made at all
        _no_dataset(results, "broken", k)
        rows += [_row("broken", k, m, "data_error") for m in ("pc", "ges")]
    _plot_all(pd.DataFrame(rows), results, tmp_path / "fig")
    _check_every_panel(figures)
    why = "no dataset could be made (seeds 0, 1)"
    for name in [*plots.METRICS, "roc", "reliability", "accuracy_vs_runtime"]:
        panels = list(_panels(figures[name]).values())
        assert _texts(panels[1], "reason") == [why], name
        assert not _texts(panels[0], "reason"), name
        assert _texts(panels[0], "note") == ["no dataset: seed 0"], name  # not 'pc ×1, ges ×1'
    (ax,) = _panels(figures["runtime"]).values()
    assert _texts(ax, "note") == [f"lin: no dataset: seed 0 broken: {why}"]
    assert _legend_texts(figures["runtime"]) == ["lin (2 seeds)"]
    # adjacency: 'lin' is shown for seed 1, the first seed whose dataset exists
    adjacency = figures["adjacency"].axes
    ncols = 3
    assert adjacency[0].get_ylabel().startswith("lin\nseed 1")
    assert adjacency[0].images and adjacency[1].images and adjacency[2].images
    assert _texts(adjacency[ncols], "reason") == [why]
    assert [_texts(ax, "reason") for ax in adjacency[ncols + 1:2 * ncols]] == [["no dataset"]] * 2


def test_adjacency_picks_the_first_seed_whose_data_file_exists(tmp_path):
    results = tmp_path / "results"
    df = pd.DataFrame([_row("lin", k, "pc") for k in (0, 1)])
    _dataset(results, "lin", 1, CHAIN)  # seed 0's data file is missing
    _fit(results, "lin", 1, "pc", CHAIN[None])
    seed, panels = plots.adjacency_row(df, results, "lin", ["pc"])
    assert seed == 1 and [p[2] for p in panels] == ["true graph unknown", "ok"]
    assert (panels[0][1] == CHAIN).all() and (panels[1][1] == CHAIN).all()
    seed, panels = plots.adjacency_row(df[df["seed"] == 0], results, "lin", ["pc"])
    assert seed is None and panels == [("true graph", None, "no data file for seed 0"),
                                       ("pc", None, "no data file")]


def test_roc_and_adjacency_use_the_scored_marginals_of_an_all_cyclic_fit(tmp_path, figures):
    results = tmp_path / "results"
    two_cycle = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]])  # A <-> B: cyclic, scored as empty
    rows = []
    for k in (0, 1):
        _dataset(results, "lin", k, CHAIN)
        # saved edge_probs as a method may give them (or an older save wrote them): the 2-cycle
        _fit(results, "lin", k, "dibs", two_cycle[None], np.ones(1), edge_probs=two_cycle.astype(float))
        _fit(results, "lin", k, "pc", CHAIN[None])
        rows += [_row("lin", k, m) for m in ("dibs", "pc", "ges")]  # ges: its fit files are lost
    df = pd.DataFrame(rows)
    curves, reason, note = plots.roc_panel(df, results, "lin", ["dibs", "pc", "ges"])
    assert reason == "" and set(curves) == {"dibs", "pc"}
    assert not curves["dibs"][1].any()  # the empty graph's marginals, not the saved 2-cycle
    assert curves["dibs"][0].sum() == 2 * 2 and len(curves["dibs"][0]) == 2 * 6  # 2 seeds x (2 of 6)
    assert note == "fit file missing: ges ×2"  # ges is not silently left out
    _plot_all(df, results, tmp_path / "fig")
    _check_every_panel(figures)
    (ax,) = _panels(figures["roc"]).values()
    (line,) = [ln for ln in ax.lines if ln.get_label() == "dibs"]
    assert list(line.get_xdata()) == [0, 1] and list(line.get_ydata()) == [0, 1]
    assert _texts(ax, "note") == ["fit file missing: ges ×2"]
    assert _legend_texts(figures["roc"]) == ["dibs", "pc"]
    assert ax.get_title() == "lin (pooled over 2 seeds)"
    seed, panels = plots.adjacency_row(df, results, "lin", ["dibs", "pc", "ges"])
    assert not panels[1][1].any() and (panels[2][1] == CHAIN).all()
    assert panels[3] == ("ges", None, "fit file missing")


def test_empty_truth_case_through_the_real_steps(tmp_path):
    """tests/cases/empty-truth (four independent columns, empty true graph) through the
    workflow's own steps (simulate, fit, evaluate, aggregate): the ROC panel says why it
    is empty instead of showing a blank plot with an empty legend."""
    from pathlib import Path

    from dagbench import runner
    from evaluation.aggregate import aggregate

    case = Path(__file__).parent / "cases" / "empty-truth"
    results = tmp_path / "results"
    setting = {"id": "empty-truth", "simulator": "csv",
               "params": {"path": str(case / "data.csv"), "graph_path": str(case / "graph.csv")}}
    scores = []
    for seed in (0, 1):
        data = results / "data" / "empty-truth" / f"seed{seed}.npz"
        data.parent.mkdir(parents=True, exist_ok=True)
        assert runner.simulate(setting, seed=seed, out=data) is None
        for method in ("empty", "ges"):
            spec = {"id": method, "method": method, "params": {}, "timeout_s": 120}
            record = results / "fits" / "empty-truth" / f"seed{seed}" / f"{method}.json"
            record.parent.mkdir(parents=True, exist_ok=True)
            assert runner.fit(spec, data=data, seed=seed, out=record)["status"] == "ok"
            out = results / "scores" / "empty-truth" / f"seed{seed}" / f"{method}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            runner.evaluate(data=data, fit_record=record, benchmark=None, setting=setting,
                            method=spec, out=out)
            scores.append(out)
    table = results / "tables" / "scores.csv"
    table.parent.mkdir(parents=True)
    df = aggregate(scores, csv_path=table, summary_path=results / "tables" / "summary.md")
    assert df["auroc"].isna().all() and (df["n_edges_true"] == 0).all()
    curves, reason, _ = plots.roc_panel(df, results, "empty-truth", ["empty", "ges"])
    assert curves == {}
    assert reason == "no ROC curve: the true graph has no edges in any seed (AUROC undefined)"


# --- reliability diagram ------------------------------------------------------------------

def test_reliability_figure_pools_the_scored_marginals_over_seeds(tmp_path, figures):
    results = tmp_path / "results"
    two_cycle = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]])  # A <-> B: cyclic, scored as empty
    half = np.array([[0, 0.5, 0.5], [0.5, 0, 0.5], [0, 0, 0]])  # calibrated on CHAIN: 2 of 4 at 0.5
    rows = []
    for k in (0, 1):
        _dataset(results, "lin", k, CHAIN)
        _fit(results, "lin", k, "pc", CHAIN[None])
        # saved edge_probs as a method may give them: the 2-cycle; scored: all 0
        _fit(results, "lin", k, "dibs", two_cycle[None], np.ones(1), edge_probs=two_cycle.astype(float))
        _fit(results, "lin", k, "boot", np.stack([CHAIN, EMPTY]), np.array([0.5, 0.5]),
             edge_probs=half)
        rows += [_row("lin", k, m) for m in ("pc", "dibs", "boot")]
        rows.append(_row("lin", k, "ges", "ok" if k == 0 else "failed"))
        if k == 0:
            _fit(results, "lin", k, "ges", CHAIN[None])
    df = pd.DataFrame(rows)
    curves, n_seeds, reason, note = plots.reliability_panel(df, results, "lin", ["pc", "dibs", "boot", "ges"])
    assert reason == "" and n_seeds == 2 and set(curves) == {"pc", "dibs", "boot", "ges"}
    mean_p, freq, count, k = curves["pc"]  # 2 seeds x 6 pairs: 4 true edges at 1, 8 non-edges at 0
    assert k == 2 and count.tolist() == [8, 0, 0, 0, 0, 0, 0, 0, 0, 4]
    assert (mean_p[0], freq[0], mean_p[9], freq[9]) == (0, 0, 1, 1)
    mean_p, freq, count, _ = curves["dibs"]  # the empty graph's marginals, not the saved 2-cycle
    assert count.tolist() == [12] + [0] * 9 and freq[0] == pytest.approx(4 / 12)
    mean_p, freq, count, _ = curves["boot"]  # the saved marginals: calibrated
    assert count[5] == 8 and mean_p[5] == 0.5 and freq[5] == 0.5 and count[0] == 4 and freq[0] == 0
    assert curves["ges"][3] == 1
    assert note == "not shown (not ok): ges ×1"
    _plot_all(df, results, tmp_path / "fig")
    _check_every_panel(figures)
    assert (tmp_path / "fig" / "reliability.png").exists() and (tmp_path / "fig" / "reliability.pdf").exists()
    (ax,) = _panels(figures["reliability"]).values()
    assert ax.get_title() == "lin (pooled over 2 seeds)"
    assert _legend_texts(figures["reliability"]) == ["pc", "dibs", "boot", "ges", "perfect calibration"]
    (line,) = [ln for ln in ax.lines if ln.get_label() == "boot"]
    assert list(line.get_xdata()) == [0, 0.5] and list(line.get_ydata()) == [0, 0.5]  # non-empty bins
    assert line.get_marker() not in (None, "None", "")
    (diag,) = [ln for ln in ax.lines if ln.get_label() == "perfect calibration"]
    assert list(diag.get_xdata()) == [0, 1] and list(diag.get_ydata()) == [0, 1]
    assert _texts(ax, "note") == ["not shown (not ok): ges ×1; pooled over fewer seeds: ges (1 of 2)"]


def test_empty_reliability_panels_say_why(tmp_path, figures):
    from simulators.base import Dataset

    results = tmp_path / "results"
    rows = []
    for k in (0, 1):
        # 'user': data without a true graph; 'failed': no fit ended ok; 'lost': fit files lost
        path = results / "data" / "user" / f"seed{k}.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(k)
        Dataset(x=rng.normal(size=(20, 3)), x_heldout=rng.normal(size=(10, 3)), g_true=EMPTY,
                meta={"setting": "user", "graph_known": False}).save(path)
        _fit(results, "user", k, "pc", CHAIN[None])
        rows.append(_row("user", k, "pc", e_shd=np.nan, n_edges_true=np.nan))
        rows.append(_row("failed", k, "pc", "failed"))
        _dataset(results, "lost", k, CHAIN)
        rows.append(_row("lost", k, "pc"))
    df = pd.DataFrame(rows)
    _plot_all(df, results, tmp_path / "fig")
    _check_every_panel(figures)
    panels = _panels(figures["reliability"])
    assert list(panels) == ["user", "failed", "lost"]  # no 'pooled over' in an empty panel's title
    assert _texts(panels["user"], "reason") == ["no reliability curve: the true graph is unknown"]
    assert _texts(panels["failed"], "reason") == ["no fit ended ok"]
    assert _texts(panels["lost"], "reason") == ["no reliability curve: no ok fit has a readable fit file"]
    assert _texts(panels["lost"], "note") == ["fit file missing: pc ×2"]
    for ax in panels.values():
        assert ax.get_legend() is None
        assert not [ln for ln in ax.lines if not ln.get_label().startswith("_")]


# --- figures a researcher can put in a paper ----------------------------------------------
# A study: datasets (the chain A -> B -> C), fits (the chain) and ok score rows for each
# setting x seed x method; ``scores(setting, seed, method)`` gives a row's scores.

def _study(results, methods, seeds=(0, 1, 2), settings=("lin",), scores=None, names=None):
    rows = []
    for s in settings:
        for k in seeds:
            _dataset(results, s, k, CHAIN, names)
            for m in methods:
                _fit(results, s, k, m, CHAIN[None])
                rows.append(_row(s, k, m, **(scores(s, k, m) if scores else {})))
    return pd.DataFrame(rows)


def _errorbars(ax):
    """{x: (mean, s.e.)} of the mean ± s.e. markers of a metric panel (s.e. NaN when none)."""
    from matplotlib.container import ErrorbarContainer

    out = {}
    for c in ax.containers:
        if isinstance(c, ErrorbarContainer):
            line, _, bars = c.lines
            (x,), (y,) = line.get_xdata(), line.get_ydata()
            se = (bars[0].get_segments()[0][1][1] - y) if bars else np.nan
            out[round(float(x))] = (float(y), float(se))
    return out


def _boxes(ax):
    from matplotlib.patches import PathPatch

    return [p for p in ax.patches if isinstance(p, PathPatch) or p.get_gid() == "box"]


def test_few_seeds_show_mean_and_standard_error_not_boxes(tmp_path, figures):
    from evaluation.aggregate import mean_se

    results = tmp_path / "results"
    df = _study(results, ["pc", "ges"], scores=lambda s, k, m: {"e_shd": [2.0, 3.0, 7.0][k] + (m == "ges")})
    _plot_all(df, results, tmp_path / "fig")
    (ax,) = _panels(figures["e_shd"]).values()
    assert not _boxes(ax)  # a box of three points is not drawn
    bars = _errorbars(ax)
    for i, m in enumerate(["pc", "ges"]):
        mean, se = mean_se(df.loc[df["method_id"] == m, "e_shd"])
        assert bars[i] == (pytest.approx(mean), pytest.approx(se))
    dots = [c for c in ax.collections if len(c.get_offsets()) == 3]  # one dot per seed
    assert len(dots) == 2 and sorted(dots[0].get_offsets()[:, 1]) == [2.0, 3.0, 7.0]
    assert "box" not in " ".join(_legend_texts(figures["e_shd"]))
    # ten seeds: a box per method, the dots and the mean ± s.e. stay
    figures.clear()
    df = _study(tmp_path / "r10", ["pc", "ges"], seeds=range(plots.BOX_MIN_SEEDS),
                scores=lambda s, k, m: {"e_shd": float(k % 4)})
    _plot_all(df, tmp_path / "r10", tmp_path / "fig10")
    (ax,) = _panels(figures["e_shd"]).values()
    assert len(_boxes(ax)) == 2 and len(_errorbars(ax)) == 2
    assert sum(len(c.get_offsets()) == plots.BOX_MIN_SEEDS for c in ax.collections) == 2
    assert any(t.startswith("box: median and quartiles") for t in _legend_texts(figures["e_shd"]))


def test_outlying_methods_rule():
    bulk = {"a": -10.0, "b": -10.5, "c": -11.0, "d": -12.0, "e": -14.0}
    assert plots.outlying_methods(bulk) == {}
    # two of seven far below (the default run's held-out LL): quartile fences would miss them
    assert plots.outlying_methods({**bulk, "x": -29.6, "y": -32.2}) == {"x": "low", "y": "low"}
    assert plots.outlying_methods({**bulk, "z": 20.0}) == {"z": "high"}
    assert plots.outlying_methods({**bulk, "x": -40.0, "z": 20.0}) == {"x": "low", "z": "high"}
    # a spread-out panel (the default run's E-SHD) is left as it is
    e_shd = [9.0, 16.0, 5.5, 4.8, 10.0, 7.7, 9.3, 10.4, 5.4, 10.0, 11.3]
    assert plots.outlying_methods(dict(enumerate(e_shd))) == {}
    assert plots.outlying_methods({"a": 1.0, "b": 1.1, "x": 50.0}) == {}  # too few methods
    assert plots.outlying_methods({"a": 1.0, "b": 1.0, "c": 1.0, "x": 9.0}) == {}  # no spread to show
    # at most a third of the methods: half of them far out is no outlier but two groups
    assert plots.outlying_methods({"a": 1.0, "b": 1.1, "c": 1.2, "x": 50.0, "y": 51.0, "z": 52.0}) == {}


@pytest.mark.parametrize("metric", ["ll_heldout", "e_shd"])
def test_far_out_methods_are_left_off_the_axis_and_named(tmp_path, figures, metric):
    results = tmp_path / "results"
    bulk = {"empty": -14.0, "pc": -10.6, "ges": -10.0, "notears": -10.8, "dibs_bge": -10.0}
    far = {"dibs_linear": -29.6, "dibs_mlp": -32.2}
    means = {**bulk, **far}
    sign = 1 if metric == "ll_heldout" else -1  # (e_shd: the outliers are far above)
    df = _study(results, list(means), settings=("lin", "mlp"),
                scores=lambda s, k, m: {metric: sign * (means[m] + (k - 1) * 0.3 if s == "lin"
                                                        else bulk.get(m, -12.0) + (k - 1) * 0.3)})
    _plot_all(df, results, tmp_path / "fig")
    panels = _panels(figures[metric])
    lin, mlp = panels["lin (3 seeds)"], panels["mlp (3 seeds)"]
    lo, hi = sorted(lin.get_ylim())
    shown = df.loc[(df["setting"] == "lin") & df["method_id"].isin(list(bulk)), metric]
    assert lo <= shown.min() and shown.max() <= hi  # every dot of the other methods is on the axis
    assert hi - lo < 2 * (shown.max() - shown.min())  # and fills it
    for v in far.values():  # the outliers' means are off the axis ...
        assert not lo <= sign * v <= hi
    # ... and an arrow at its edge names each and gives its mean
    texts = _texts(lin, "clipped")
    assert texts == [f"dibs_linear: {plots._num(sign * -29.6)}", f"dibs_mlp: {plots._num(sign * -32.2)}"]
    assert "off the axis (mean far from the others): dibs_linear" in _texts(lin, "note")[0]
    assert any("mean off the axis" in t for t in _legend_texts(figures[metric]))
    # the other setting has no outlier: nothing clipped, every dot on the axis
    assert not _texts(mlp, "clipped")
    lo, hi = sorted(mlp.get_ylim())
    v = df.loc[df["setting"] == "mlp", metric]
    assert lo <= v.min() and v.max() <= hi


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_legends_are_outside_every_axes(tmp_path, figures):
    results = tmp_path / "results"
    methods = ["empty", "pc", "ges", "boot-ges", "notears", "dibs_bge", "dibs_linear", "dibs_mlp", "mc3"]
    df = _study(results, methods, settings=("er1-lingauss-d10", "er1-mlp-d10", "sachs"),
                scores=lambda s, k, m: {"auprc": 0.2 + 0.05 * len(m), "ll_heldout": -30.0 if "dibs_l" in m
                                        else -10.0 - 0.1 * len(m) - k, "fit_s": 0.1 * (1 + len(m))})
    _plot_all(df, results, tmp_path / "fig")
    with_legend = 0
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    for name, fig in figures.items():
        renderer = FigureCanvasAgg(fig).get_renderer()  # (a closed figure has lost its canvas)
        saved = fig.get_tightbbox(renderer).transformed(fig.dpi_scale_trans)  # what bbox_inches='tight' keeps
        for legend in fig.legends:
            with_legend += 1
            box = legend.get_window_extent(renderer)
            for ax in fig.axes:
                assert ax.get_legend() is None, name
                if ax.get_visible():
                    assert not _overlaps(box, ax.get_window_extent(renderer)), name
                    assert not _overlaps(box, ax.get_tightbbox(renderer)), f"{name}: legend over tick labels"
            assert saved.x0 <= box.x0 and box.x1 <= saved.x1 and saved.y0 <= box.y0, f"{name}: legend cut off"
    assert with_legend == len(figures) - 1  # every figure but the adjacency (a colour bar)
    assert sorted(p.name for p in (tmp_path / "fig").iterdir()) == sorted(plots.figure_names())


def test_runtime_figures_plot_the_fit_time(tmp_path, figures):
    results = tmp_path / "results"
    fit_s = {"pc": [0.5, 0.7, 0.6], "ges": [2.0, 3.0, 4.0]}
    df = _study(results, list(fit_s), scores=lambda s, k, m: {"fit_s": fit_s[m][k], "wall_s": 100.0 + k})
    _plot_all(df, results, tmp_path / "fig")
    (ax,) = _panels(figures["runtime"]).values()
    label = ax.get_ylabel().replace("\n", " ")
    assert label.startswith("fit time [s]") and "without process start, imports" in label
    plotted = sorted(y for c in ax.collections for y in c.get_offsets()[:, 1])
    assert plotted == pytest.approx(sorted(df["fit_s"]))  # the fit_s column, not wall_s
    (ax,) = _panels(figures["accuracy_vs_runtime"]).values()
    assert ax.get_xlabel().startswith("fit time [s]")
    assert _errorbars_x(ax) == pytest.approx(sorted(np.mean(v) for v in fit_s.values()))
    # without fit times: the whole job's wall time, and the label says so
    for table in (df.drop(columns="fit_s"), df.assign(fit_s=np.nan)):
        figures.clear()
        _plot_all(table, results, tmp_path / "fig2")
        (ax,) = _panels(figures["runtime"]).values()
        label = ax.get_ylabel().replace("\n", " ")
        assert label.startswith("wall time of the whole fit job [s]") and "no fit_s" in label
        assert sorted(y for c in ax.collections for y in c.get_offsets()[:, 1]) == sorted(table["wall_s"])


def _errorbars_x(ax):
    return sorted(float(c.lines[0].get_xdata()[0]) for c in ax.containers)


def test_auprc_draws_chance_at_the_edge_density(tmp_path, figures):
    results = tmp_path / "results"
    df = _study(results, ["pc", "ges"])
    one_edge = np.array([[0, 1, 0], [0, 0, 0], [0, 0, 0]])
    _dataset(results, "lin", 2, one_edge)  # seed 2: 1 of 6 pairs; seeds 0, 1: the chain, 2 of 6
    density = (2 / 6 + 2 / 6 + 1 / 6) / 3
    assert plots.edge_density(df, results, "lin") == pytest.approx(density)
    _plot_all(df, results, tmp_path / "fig")
    (ax,) = _panels(figures["auprc"]).values()
    (line,) = [ln for ln in ax.lines if ln.get_label() == "chance (edge density)"]
    assert line.get_linestyle() == "--" and list(line.get_ydata()) == pytest.approx([density] * 2)
    assert "chance (edge density)" in _legend_texts(figures["auprc"])
    (ax,) = _panels(figures["auroc"]).values()
    assert not [ln for ln in ax.lines if ln.get_label() == "chance (edge density)"]  # AUPRC only


def test_adjacency_labels_nodes_and_wraps_many_methods(tmp_path, figures):
    results = tmp_path / "results"
    methods = [f"m{i}" for i in range(8)]  # 9 panels: more than ADJACENCY_COLUMNS, so 5 + 4
    df = _study(results, methods, seeds=(0,), settings=("lin", "mlp"),
                names=["age", "blood_pressure", "C"])
    _plot_all(df, results, tmp_path / "fig")
    fig = figures["adjacency"]
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 2 * 9  # no empty axes left in the grid
    columns = {round(ax.get_position().x0, 3) for ax in panels}
    rows = {round(ax.get_position().y0, 3) for ax in panels}
    assert plots.ADJACENCY_COLUMNS < 9 and len(columns) == 5 and len(rows) == 4
    truth = panels[0]
    assert truth.get_title() == "true graph" and truth.get_ylabel().startswith("lin\nseed 0")
    assert [t.get_text() for t in truth.get_xticklabels()] == ["age", "blood…", "C"]
    assert [t.get_text() for t in truth.get_yticklabels()] == ["age", "blood…", "C"]
    wrapped = panels[5]  # first panel of the setting's second row
    assert wrapped.get_ylabel().startswith("lin\n(continued)")
    assert [t.get_text() for t in wrapped.get_yticklabels()] == ["age", "blood…", "C"]
    assert plots._node_names(results, "none", 0, 3) == ["0", "1", "2"]  # no sidecar: indices


def _all_text(fig) -> str:
    texts = [t.get_text() for t in fig.texts] + [t.get_text() for lg in fig.legends for t in lg.get_texts()]
    if fig._suptitle is not None:
        texts.append(fig._suptitle.get_text())
    for ax in fig.axes:
        texts += [ax.get_title(), ax.get_ylabel(), ax.get_xlabel()] + [t.get_text() for t in ax.texts]
        texts += [t.get_text() for t in ax.get_xticklabels()]
    return " ".join(texts)


def test_every_figure_says_how_many_seeds_it_shows(tmp_path, figures):
    results = tmp_path / "results"
    df = _study(results, ["pc", "ges"], settings=("lin", "mlp"),
                scores=lambda s, k, m: {"fit_s": 1.0 + k, "var_sortability": 0.5, "r2_sortability": 0.7})
    _plot_all(df, results, tmp_path / "fig")
    assert set(figures) == {n.rsplit(".", 1)[0] for n in plots.figure_names()}
    for name, fig in figures.items():
        text = _all_text(fig)
        if name == "adjacency":  # one seed per setting, named
            assert "one seed per setting" in text and "seed 0" in text, name
        else:
            assert "3 seeds" in text, f"{name}: {text!r}"


def test_sortability_figure_shows_each_dataset_once(tmp_path, figures):
    results = tmp_path / "results"
    var = {("raw", 0): 0.9, ("raw", 1): 1.0, ("raw", 2): 0.95, ("std", 0): 0.5, ("std", 1): 0.4}
    df = _study(results, ["pc", "ges"], settings=("raw", "std"),
                scores=lambda s, k, m: {"var_sortability": var.get((s, k), np.nan),
                                        "r2_sortability": 0.6})
    _plot_all(df, results, tmp_path / "fig")
    fig = figures["sortability"]
    panels = _panels(fig)
    ax = panels["var-sortability (order of increasing variance)"]
    from matplotlib.collections import PathCollection

    dots = sorted(y for c in ax.collections if isinstance(c, PathCollection) for y in c.get_offsets()[:, 1])
    assert dots == pytest.approx(sorted(var.values()))  # one dot per dataset, not per fit
    assert [t.get_text() for t in ax.get_xticklabels()] == ["raw\n(3 seeds)", "std\n(2 seeds)"]
    assert _errorbars(ax)[0][0] == pytest.approx(0.95) and _errorbars(ax)[1][0] == pytest.approx(0.45)
    assert [ln.get_ydata()[0] for ln in ax.lines if ln.get_linestyle() == "--"] == [0.5]
    assert _texts(ax, "note") == []  # every setting has a value
    assert "0.5: the order carries no information on the causal order" in _legend_texts(fig)
    # a table without the columns (an older run): each panel says why
    figures.clear()
    _plot_all(df.drop(columns=["var_sortability", "r2_sortability"]), results, tmp_path / "fig2")
    for title, ax in _panels(figures["sortability"]).items():
        column = "var_sortability" if title.startswith("var") else "r2_sortability"
        assert _texts(ax, "reason") == [f"no {column} column in the score table"]
    # a setting whose values are all missing is named in the note
    figures.clear()
    _plot_all(df.assign(r2_sortability=np.where(df["setting"] == "std", np.nan, 0.6)), results,
              tmp_path / "fig3")
    ax = _panels(figures["sortability"])["R²-sortability (order of increasing R²)"]
    assert _texts(ax, "note") == ["std: no finite values of r2_sortability"]
