"""Comparison figures from the long-format score table, each as PNG and PDF.

- ``<metric>``: one panel per setting, methods side by side: one dot per seed and, beside
  the dots, the mean ± standard error over the seeds (the numbers of the summary table);
  the AUPRC panels also draw chance, the edge density of the true graph (``edge_density``);
- ``roc``: ROC curves per setting, edge marginals pooled over seeds;
- ``reliability``: reliability diagram (calibration) of the edge marginals per setting,
  pooled over seeds, 10 equal-width bins (those of the ``ece`` score);
- ``runtime``: fit time per fit and method (log scale; ``TIME_AXIS``);
- ``accuracy_vs_runtime``: mean E-SHD against mean fit time per method, per setting;
- ``adjacency``: the true graph beside each method's edge marginals, for the first seed
  whose dataset exists, nodes labelled by their names.

Box plots. A method's box (median and quartiles) is drawn only from ``BOX_MIN_SEEDS`` = 10
seeds in the panel. Quartiles are order statistics: from 3 seeds the box runs between two
of the points and the whiskers end at the third, a shape that suggests a distribution three
points cannot show; from 10, each quartile rests on two or three points, the fewest at
which the interquartile range starts to estimate a spread. Below that the dots are the
distribution, and mean ± s.e. is what is compared.

Outliers. Two methods far below the rest (e.g. a held-out log-likelihood of -30 against
-10) would flatten every other method into a line. In every per-metric panel (any metric),
the fewest lowest and/or highest methods, at most a third of the panel's methods (and only
with 4 methods or more), whose removal shrinks the span of the per-method means at least
``OUTLIER_GAIN`` = 3-fold are left off the axis: the axis covers the other methods' dots
and error bars, an arrow at its edge names each method left off and gives its mean, and
the panel's note and the figure's key say so (``outlying_methods``). A span ratio rather
than quartile fences (median ± k·IQR): two outliers among seven methods already drag the
first quartile towards them, so the fences would not see them.

Every figure says how many seeds it shows (in the panel titles, the runtime legend or,
for the adjacency figure, which seed). Legends are drawn below the panels, outside every
axes, so they never cover data (``_figure_legend``; saved with ``bbox_inches='tight'``).

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
OTHER_FIGURES = ["roc", "reliability", "runtime", "accuracy_vs_runtime", "adjacency", "sortability"]
FORMATS = ["png", "pdf"]
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]

#: fewest values of one method in one panel from which its box (median, quartiles) is
#: drawn (module docstring: quartiles of fewer points are not meaningful)
BOX_MIN_SEEDS = 10
#: outliers of a metric panel (``outlying_methods``): the fewest extreme methods (at most
#: this share of the panel's methods, with at least this many methods in the panel) whose
#: removal shrinks the span of the per-method means at least this many-fold
OUTLIER_MAX_SHARE = 1 / 3
OUTLIER_MIN_METHODS = 4
OUTLIER_GAIN = 3.0

#: (axis label, what it measures) of each time column, preferred first: ``fit_s`` is timed
#: by ``dagbench.runner`` around ``method.fit`` alone (with all the bootstrap refits of a
#: bootstrap method), inside the fit process; ``wall_s`` is Snakemake's benchmark of the
#: whole fit job.
TIME_AXIS = {
    "fit_s": ("fit time [s]",
              "the method's fit alone: without process start, imports, data loading, "
              "held-out likelihood, saving or scoring"),
    "wall_s": ("wall time of the whole fit job [s]",
               "no fit_s in the score table: includes process start, imports, loading, saving "
               "and waiting for a CPU"),
}


def figure_names() -> list[str]:
    """Every figure file plot_all writes (without folder)."""
    return [f"{name}.{fmt}" for name in [*METRICS, *OTHER_FIGURES] for fmt in FORMATS]


def plot_all(table: str | Path, *, results: str | Path, outdir: str | Path,
             highlight: Iterable[str] = ()) -> list[Path]:
    """Draw every figure of ``figure_names()`` from the score table ``table`` (datasets and
    fits read under ``results``) into ``outdir``; returns the files written."""
    import matplotlib
    matplotlib.use("Agg")

    df = pd.read_csv(table)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    style = Style(df, set(highlight))
    written = []
    chance = {s: edge_density(df, Path(results), s) for s in _settings(df)}
    for metric, label in METRICS.items():
        written += metric_figure(df, metric, label, style, outdir / metric,
                                 chance=chance if metric == "auprc" else None)
    written += roc_figure(df, Path(results), style, outdir / "roc")
    written += reliability_figure(df, Path(results), style, outdir / "reliability")
    written += runtime_figure(df, style, outdir / "runtime")
    written += accuracy_runtime_figure(df, style, outdir / "accuracy_vs_runtime")
    written += adjacency_figure(df, Path(results), outdir / "adjacency")
    written += sortability_figure(df, outdir / "sortability")
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


def _n_seeds(n: int) -> str:
    """'1 seed' or '3 seeds'."""
    return f"{n} seed{'' if n == 1 else 's'}"


def _figure_legend(fig, extra: Iterable = (), order: Iterable[str] = (), *, collect: bool = True) -> None:
    """One legend for the whole figure, below the panels (outside every axes: it never
    covers data; ``_save`` moves it under the lowest tick label): the labelled artists of
    all panels, one entry per label, those named in ``order`` first (in that order), then
    the ready-made handles ``extra`` (only these when not ``collect``). None when there is
    nothing to label (no empty box)."""
    entries = {}
    for ax in fig.axes if collect else []:
        if ax.get_visible():
            for h, lab in zip(*ax.get_legend_handles_labels()):
                entries.setdefault(lab, h)
    rank = {m: i for i, m in enumerate(order)}
    labels = sorted(entries, key=lambda lab: rank.get(lab, len(rank)))  # (stable sort)
    handles = [entries[lab] for lab in labels]
    for h in extra:
        handles.append(h)
        labels.append(h.get_label())
    if not handles:
        return
    # as many columns as fit the figure's width (~0.6 em per character at 7 pt, + the key)
    per_col = max(len(lab) for lab in labels) * 7 * 0.6 + 30
    ncol = max(1, min(len(labels), int(fig.get_figwidth() * 72 // per_col)))
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=ncol,
               fontsize=7, frameon=False)


def _place_legends(fig) -> None:
    """Put the figure's legends just below the lowest artist of its panels (tick labels
    included), so that no legend overlaps an axes."""
    if not fig.legends:
        return
    try:
        renderer = fig.canvas.get_renderer()
    except AttributeError:  # (a canvas without a renderer of its own: draw with Agg)
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        renderer = FigureCanvasAgg(fig).get_renderer()
    bottom = min(ax.get_tightbbox(renderer).y0 for ax in fig.axes if ax.get_visible())
    for legend in fig.legends:
        legend.set_bbox_to_anchor((0.5, bottom / fig.bbox.height - 0.005), transform=fig.transFigure)


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
    _place_legends(fig)
    out = []
    for fmt in FORMATS:
        path = stem.with_suffix(f".{fmt}")
        with atomic_path(path) as tmp:  # ('tight': the figure grows to hold the legend below)
            fig.savefig(tmp, dpi=150, format=fmt, bbox_inches="tight", pad_inches=0.08)
        out.append(path)
    plt.close(fig)
    return out


def outlying_methods(means: dict, gain: float = OUTLIER_GAIN) -> dict:
    """{key: 'low' or 'high'} of the entries of ``means`` (the per-method means of one
    panel) that flatten the others: the fewest lowest and/or highest means whose removal
    shrinks the span (max - min) of the remaining means at least ``gain``-fold; at most
    ``OUTLIER_MAX_SHARE`` of the means, and only with ``OUTLIER_MIN_METHODS`` of them or
    more ({} otherwise, or when no such set exists).

    (A span ratio, not quartile fences: two outliers among seven methods already move the
    first quartile, so median ± k·IQR would miss them; and the ratio asks exactly whether
    the outliers squeeze the rest into a small part of the axis.)"""
    order = sorted(means, key=means.get)
    v = np.array([means[m] for m in order], dtype=float)
    n = len(v)
    if n < OUTLIER_MIN_METHODS or not v[-1] > v[0]:
        return {}
    full = v[-1] - v[0]
    for j in range(1, int(n * OUTLIER_MAX_SHARE) + 1):  # the fewest removed first
        # (lowest removed, highest removed) with the narrowest rest
        low, high = min(((a, j - a) for a in range(j + 1)), key=lambda s: v[n - 1 - s[1]] - v[s[0]])
        rest = v[n - 1 - high] - v[low]
        if 0 < gain * rest <= full:  # (a rest of equal means has no spread to show: no clip)
            return {**{m: "low" for m in order[:low]}, **{m: "high" for m in order[n - high:]}}
    return {}


def _num(x: float) -> str:
    """A mean as an annotation gives it: 3 significant digits, a true minus sign."""
    return (f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}").replace("-", "\u2212")


def _clip_to_bulk(ax, methods: list[str], values: dict, stats: dict, keep: list[float]) -> dict:
    """Clip the y axis of a metric panel to the methods that are not outlying.

    values: {position: the method's values}; stats: {position: (mean, s.e.)}; keep: y
    values the axis must show anyway (the chance line). When ``outlying_methods`` finds
    methods that flatten the others, the axis covers the other methods' dots and error bars
    (and ``keep``), and an arrow at its bottom (top) edge names each method whose mean is
    then off the axis and gives that mean (gid 'clipped'). Returns {method: mean} of the
    methods whose mean is off the axis ({} when nothing is clipped)."""
    out = outlying_methods({i: mean for i, (mean, _) in stats.items()})
    if not out:
        return {}

    def span(positions):  # (lowest, highest) of the dots, the error bars and ``keep``
        se = {i: np.nan_to_num(stats[i][1]) for i in positions}
        v = np.concatenate([values[i] for i in positions]
                           + [stats[i][0] + np.array([-se[i], se[i]]) for i in positions]
                           + [np.asarray(keep, dtype=float)])
        v = v[np.isfinite(v)]
        return v.min(), v.max()

    lo, hi = span([i for i in values if i not in out])
    pad = 0.06 * (hi - lo) if hi > lo else 0.5
    lo, hi = lo - pad, hi + pad
    # (the other methods' dots may reach an outlier's mean: then it is on the axis)
    out = {i: side for i, side in out.items() if not lo <= stats[i][0] <= hi}
    if not out:
        return {}
    ax.set_ylim(lo, hi)
    for i, side in sorted(out.items()):  # (in the order of the methods)
        low = side == "low"  # arrow at the bottom edge, text above it (at the top: below it)
        ax.annotate(f"{methods[i]}: {_num(stats[i][0])}", xy=(i, 0 if low else 1),
                    xycoords=ax.get_xaxis_transform(), xytext=(0, 14 if low else -14),
                    textcoords="offset points", rotation=90, ha="center",
                    va="bottom" if low else "top", fontsize=6.5, color="#333333", gid="clipped",
                    arrowprops={"arrowstyle": "-|>", "color": "#333333", "linewidth": 1.0})
    return {methods[i]: stats[i][0] for i in sorted(out)}


def metric_figure(df: pd.DataFrame, metric: str, label: str, style: Style, stem: Path, *,
                  chance: dict | None = None) -> list[Path]:
    """One panel per setting, the methods that ran on it side by side: one dot per seed
    (ok fits, finite values; jittered) and, right of the dots, the mean ± standard error
    over the seeds (black bar and error bar); a box (median, quartiles, whiskers to 1.5 IQR)
    behind the dots only for a method with ``BOX_MIN_SEEDS`` seeds or more. The title gives
    the number of seeds; a method far outside the others is left off the axis and marked
    at its edge with its mean (``_clip_to_bulk``). ``chance``: {setting: edge density of
    the true graph}, drawn as a dashed line labelled 'chance (edge density)' (what AUPRC
    gives for guessing). The key to the symbols is below the panels."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from evaluation.aggregate import mean_se

    settings = _settings(df)
    fig, axes = _panels(len(settings))
    rng = np.random.default_rng(0)  # jitter only
    shown = set()  # what the figure draws somewhere: the key lists only that
    mean_key = None  # a mean ± s.e. as drawn, for the key
    for ax, setting in zip(axes, settings):
        sdf = df[df["setting"] == setting]
        ok = sdf[sdf["status"] == "ok"]
        methods = _methods_in(style, sdf)  # a method with run_on may not be in every setting
        for i, m in enumerate(methods):
            if m in style.highlighted:
                ax.axvspan(i - 0.5, i + 0.5, color="#F0E442", alpha=0.18, linewidth=0)
        values = [_finite(ok.loc[ok["method_id"] == m, metric]) if metric in ok else np.array([])
                  for m in methods]
        drawn = {i: v for i, v in enumerate(values) if len(v)}
        reason = metric_reason(sdf, metric)  # '' exactly when something is drawn
        extra = []
        if drawn:
            stats = {}
            for i, v in drawn.items():
                m = methods[i]
                if len(v) >= BOX_MIN_SEEDS:
                    box = ax.boxplot([v], positions=[i - 0.1], widths=0.36, showfliers=False,
                                     patch_artist=True, zorder=2,
                                     boxprops={"facecolor": "white", "edgecolor": "#777777"},
                                     medianprops={"color": "#777777"},
                                     whiskerprops={"color": "#777777"}, capprops={"color": "#777777"})
                    for patch in box["boxes"]:
                        patch.set_gid("box")
                    shown.add("box")
                ax.scatter(i - 0.1 + rng.uniform(-0.1, 0.1, len(v)), v, s=16, zorder=3,
                           color=style.color(m), marker=style.marker(m))
                shown.add("dots")
                stats[i] = mean_se(pd.Series(v))
                se = stats[i][1] if np.isfinite(stats[i][1]) else None  # (None: a single seed)
                bar = ax.errorbar(i + 0.22, stats[i][0], yerr=se, fmt="_", color="black", markersize=12,
                                  markeredgewidth=2, elinewidth=1.2, capsize=3, zorder=4)
                if se is not None:
                    mean_key = bar  # (the key shows a mean ± s.e. as drawn)
            line = (chance or {}).get(setting, np.nan)
            if np.isfinite(line):
                ax.axhline(line, color="#555555", linestyle="--", linewidth=1, zorder=1,
                           label="chance (edge density)")
                shown.add("chance")
            clipped = _clip_to_bulk(ax, methods, drawn, stats, [line])
            if clipped:
                shown.add("clipped")
                extra.append("off the axis (mean far from the others): "
                             + ", ".join(f"{m} {_num(v)}" for m, v in clipped.items()))
            finite = np.isfinite(pd.to_numeric(ok[metric], errors="coerce"))
            ax.set_title(f"{setting} ({_n_seeds(ok.loc[finite, 'seed'].nunique())})", fontsize=10)
            # an ok fit without a finite value on some seeds (the method is still drawn)
            partial = Counter({m: int((ok["method_id"] == m).sum()) - len(values[i])
                               for i, m in enumerate(methods) if i in drawn})
            if +partial:
                extra.append(f"some seeds without a finite {metric}: {_counts(+partial)}")
        else:
            _draw_reason(ax, reason or f"no finite values of {metric}")
            ax.set_title(setting, fontsize=10)
        ax.set_xticks(range(len(methods)), methods, rotation=45, ha="right", fontsize=8)
        style.emphasise_ticks(ax)
        ax.set_xlim(-0.6, len(methods) - 0.4)
        ax.set_ylabel(label.replace(" (", "\n("))  # '(lower is better)' on its own line
        if not no_dataset_reason(sdf):  # (else the reason says it all)
            left_out = [m for m, v in zip(methods, values) if not len(v) and (ok["method_id"] == m).any()]
            _draw_note(ax, _not_ok_note(sdf, [f"no finite {metric}: {', '.join(left_out)}"
                                              if drawn and left_out else "", *extra]))
        ax.grid(axis="y", alpha=0.3)
    if "dots" in shown:  # the key to the symbols, below the panels
        grey = "#777777"
        key = [Line2D([], [], linestyle="none", marker="o", color=grey, markersize=4,
                      label="one dot per seed (colour and marker: the method)")]
        if mean_key is not None:
            mean_key.set_label("mean ± standard error over the seeds")
            key.append(mean_key)
        else:  # (one seed each: no error bar anywhere)
            key.append(Line2D([], [], linestyle="none", marker="_", color="black", markersize=12,
                              markeredgewidth=2, label="mean over the seeds"))
        if "box" in shown:
            key.append(Patch(facecolor="white", edgecolor=grey,
                             label=f"box: median and quartiles (methods with ≥ {BOX_MIN_SEEDS} seeds)"))
        if "chance" in shown:
            key.append(Line2D([], [], linestyle="--", color="#555555", label="chance (edge density)"))
        if "clipped" in shown:
            key.append(Line2D([], [], linestyle="none", marker=r"$\downarrow$", color="#333333",
                              label=f"mean off the axis (it widens the span of the means ≥ "
                                    f"{OUTLIER_GAIN:g}-fold); the axis shows the other methods"))
        _figure_legend(fig, key, collect=False)
    return _save(fig, stem)


def edge_density(df: pd.DataFrame, results: Path, setting: str) -> float:
    """Chance level of AUPRC in ``setting``: the share of the d(d-1) off-diagonal node
    pairs that are edges of the true graph (read from the datasets, as the ROC figure
    does), averaged over the seeds with an ok fit and a finite auprc (all seeds with an ok
    fit when the table has no auprc); NaN when no such seed has a known true graph."""
    ok = df[(df["setting"] == setting) & (df["status"] == "ok")]
    if "auprc" in ok:
        ok = ok[np.isfinite(pd.to_numeric(ok["auprc"], errors="coerce"))]
    density = []
    for seed in sorted(set(ok["seed"])):
        g, _ = _truth(results, setting, seed)
        if g is not None and len(g) >= 2:
            d = len(g)
            density.append(np.count_nonzero(g[~np.eye(d, dtype=bool)]) / (d * (d - 1)))
    return float(np.mean(density)) if density else float("nan")


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

    curves: {method: (truth, probs, seeds)}, the off-diagonal entries of the true graphs and
    of the fits' scored edge marginals (``scored_edge_probs``) pooled over the seeds whose
    fit is ok, and those seeds; reason: why there is no curve ('' when there is one); note: what the panel
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
            curves[m] = (truth_all, np.concatenate(pooled.probs[m]), pooled.seeds[m])

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
    """ROC curves of the edge marginals, one panel per setting: per method, the off-diagonal
    entries of all seeds with an ok fit pooled into one curve (the title gives the number of
    seeds); the dotted diagonal is guessing. The legend is below the panels."""
    from sklearn.metrics import roc_curve

    settings = _settings(df)
    fig, axes = _panels(len(settings))
    for ax, setting in zip(axes, settings):
        curves, reason, note = roc_panel(df, results, setting, style.methods)
        for m, (truth, probs, _) in curves.items():
            fpr, tpr, _ = roc_curve(truth, probs)
            strong = m in style.highlighted
            ax.plot(fpr, tpr, label=m, color=style.color(m), marker=style.marker(m), markersize=3,
                    linewidth=2.2 if strong else 1.0, alpha=1.0 if strong else 0.8)
        ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle=":")
        ax.set_yticks(np.linspace(0, 1, 6))  # (a note may raise the axis above 1)
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        n_seeds = len({k for *_, seeds in curves.values() for k in seeds})
        ax.set_title(f"{setting} (pooled over {_n_seeds(n_seeds)})" if curves else setting, fontsize=10)
        if reason:
            _draw_reason(ax, reason)
        _draw_note(ax, note)
    _figure_legend(fig, order=style.methods)
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
    equal-width bins on [0, 1] (non-empty bins only), pooled over seeds (the title gives
    how many); the diagonal is perfect calibration. A method pooled over fewer seeds than
    the panel is named in the panel's note. The legend is below the panels."""
    settings = _settings(df)
    fig, axes = _panels(len(settings))
    for ax, setting in zip(axes, settings):
        curves, n_seeds, reason, note = reliability_panel(df, results, setting, style.methods, n_bins)
        fewer = []
        for m, (mean_p, freq, count, k) in curves.items():
            full = count > 0
            strong = m in style.highlighted
            if k < n_seeds:
                fewer.append(f"{m} ({k} of {n_seeds})")
            ax.plot(mean_p[full], freq[full], label=m, color=style.color(m),
                    marker=style.marker(m), markersize=5 if strong else 4,
                    linewidth=2.2 if strong else 1.0, alpha=1.0 if strong else 0.8)
        ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle=":",
                label="perfect calibration" if curves else "_diagonal")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_yticks(np.linspace(0, 1, 6))  # (a note may raise the axis above 1)
        ax.set_xlabel(f"mean predicted p(i → j) in the bin ({n_bins} equal-width bins)")
        ax.set_ylabel("observed share of true edges")
        ax.set_title(f"{setting} (pooled over {_n_seeds(n_seeds)})" if curves else setting, fontsize=10)
        if reason:
            _draw_reason(ax, reason)
        if fewer:
            note = "; ".join(x for x in (note, "pooled over fewer seeds: " + ", ".join(fewer)) if x)
        _draw_note(ax, note)
    _figure_legend(fig, order=style.methods)
    return _save(fig, stem)


