"""Comparison figures from the long-format score table, each as PNG and PDF.

- ``<metric>``: one panel per setting, methods side by side (box + one dot per seed);
- ``roc``: ROC curves per setting, edge marginals pooled over seeds;
- ``reliability``: reliability diagram (calibration) of the edge marginals per setting,
  pooled over seeds, 10 equal-width bins (those of the ``ece`` score);
- ``runtime``: wall time per fit and method (log scale);
- ``accuracy_vs_runtime``: mean E-SHD against mean wall time per method, per setting;
- ``adjacency``: the true graph beside each method's edge marginals, for the first seed
  whose dataset exists.
Fits that did not end ok are left out, and each panel says how many; seeds whose dataset
could not be made (status ``data_error``) are reported apart from method failures. A panel
with nothing drawn says why in the panel (``*_reason`` / ``*_panel`` below), and no legend is
drawn when there is nothing to label. Edge marginals (ROC, reliability, adjacency) are the
ones the scores use (``evaluation.scoring.scored_edge_probs``). Methods whose plugin name is
in ``highlight`` (e.g. the DiBS variants) are drawn emphasised.
Colours are the Okabe-Ito palette (safe for the common colour-vision deficiencies),
paired with a marker per method so that more than eight methods stay distinct.
"""
from __future__ import annotations

import textwrap
from collections import Counter
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

# (score column, axis label) of the per-metric figures; the workflow's plot rule
# declares one figure per entry.
METRICS = {
    "e_shd": "expected SHD [edges] (lower is better)",
    "shd_cpdag": "SHD between CPDAGs [edges] (lower is better)",
    "auroc": "AUROC of edge marginals",
    "auprc": "AUPRC of edge marginals",
    "f1": "F1 of the graph at p > 0.5",
    "ll_heldout": "held-out log-likelihood [nats / row]",
}
OTHER_FIGURES = ["roc", "reliability", "runtime", "accuracy_vs_runtime", "adjacency"]
FORMATS = ["png", "pdf"]
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def figure_names() -> list[str]:
    """Every figure file plot_all writes (without folder)."""
    return [f"{name}.{fmt}" for name in [*METRICS, *OTHER_FIGURES] for fmt in FORMATS]


def plot_all(table: str | Path, *, results: str | Path, outdir: str | Path,
             highlight: Iterable[str] = ()) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")

    df = pd.read_csv(table)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    style = Style(df, set(highlight))
    written = []
    for metric, label in METRICS.items():
        written += metric_figure(df, metric, label, style, outdir / metric)
    written += roc_figure(df, Path(results), style, outdir / "roc")
    written += reliability_figure(df, Path(results), style, outdir / "reliability")
    written += runtime_figure(df, style, outdir / "runtime")
    written += accuracy_runtime_figure(df, style, outdir / "accuracy_vs_runtime")
    written += adjacency_figure(df, Path(results), outdir / "adjacency")
    return written