def _time_column(df: pd.DataFrame) -> str | None:
    """The time column the runtime figures plot: ``fit_s`` (the fit alone) when the table
    has some fit time; else ``wall_s`` (the whole fit job) when present; None when the table
    has neither (see ``TIME_AXIS``)."""
    if "fit_s" in df and len(_times(df["fit_s"])):
        return "fit_s"
    if "wall_s" in df:
        return "wall_s"
    return "fit_s" if "fit_s" in df else None


def time_label(col: str | None, width: int = 45) -> str:
    """Axis label of the time column ``col``: what it is and what it measures."""
    name, what = TIME_AXIS.get(col, (f"{col} [s]", ""))
    return f"{name}, log scale" + (f"\n({_wrap(what, width)})" if what else "")


def _has_time(rows: pd.DataFrame, col: str | None) -> pd.Series:
    """Which rows have a time the log axis can show (finite, positive) in ``col``."""
    if col is None or col not in rows:
        return pd.Series(False, index=rows.index)
    t = pd.to_numeric(rows[col], errors="coerce")
    return np.isfinite(t) & (t > 0)


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
        return "no timing column (fit_s or wall_s) in the score table"
    ok = sdf[sdf["status"] == "ok"]
    if ok.empty:
        return "no fit ended ok"
    if not len(_times(ok[col])):
        return f"no finite values of {col}"
    return ""


def runtime_figure(df: pd.DataFrame, style: Style, stem: Path) -> list[Path]:
    """The time of each ok fit (one dot per fit, log scale), methods side by side, one
    colour and marker per setting; the legend (below the axes) gives each setting's number
    of seeds, the axis label the time column and what it measures (``_time_column``,
    ``TIME_AXIS``: the fit alone, ``fit_s``; the whole job's ``wall_s`` only when the table
    has no fit time)."""
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
        timed = _has_time(ok, col)
        label = f"{setting} ({_n_seeds(ok.loc[timed, 'seed'].nunique())})"
        no_time = []
        for i, m in enumerate(methods):
            v = _times(ok.loc[ok["method_id"] == m, col]) if col else np.array([])
            if not len(v):
                if col and (ok["method_id"] == m).any():
                    no_time.append(m)
                continue
            x = i - 0.4 + width * (j + 0.5)
            ax.scatter(np.full(len(v), x), v, s=14, color=PALETTE[j % len(PALETTE)],
                       marker=MARKERS[j % len(MARKERS)], label=None if _has_label(ax, label) else label)
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
    ax.set_ylabel(time_label(col), fontsize=8)
    ax.set_title("time per fit and method (one dot per fit)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    _figure_legend(fig)
    return _save(fig, stem)


#: (score column, panel title) of the sortability figure: properties of each dataset
#: (``evaluation.sortability``), the same in every record of one setting and seed
SORTABILITY = {"var_sortability": "var-sortability (order of increasing variance)",
               "r2_sortability": "R²-sortability (order of increasing R²)"}


def dataset_values(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """One row per dataset (setting, seed) whose records carry a finite ``column``: the
    columns setting, seed, value (a dataset property repeated in every fit record; the
    first finite one is taken), settings in table order."""
    if column not in df:
        return pd.DataFrame({"setting": [], "seed": [], "value": []})
    v = pd.to_numeric(df[column], errors="coerce")
    keep = df.loc[np.isfinite(v), ["setting", "seed"]].assign(value=v[np.isfinite(v)])
    return keep.drop_duplicates(["setting", "seed"]).reset_index(drop=True)


def sortability_reason(sdf: pd.DataFrame, column: str) -> str:
    """Why a setting has no value of the dataset property ``column`` ('' when it has)."""
    if column not in sdf:
        return f"no {column} column in the score table"
    return no_dataset_reason(sdf) or ("" if len(dataset_values(sdf, column))
                                      else f"no finite values of {column}")


def sortability_figure(df: pd.DataFrame, stem: Path) -> list[Path]:
    """Var- and R²-sortability of every dataset (Reisach et al., NeurIPS 2021, Sec. 3.1;
    NeurIPS 2023, Eq. 3; ``evaluation.sortability``): one panel each, the settings side by
    side, one dot per dataset (seed) and the mean ± standard error over the seeds. The
    dashed line at 0.5 is data whose variance (R²) order says nothing of the causal
    order; near 1, sorting the columns by it recovers the order (what sortnregress and
    R²-sortnregress exploit), near 0 the reverse order. A setting without a value is
    named in the panel's note."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from evaluation.aggregate import mean_se

    settings = _settings(df)
    fig, axes = plt.subplots(1, 2, figsize=(max(9.0, 1.4 * len(settings) + 3), 4), squeeze=False)
    rng = np.random.default_rng(0)  # jitter only
    mean_key = None
    for ax, (column, title) in zip(axes.flat, SORTABILITY.items()):
        values = dataset_values(df, column)
        reasons = {s: sortability_reason(df[df["setting"] == s], column) for s in settings}
        ticks = []
        for i, s in enumerate(settings):
            v = values.loc[values["setting"] == s, "value"].to_numpy()
            ticks.append(f"{s}\n({_n_seeds(len(v))})")
            if not len(v):
                continue
            ax.scatter(i - 0.1 + rng.uniform(-0.08, 0.08, len(v)), v, s=16, zorder=3,
                       color=PALETTE[i % len(PALETTE)], marker=MARKERS[i % len(MARKERS)])
            mean, se = mean_se(pd.Series(v))
            bar = ax.errorbar(i + 0.2, mean, yerr=se if np.isfinite(se) else None, fmt="_",
                              color="black", markersize=12, markeredgewidth=2, elinewidth=1.2,
                              capsize=3, zorder=4)
            mean_key = bar if np.isfinite(se) else (mean_key or bar)
        ax.axhline(0.5, color="#555555", linestyle="--", linewidth=1, zorder=1)
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlim(-0.6, len(settings) - 0.4)
        ax.set_xticks(range(len(settings)), ticks, rotation=45, ha="right", fontsize=8)
        ax.set_ylabel(f"{column}\n(share of cause → effect pairs in order)", fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        if len(values):
            _draw_note(ax, "; ".join(f"{s}: {r}" for s, r in reasons.items() if r))
        else:
            distinct = set(reasons.values())
            _draw_reason(ax, distinct.pop() if len(distinct) == 1 else
                         "\n".join(f"{s}: {r}" for s, r in reasons.items()))
    key = [Line2D([], [], linestyle="--", color="#555555",
                  label="0.5: the order carries no information on the causal order")]
    if mean_key is not None:
        key[:0] = [Line2D([], [], linestyle="none", marker="o", color="#777777", markersize=4,
                          label="one dot per dataset (seed)")]
        mean_key.set_label("mean ± standard error over the seeds")
        key.insert(1, mean_key)
    _figure_legend(fig, key, collect=False)
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
    """One panel per setting: each method's mean E-SHD against its mean time per fit (log
    scale; ``_time_column``), with standard-error bars both ways; the title gives the
    number of seeds, the legend (below the panels) the methods."""
    settings = _settings(df)
    col = _time_column(df)
    fig, axes = _panels(len(settings))
    for ax, setting in zip(axes, settings):
        sdf = df[df["setting"] == setting]
        points, reason, note = accuracy_panel(sdf, col, style.methods)
        ok = sdf[(sdf["status"] == "ok") & sdf["method_id"].isin(list(points))]
        n_seeds = ok.loc[_has_time(ok, col), "seed"].nunique() if points else 0
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
        ax.set_xlabel(time_label(col, width=60), fontsize=8)
        ax.set_ylabel("expected SHD [edges] (lower is better)")
        ax.set_title(f"{setting}: accuracy vs cost (mean ± s.e., {_n_seeds(n_seeds)})" if points
                     else f"{setting}: accuracy vs cost", fontsize=10)
        ax.grid(alpha=0.3)
    _figure_legend(fig, order=style.methods)
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


#: panels per row of the adjacency figure; more methods wrap onto further rows
ADJACENCY_COLUMNS = 6


def _node_names(results: Path, setting: str, seed, d: int) -> list[str]:
    """The node names of a dataset (its .json sidecar, ``Dataset.save``); '0'..'d-1' when
    the sidecar is missing or does not name d nodes."""
    import json

    try:
        names = json.loads((results / "data" / setting / f"seed{seed}.json").read_text())["node_names"]
    except (OSError, ValueError, KeyError, TypeError):
        names = None
    if isinstance(names, list) and len(names) == d:
        return [str(n) for n in names]
    return [str(i) for i in range(d)]


def _short(name: str, width: int = 6) -> str:
    """A tick label: ``name``, cut to ``width`` characters with '…' when longer."""
    return name if len(name) <= width else name[:width - 1] + "…"


def _node_ticks(ax, names: list[str], *, ylabels: bool) -> None:
    """Node names as tick labels of a [d, d] matrix panel (x: rotated; y only when
    ``ylabels``, else bare ticks), at most ~16 per axis: every k-th node for a larger d."""
    d = len(names)
    ticks = list(range(0, d, int(np.ceil(d / 16))))
    size = 5.5 if d <= 10 else 4.5
    ax.set_xticks(ticks, [_short(names[i]) for i in ticks], rotation=90, fontsize=size)
    ax.set_yticks(ticks, [_short(names[i]) for i in ticks] if ylabels else [], fontsize=size)
    ax.tick_params(length=1.5, pad=1)


def adjacency_figure(df: pd.DataFrame, results: Path, stem: Path) -> list[Path]:
    """For each setting, the true graph beside each method's edge marginals p(i → j) (row i,
    column j) for one seed (the first whose dataset exists, named at the left), on one
    colour scale; nodes labelled by their names. The panels of a setting wrap onto several
    rows when there are more than ``ADJACENCY_COLUMNS``; an empty panel says why."""
    import matplotlib.pyplot as plt

    settings = _settings(df)
    methods = list(dict.fromkeys(df["method_id"]))
    n_panels = 1 + len(methods)
    rows_per = int(np.ceil(n_panels / ADJACENCY_COLUMNS))  # rows of one setting
    ncols = int(np.ceil(n_panels / rows_per))  # (balanced: 10 panels as 5 + 5, not 6 + 4)
    fig, axes = plt.subplots(len(settings) * rows_per, ncols, squeeze=False, layout="constrained",
                             figsize=(1.65 * ncols + 1.2, 1.85 * len(settings) * rows_per + 0.4))
    image, used = None, []
    for r, setting in enumerate(settings):
        seed, panels = adjacency_row(df, results, setting, methods)
        first = sorted(set(df.loc[df["setting"] == setting, "seed"]))[0]
        d = next((len(mat) for _, mat, _ in panels if mat is not None), 0)
        names = _node_names(results, setting, seed, d)
        for c, (title, mat, why) in enumerate(panels):
            ax = axes[r * rows_per + c // ncols, c % ncols]
            used.append(ax)
            if mat is None:
                ax.set_xticks([])
                ax.set_yticks([])
                ax.text(0.5, 0.5, _wrap(why, 16), ha="center", va="center", fontsize=6.5,
                        transform=ax.transAxes, gid="reason")
                ax.set_box_aspect(1)  # square, as the matrices are
            else:
                image = ax.imshow(mat, vmin=0, vmax=1, cmap="cividis", interpolation="nearest")
                _node_ticks(ax, names if len(names) == len(mat) else [str(i) for i in range(len(mat))],
                            ylabels=c % ncols == 0)
            ax.set_title(_wrap(title, 26), fontsize=6.5)
            if c == 0:
                which = ("no seed" if seed is None else f"seed {seed}" if seed == first
                         else f"seed {seed}\n(first with data)")
                ax.set_ylabel(f"{setting}\n{which}\nfrom (row)", fontsize=6.5)
            elif c % ncols == 0:  # a wrapped row of the same setting
                ax.set_ylabel(f"{setting}\n(continued)\nfrom (row)", fontsize=6.5)
        for c in range(n_panels, rows_per * ncols):  # the empty end of a setting's last row
            axes[r * rows_per + c // ncols, c % ncols].remove()
    if image is not None:
        fig.colorbar(image, ax=used, shrink=min(0.6, 2.0 / axes.shape[0]), label="p(i → j)")
    fig.suptitle("true adjacency and estimated edge probabilities (row i → column j), "
                 "one seed per setting (named at the left)", fontsize=9)
    return _save(fig, stem, tight=False)