class Style:
    """Colour, marker and emphasis of each method id, in config order."""

    def __init__(self, df: pd.DataFrame, highlight: set[str]):
        self.methods = list(dict.fromkeys(df["method_id"]))
        plugin = dict(zip(df["method_id"], df["method"]))
        self.highlighted = {m for m in self.methods if plugin[m] in highlight}

    def color(self, m: str) -> str:
        return PALETTE[self.methods.index(m) % len(PALETTE)]

    def marker(self, m: str) -> str:
        i = self.methods.index(m)
        return MARKERS[(i // len(PALETTE) + i) % len(MARKERS)]

    def emphasise_ticks(self, ax) -> None:
        for tick in ax.get_xticklabels():
            if tick.get_text() in self.highlighted:
                tick.set_fontweight("bold")


def _panels(n: int, width: float = 4.8, height: float = 3.8):
    import matplotlib.pyplot as plt

    ncols = min(n, 3)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def _settings(df: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(df["setting"]))


def _methods_in(style: "Style", sdf: pd.DataFrame) -> list[str]:
    """The methods (in the style's order) that have a record in this setting's rows."""
    present = set(sdf["method_id"])
    return [m for m in style.methods if m in present]


#: Status of the records of a setting and seed whose dataset could not be made (no method
#: ran on it); reported per seed, not as a failure of each method.
DATA_ERROR = "data_error"


def _seed_list(seeds) -> str:
    """'seed 3' or 'seeds 0, 1'."""
    seeds = sorted(set(seeds))
    return ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(str(s) for s in seeds)


def _counts(counter: Counter) -> str:
    return ", ".join(f"{m} ×{c}" for m, c in counter.items())


def no_dataset_reason(sdf: pd.DataFrame) -> str:
    """'no dataset could be made (seeds 0, 1)' when every record of this setting is
    ``data_error``, else ''."""
    if len(sdf) and (sdf["status"] == DATA_ERROR).all():
        return f"no dataset could be made ({_seed_list(sdf['seed'])})"
    return ""


def _not_ok_note(sdf: pd.DataFrame, extra: Iterable[str] = ()) -> str:
    """What a panel of this setting's records leaves out: seeds without a dataset
    ('no dataset: seed 3'), then fits that did not end ok, counted per method
    ('not shown (not ok): pc ×1'), then ``extra``; '' when nothing is left out."""
    parts = []
    lost = sdf.loc[sdf["status"] == DATA_ERROR, "seed"]
    if len(lost):
        parts.append(f"no dataset: {_seed_list(lost)}")
    bad = sdf[~sdf["status"].isin(["ok", DATA_ERROR])]
    if not bad.empty:
        parts.append("not shown (not ok): " + _counts(Counter(bad["method_id"])))
    parts += [e for e in extra if e]
    return "; ".join(parts)


def _finite(values) -> np.ndarray:
    v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    return v[np.isfinite(v)]


def _wrap(text: str, width: int) -> str:
    """``text`` wrapped at ``width`` characters, keeping its own line breaks."""
    return "\n".join(textwrap.fill(line, width) for line in text.split("\n"))


def _draw_reason(ax, reason: str, *, width: int = 42, fontsize: float = 9) -> None:
    """The reason a panel is empty, centred in it (the text's gid is 'reason')."""
    ax.text(0.5, 0.5, _wrap(reason, width), transform=ax.transAxes, ha="center",
            va="center", fontsize=fontsize, color="#333333", gid="reason",
            bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "#BBBBBB", "alpha": 0.9})


def _draw_note(ax, note: str) -> None:
    """What a panel leaves out, top left in small print (the text's gid is 'note'), above
    the data: the y range is raised to leave the note's lines free (call it after the
    data are drawn and the y scale is set)."""
    if not note:
        return
    box = ax.get_position()  # (figure fraction; ~0.6 em per character at 7 pt)
    text = _wrap(note, max(20, int(box.width * ax.figure.get_figwidth() * 72 / (7 * 0.6))))
    ax.text(0.01, 0.99, text, transform=ax.transAxes, va="top", fontsize=7, color="#D55E00",
            gid="note")
    height_pt = box.height * ax.figure.get_figheight() * 72
    free = min(0.5, 1.2 * ((text.count("\n") + 1) * 7 * 1.3 + 6) / height_pt)  # share of the axes
    lo, hi = ax.get_ylim()
    if ax.get_yscale() == "log":
        ax.set_ylim(lo, 10 ** (np.log10(lo) + (np.log10(hi) - np.log10(lo)) / (1 - free)))
    else:
        ax.set_ylim(lo, lo + (hi - lo) / (1 - free))


def _legend(ax, **kw) -> None:
    """A legend only when some artist has a label (no empty box, no matplotlib warning)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kw)


# the scores undefined for an empty true graph (the graph scores, NaN when the true graph
# is unknown, are evaluation.scoring.GRAPH_SCORE_KEYS)
_RANKING_METRICS = {"auroc": "AUROC", "auprc": "AUPRC"}


def metric_reason(sdf: pd.DataFrame, metric: str) -> str:
    """Why the panel of ``metric`` for this setting's records shows nothing ('' when some
    ok fit has a finite value)."""
    from evaluation.scoring import GRAPH_SCORE_KEYS  # (lazily: the Snakefile imports this module)

    why = no_dataset_reason(sdf)
    if why:
        return why
    ok = sdf[sdf["status"] == "ok"]
    if ok.empty:
        return "no fit ended ok"
    if metric not in ok:
        return f"no {metric} column in the score table"
    if len(_finite(ok[metric])):
        return ""
    why = f"no finite values of {metric}"
    n_true = pd.to_numeric(ok["n_edges_true"], errors="coerce") if "n_edges_true" in ok else None
    if metric in GRAPH_SCORE_KEYS and n_true is not None and n_true.isna().all():
        return f"{why}: the true graph is unknown"
    if metric in _RANKING_METRICS and n_true is not None and (n_true == 0).all():
        return (f"{why}: the true graph has no edges in any seed "
                f"({_RANKING_METRICS[metric]} undefined)")
    return why


def _save(fig, stem: Path, *, tight: bool = True) -> list[Path]:
    """Write ``stem``.png and ``stem``.pdf atomically and close the figure."""
    import matplotlib.pyplot as plt

    from dagbench.io import atomic_path

    if tight:  # (tight_layout does not mix with a colour bar shared by many panels)
        fig.tight_layout()
    out = []
    for fmt in FORMATS:
        path = stem.with_suffix(f".{fmt}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=150, format=fmt)
        out.append(path)
    plt.close(fig)
    return out


def metric_figure(df: pd.DataFrame, metric: str, label: str, style: Style, stem: Path) -> list[Path]:
    settings = _settings(df)
    fig, axes = _panels(len(settings))
    rng = np.random.default_rng(0)  # jitter only
    for ax, setting in zip(axes, settings):
        sdf = df[df["setting"] == setting]
        ok = sdf[sdf["status"] == "ok"]
        methods = _methods_in(style, sdf)  # a method with run_on may not be in every setting
        for i, m in enumerate(methods):
            if m in style.highlighted:
                ax.axvspan(i - 0.5, i + 0.5, color="#F0E442", alpha=0.18, linewidth=0)
        values = [_finite(ok.loc[ok["method_id"] == m, metric]) if metric in ok else np.array([])
                  for m in methods]
        drawn = [(i, v) for i, v in enumerate(values) if len(v)]
        reason = metric_reason(sdf, metric)  # '' exactly when something is drawn
        if drawn:
            ax.boxplot([v for _, v in drawn], positions=[i for i, _ in drawn], widths=0.6,
                       showfliers=False, medianprops={"color": "black"})
            for i, v in drawn:
                m = methods[i]
                ax.scatter(i + rng.uniform(-0.15, 0.15, len(v)), v, s=16, zorder=3,
                           color=style.color(m), marker=style.marker(m))
        else:
            _draw_reason(ax, reason or f"no finite values of {metric}")
        ax.set_xticks(range(len(methods)), methods, rotation=45, ha="right", fontsize=8)
        style.emphasise_ticks(ax)
        ax.set_xlim(-0.6, len(methods) - 0.4)
        ax.set_title(setting, fontsize=10)
        ax.set_ylabel(label.replace(" (", "\n("))  # '(lower is better)' on its own line
        if not no_dataset_reason(sdf):  # (else the reason says it all)
            left_out = [m for m, v in zip(methods, values) if not len(v) and (ok["method_id"] == m).any()]
            _draw_note(ax, _not_ok_note(sdf, [f"no finite {metric}: {', '.join(left_out)}"
                                              if drawn and left_out else ""]))
        ax.grid(axis="y", alpha=0.3)
    return _save(fig, stem)


def _truth(results: Path, setting: str, seed) -> tuple[np.ndarray | None, str]:
    """(g_true [d, d], 'ok') of a dataset; (None, 'missing') when its file is absent,
    (None, DATA_ERROR) when the simulate step recorded that it could not be made, or
    (None, 'unknown') when the data came without a true graph (``meta['graph_known']``)."""
    from simulators.base import DataError, Dataset

    data = results / "data" / setting / f"seed{seed}.npz"
    if not data.exists():
        return None, "missing"
    try:
        ds = Dataset.load(data)  # raises DataError for a dataset the simulate step could not make
    except DataError:
        return None, DATA_ERROR
    if not ds.meta.get("graph_known", True):
        return None, "unknown"
    return ds.g_true, "ok"


def _edge_probs(results: Path, setting: str, seed, method: str) -> tuple[np.ndarray | None, str]:
    """(the [d, d] edge marginals the scores use, 'ok') of one fit's file, or (None, why)
    with why 'fit file missing' or 'fit file unreadable'."""
    from evaluation.scoring import scored_edge_probs
    from methods.base import GraphPosterior

    fit = results / "fits" / setting / f"seed{seed}" / f"{method}.npz"
    if not fit.exists():
        return None, "fit file missing"
    try:
        return scored_edge_probs(GraphPosterior.load_arrays(fit)), "ok"
    except (OSError, ValueError, KeyError):
        return None, "fit file unreadable"


class _Pooled:
    """The off-diagonal entries of the true graphs and of the fits' scored edge marginals
    (``scored_edge_probs``) of one setting, per method, over the seeds whose fit is ok;
    and what was left out on the way (shared by the ROC and reliability panels).

    truth, probs: {method: [d(d-1)] off-diagonal entries per seed, in seed order};
    mats: {method: [(edge marginals [d, d], true graph [d, d])] per seed}; seeds:
    {method: [seed]};
    seeds_by_state: the seeds met, by the state of their dataset (``_truth``); bad_fit:
    {why: Counter of methods} of ok fits whose file is missing or unreadable; any_edge:
    whether some true graph met has an edge.
    """

    def __init__(self, df: pd.DataFrame, results: Path, setting: str, methods: list[str]):
        self.sdf = df[df["setting"] == setting]
        self.ok = self.sdf[self.sdf["status"] == "ok"]
        self.truth: dict[str, list] = {}
        self.probs: dict[str, list] = {}
        self.mats: dict[str, list] = {}
        self.seeds: dict[str, list] = {}
        self.bad_fit: dict[str, Counter] = {}
        self.seeds_by_state: dict[str, set] = {"ok": set(), "missing": set(), "unknown": set(),
                                               DATA_ERROR: set()}
        self.any_edge = False
        if no_dataset_reason(self.sdf):
            return
        truths = {}
        for m in methods:
            for seed in self.ok.loc[self.ok["method_id"] == m, "seed"]:
                if seed not in truths:
                    truths[seed] = _truth(results, setting, seed)
                t, state = truths[seed]
                self.seeds_by_state[state].add(seed)
                if t is None:
                    continue
                self.any_edge = self.any_edge or bool(t.any())
                p, status = _edge_probs(results, setting, seed, m)
                if p is None or p.shape != t.shape:
                    status = "fit file unreadable" if p is not None else status
                    self.bad_fit.setdefault(status, Counter())[m] += 1
                    continue
                off = ~np.eye(len(t), dtype=bool)
                self.probs.setdefault(m, []).append(p[off])
                self.truth.setdefault(m, []).append(t[off])
                self.mats.setdefault(m, []).append((p, t))
                self.seeds.setdefault(m, []).append(seed)

    def no_seed_reason(self, what: str) -> str:
        """Why nothing is drawn when no ok fit met a usable true graph ('' otherwise);
        ``what`` names the missing thing ('ROC curve', 'reliability curve')."""
        if self.ok.empty:
            return "no fit ended ok"
        if self.seeds_by_state["ok"]:
            return ""
        if self.seeds_by_state["unknown"]:
            return f"no {what}: the true graph is unknown"
        if self.seeds_by_state[DATA_ERROR]:
            return f"no dataset could be made ({_seed_list(self.seeds_by_state[DATA_ERROR])})"
        return f"no {what}: no data file for {_seed_list(self.seeds_by_state['missing'])}"

    def left_out(self) -> list[str]:
        """What the panel leaves out besides the fits that are not ok (for ``_not_ok_note``)."""
        extra = [f"{why}: {_counts(c)}" for why, c in self.bad_fit.items()]
        by_state = self.seeds_by_state
        if by_state["ok"] and by_state["missing"]:
            extra.append(f"no data file: {_seed_list(by_state['missing'])}")
        if by_state["ok"] and by_state[DATA_ERROR]:
            extra.append(f"no dataset (data file): {_seed_list(by_state[DATA_ERROR])}")
        if by_state["ok"] and by_state["unknown"]:
            extra.append(f"true graph unknown: {_seed_list(by_state['unknown'])}")
        return extra


def roc_panel(df: pd.DataFrame, results: Path, setting: str, methods: list[str]):
    """What the ROC panel of ``setting`` draws: (curves, reason, note).

    curves: {method: (truth, probs)}, the off-diagonal entries of the true graphs and of
    the fits' scored edge marginals (``scored_edge_probs``) pooled over the seeds whose fit
    is ok; reason: why there is no curve ('' when there is one); note: what the panel
    leaves out (``_not_ok_note``, plus fit files missing or unreadable, seeds without a
    data file or true graph, methods left without a curve).
    """
    pooled = _Pooled(df, results, setting, methods)
    why = no_dataset_reason(pooled.sdf)
    if why:
        return {}, why, ""
    curves, no_curve = {}, []
    for m in pooled.probs:
        truth_all = np.concatenate(pooled.truth[m])
        if len(np.unique(truth_all)) < 2:
            no_curve.append(m)
        else:
            curves[m] = (truth_all, np.concatenate(pooled.probs[m]))

    reason = ""
    if not curves:
        reason = pooled.no_seed_reason("ROC curve") or (
            "no ROC curve: the true graph has no edges in any seed (AUROC undefined)"
            if not pooled.any_edge else
            "no ROC curve: no ok fit has a readable fit file" if not no_curve else
            "no ROC curve: the true graph has no edges in the seeds of the readable fits")
    extra = pooled.left_out()
    if curves and no_curve:
        extra.append(f"no curve (no true edge on its seeds): {', '.join(no_curve)}")
    return curves, reason, _not_ok_note(pooled.sdf, extra)


def roc_figure(df: pd.DataFrame, results: Path, style: Style, stem: Path) -> list[Path]:
    from sklearn.metrics import roc_curve

    settings = _settings(df)
    fig, axes = _panels(len(settings))
    for ax, setting in zip(axes, settings):
        curves, reason, note = roc_panel(df, results, setting, style.methods)
        for m, (truth, probs) in curves.items():
            fpr, tpr, _ = roc_curve(truth, probs)
            strong = m in style.highlighted
            ax.plot(fpr, tpr, label=m, color=style.color(m), marker=style.marker(m), markersize=3,
                    linewidth=2.2 if strong else 1.0, alpha=1.0 if strong else 0.8)
        ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle=":")
        ax.set_yticks(np.linspace(0, 1, 6))  # (a note may raise the axis above 1)
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.set_title(f"{setting} (pooled over seeds)", fontsize=10)
        if reason:
            _draw_reason(ax, reason)
        _draw_note(ax, note)
        _legend(ax, fontsize=6, loc="lower right")
    return _save(fig, stem)


#: bins of the reliability diagram (those of the ``ece`` score, ``metrics.reliability_bins``)
RELIABILITY_BINS = 10


def reliability_panel(df: pd.DataFrame, results: Path, setting: str, methods: list[str],
                      n_bins: int = RELIABILITY_BINS):
    """What the reliability panel of ``setting`` draws: (curves, n_seeds, reason, note).

    curves: {method: (mean predicted [n_bins], observed frequency [n_bins], count [n_bins],
    seeds)}: ``metrics.reliability_bins`` of the fits' scored edge marginals
    (``scored_edge_probs``, as the ``ece`` and ``brier`` scores use them) against the true
    graphs, off-diagonal entries pooled over the seeds whose fit is ok (the means are NaN
    in empty bins), and how many seeds that is; n_seeds: the number of distinct seeds
    pooled in the panel; reason: why there is no curve ('' when there is one; an empty
    true graph is no reason: calibration is defined for it); note: what the panel leaves
    out (as for the ROC panel), and that every observed frequency is 0 when no seed's true
    graph has an edge.
    """
    from evaluation.metrics import reliability_bins

    pooled = _Pooled(df, results, setting, methods)
    why = no_dataset_reason(pooled.sdf)
    if why:
        return {}, 0, why, ""
    curves, no_pair = {}, []
    for m, mats in pooled.mats.items():
        mean_p, freq, count = reliability_bins([p for p, _ in mats], [t for _, t in mats], n_bins)
        if count.sum():
            curves[m] = (mean_p, freq, count, len(mats))
        else:
            no_pair.append(m)
    n_seeds = len({k for m in curves for k in pooled.seeds[m]})
    reason = ""
    if not curves:
        reason = pooled.no_seed_reason("reliability curve") or (
            "no reliability curve: no ok fit has a readable fit file" if not no_pair else
            "no reliability curve: the graphs have fewer than 2 nodes (no node pair to score)")
    extra = pooled.left_out()
    if curves and no_pair:
        extra.append(f"no node pair (d < 2): {', '.join(no_pair)}")
    if curves and not pooled.any_edge:
        extra.append("no true edge in any seed: every observed frequency is 0")
    return curves, n_seeds, reason, _not_ok_note(pooled.sdf, extra)


def reliability_figure(df: pd.DataFrame, results: Path, style: Style, stem: Path,
                       n_bins: int = RELIABILITY_BINS) -> list[Path]:
    """Reliability diagram of the edge marginals, one panel per setting: per method, the
    share of true edges against the mean predicted p(i -> j) in each of ``n_bins``
    equal-width bins on [0, 1] (non-empty bins only), pooled over seeds; the diagonal is
    perfect calibration. A method pooled over fewer seeds than the panel says so in its
    legend entry."""
    settings = _settings(df)
    fig, axes = _panels(len(settings))
    for ax, setting in zip(axes, settings):
        curves, n_seeds, reason, note = reliability_panel(df, results, setting, style.methods, n_bins)
        for m, (mean_p, freq, count, k) in curves.items():
            full = count > 0
            strong = m in style.highlighted
            label = m if k == n_seeds else f"{m} ({k} seed{'s' if k != 1 else ''})"
            ax.plot(mean_p[full], freq[full], label=label, color=style.color(m),
                    marker=style.marker(m), markersize=5 if strong else 4,
                    linewidth=2.2 if strong else 1.0, alpha=1.0 if strong else 0.8)
        ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle=":",
                label="perfect calibration" if curves else "_diagonal")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_yticks(np.linspace(0, 1, 6))  # (a note may raise the axis above 1)
        ax.set_xlabel(f"mean predicted p(i → j) in the bin ({n_bins} equal-width bins)")
        ax.set_ylabel("observed share of true edges")
        ax.set_title(f"{setting} (pooled over {n_seeds} seed{'s' if n_seeds != 1 else ''})"
                     if curves else setting, fontsize=10)
        if reason:
            _draw_reason(ax, reason)
        _draw_note(ax, note)
        _legend(ax, fontsize=6, loc="lower right")
    return _save(fig, stem)


def _time_column(df: pd.DataFrame) -> str | None:
    return next((c for c in ("wall_s", "fit_s") if c in df), None)


def _times(values) -> np.ndarray:
    """The finite, positive values (what a log axis can show)."""
    v = _finite(values)
    return v[v > 0]


def runtime_reason(sdf: pd.DataFrame, col: str | None) -> str:
    """Why this setting's records give no time to plot ('' when some ok fit has one);
    ``col`` is the timing column (None when the table has none)."""
    why = no_dataset_reason(sdf)
    if why:
        return why
    if col is None:
        return "no timing column (wall_s or fit_s) in the score table"
    ok = sdf[sdf["status"] == "ok"]
    if ok.empty:
        return "no fit ended ok"
    if not len(_times(ok[col])):
        return f"no finite values of {col}"
    return ""


def runtime_figure(df: pd.DataFrame, style: Style, stem: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    methods = style.methods
    settings = _settings(df)
    col = _time_column(df)
    fig, ax = plt.subplots(figsize=(max(6.5, 0.7 * len(methods) + 2), 4))
    width = 0.8 / max(len(settings), 1)
    reasons, notes = {}, {}
    for j, setting in enumerate(settings):
        sdf = df[df["setting"] == setting]
        reasons[setting] = runtime_reason(sdf, col)
        ok = sdf[sdf["status"] == "ok"]
        no_time = []
        for i, m in enumerate(methods):
            v = _times(ok.loc[ok["method_id"] == m, col]) if col else np.array([])
            if not len(v):
                if col and (ok["method_id"] == m).any():
                    no_time.append(m)
                continue
            x = i - 0.4 + width * (j + 0.5)
            ax.scatter(np.full(len(v), x), v, s=14, color=PALETTE[j % len(PALETTE)],
                       marker=MARKERS[j % len(MARKERS)], label=None if _has_label(ax, setting) else setting)
        if not no_dataset_reason(sdf):
            notes[setting] = _not_ok_note(sdf, [f"no {col}: {', '.join(no_time)}"
                                                if no_time and not reasons[setting] else ""])
    if any(not r for r in reasons.values()):  # something is drawn: each setting's gaps in the note
        lines = [f"{s}: " + "; ".join(x for x in (reasons[s], notes.get(s, "")) if x) for s in settings
                 if reasons[s] or notes.get(s)]
    else:
        distinct = set(reasons.values())
        _draw_reason(ax, distinct.pop() if len(distinct) == 1 else
                     "\n".join(f"{s}: {r}" for s, r in reasons.items()), width=60)
        lines = [f"{s}: {n}" for s, n in notes.items() if n]
    ax.set_yscale("log")
    _draw_note(ax, "\n".join(lines))
    ax.set_xticks(range(len(methods)), methods, rotation=45, ha="right", fontsize=8)
    style.emphasise_ticks(ax)
    ax.set_ylabel("wall time per fit [s] (log scale)")
    ax.set_title("runtime per method (one dot per fit; whole job incl. start-up)", fontsize=10)
    _legend(ax, fontsize=7, loc="lower right")
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, stem)


def _has_label(ax, label: str) -> bool:
    """Whether an artist of ``ax`` already carries ``label`` (one legend entry per setting)."""
    return label in ax.get_legend_handles_labels()[1]


def accuracy_panel(sdf: pd.DataFrame, col: str | None, methods: list[str]):
    """What the accuracy-vs-runtime panel of this setting's records draws:
    (points {method: (mean time, s.e., mean E-SHD, s.e.)}, reason, note); reason says why
    there is no point ('' when there is one), note what the panel leaves out."""
    from evaluation.aggregate import mean_se

    why = no_dataset_reason(sdf)
    if why:
        return {}, why, ""
    ok = sdf[sdf["status"] == "ok"]
    points, left_out = {}, []
    for m in methods:
        mdf = ok[ok["method_id"] == m]
        if mdf.empty:
            continue
        if col is None or "e_shd" not in mdf:
            left_out.append(m)
            continue
        t, t_se = mean_se(mdf[col])
        y, y_se = mean_se(mdf["e_shd"])
        if not (np.isfinite(t) and t > 0 and np.isfinite(y)):
            left_out.append(m)
            continue
        points[m] = (t, t_se, y, y_se)
    reason = ""
    if not points:
        reason = (metric_reason(sdf, "e_shd") or runtime_reason(sdf, col)
                  or f"no method has both a finite e_shd and a finite {col}")
    extra = [f"no finite e_shd or {col}: {', '.join(left_out)}"] if points and left_out else []
    return points, reason, _not_ok_note(sdf, extra)


def accuracy_runtime_figure(df: pd.DataFrame, style: Style, stem: Path) -> list[Path]:
    settings = _settings(df)
    col = _time_column(df)
    fig, axes = _panels(len(settings))
    for ax, setting in zip(axes, settings):
        points, reason, note = accuracy_panel(df[df["setting"] == setting], col, style.methods)
        for m, (t, t_se, y, y_se) in points.items():
            strong = m in style.highlighted
            ax.errorbar(t, y, xerr=np.nan_to_num(t_se), yerr=np.nan_to_num(y_se), label=m,
                        color=style.color(m), marker=style.marker(m), markersize=8 if strong else 5,
                        markeredgecolor="black" if strong else style.color(m), linestyle="none",
                        elinewidth=0.8, capsize=2)
        if reason:
            _draw_reason(ax, reason)
        _draw_note(ax, note)
        ax.set_xscale("log")
        ax.set_xlabel("wall time per fit [s] (log scale)")
        ax.set_ylabel("expected SHD [edges] (lower is better)")
        ax.set_title(f"{setting}: accuracy vs cost (mean ± s.e.)", fontsize=10)
        ax.grid(alpha=0.3)
        _legend(ax, fontsize=6)
    return _save(fig, stem)


def adjacency_row(df: pd.DataFrame, results: Path, setting: str, methods: list[str]):
    """What the adjacency figure draws for ``setting``: (seed, panels). seed is the first
    seed whose dataset exists (None when there is none); panels are (title, matrix, why)
    for the true graph and then each method, with matrix None and ``why`` the reason when
    the panel has nothing to show."""
    sdf = df[df["setting"] == setting]
    lost = set(sdf.loc[sdf["status"] == DATA_ERROR, "seed"])
    seed, truth, missing = None, None, []
    for k in sorted(set(sdf["seed"]) - lost):
        truth, state = _truth(results, setting, k)
        if state in ("ok", "unknown"):
            seed = k
            break
        if state == DATA_ERROR:
            lost.add(k)
        else:
            missing.append(k)
    if seed is None:
        if not missing:
            why, short = f"no dataset could be made ({_seed_list(lost)})", "no dataset"
        else:
            why, short = f"no data file for {_seed_list(missing)}", "no data file"
            if lost:
                why += f"; no dataset: {_seed_list(lost)}"
        return None, [("true graph", None, why)] + [(m, None, short) for m in methods]
    panels = [("true graph", truth, "true graph unknown")]
    for m in methods:
        row = sdf[(sdf["method_id"] == m) & (sdf["seed"] == seed)]
        if row.empty:  # the method's run_on leaves this setting out, or a record is lost
            panels.append((m, None, f"no record for seed {seed}" if (sdf["method_id"] == m).any()
                           else "not run on this setting"))
        elif (row["status"] == DATA_ERROR).any():
            panels.append((m, None, "no dataset"))
        elif not (row["status"] == "ok").all():
            panels.append((m, None, f"not ok: {', '.join(map(str, row['status'].unique()))}"))
        else:
            p, why = _edge_probs(results, setting, seed, m)
            panels.append((m, p, why))
    return seed, panels


def adjacency_figure(df: pd.DataFrame, results: Path, stem: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    settings = _settings(df)
    methods = list(dict.fromkeys(df["method_id"]))
    ncols = 1 + len(methods)
    fig, axes = plt.subplots(len(settings), ncols, figsize=(1.7 * ncols, 1.9 * len(settings) + 0.6),
                             squeeze=False)
    image = None
    for r, setting in enumerate(settings):
        seed, panels = adjacency_row(df, results, setting, methods)
        first = sorted(set(df.loc[df["setting"] == setting, "seed"]))[0]
        for c, (title, mat, why) in enumerate(panels):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if mat is None:
                ax.text(0.5, 0.5, _wrap(why, 16), ha="center", va="center", fontsize=6.5,
                        transform=ax.transAxes, gid="reason")
                ax.set_box_aspect(1)  # square, as the matrices are
            else:
                image = ax.imshow(mat, vmin=0, vmax=1, cmap="cividis", interpolation="nearest")
            if r == 0:
                ax.set_title(title, fontsize=6, rotation=30, ha="left", loc="left")
            if c == 0:
                which = ("no seed" if seed is None else f"seed {seed}" if seed == first
                         else f"seed {seed}\n(first with data)")
                ax.set_ylabel(f"{setting}\n{which}\nfrom (row)", fontsize=6)
    if image is not None:
        fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.6, label="p(i → j)")
    fig.suptitle("true adjacency and estimated edge probabilities (row i → column j)", fontsize=9)
    return _save(fig, stem, tight=False)
