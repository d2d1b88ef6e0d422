"""Comparison figures from the long-format score table, each as PNG and PDF.

- ``<metric>``: one panel per setting, methods side by side (box + one dot per seed);
- ``roc``: ROC curves per setting, edge marginals pooled over seeds;
- ``runtime``: wall time per fit and method (log scale);
- ``accuracy_vs_runtime``: mean E-SHD against mean wall time per method, per setting;
- ``adjacency``: the true graph beside each method's edge marginals, for the first seed.
Fits that did not end ok are left out, and each panel says how many. Methods whose
plugin name is in ``highlight`` (e.g. the DiBS variants) are drawn emphasised.
Colours are the Okabe-Ito palette (safe for the common colour-vision deficiencies),
paired with a marker per method so that more than eight methods stay distinct.
"""
from __future__ import annotations

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
OTHER_FIGURES = ["roc", "runtime", "accuracy_vs_runtime", "adjacency"]
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


def _not_ok_note(sdf: pd.DataFrame) -> str:
    bad = sdf[sdf["status"] != "ok"]
    if bad.empty:
        return ""
    counts = bad.groupby("method_id").size()
    return "not shown (not ok): " + ", ".join(f"{m} ×{c}" for m, c in counts.items())


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
        values = [pd.to_numeric(ok.loc[ok["method_id"] == m, metric], errors="coerce").dropna().to_numpy()
                  if metric in ok else np.array([]) for m in methods]
        drawn = [(i, v) for i, v in enumerate(values) if len(v)]
        if drawn:
            ax.boxplot([v for _, v in drawn], positions=[i for i, _ in drawn], widths=0.6,
                       showfliers=False, medianprops={"color": "black"})
            for i, v in drawn:
                m = methods[i]
                ax.scatter(i + rng.uniform(-0.15, 0.15, len(v)), v, s=16, zorder=3,
                           color=style.color(m), marker=style.marker(m))
        else:
            ax.text(0.5, 0.5, "no finite values", transform=ax.transAxes, ha="center")
        ax.set_xticks(range(len(methods)), methods, rotation=45, ha="right", fontsize=8)
        style.emphasise_ticks(ax)
        ax.set_xlim(-0.6, len(methods) - 0.4)
        ax.set_title(setting, fontsize=10)
        ax.set_ylabel(label.replace(" (", "\n("))  # '(lower is better)' on its own line
        note = _not_ok_note(sdf)
        if note:
            ax.text(0.01, 0.99, note, transform=ax.transAxes, va="top", fontsize=7, color="#D55E00")
        ax.grid(axis="y", alpha=0.3)
    return _save(fig, stem)


def _edge_arrays(results: Path, setting: str, seed, method: str):
    """(edge_probs [d, d], g_true [d, d]) of one ok fit, or None when files are missing."""
    fit = results / "fits" / setting / f"seed{seed}" / f"{method}.npz"
    data = results / "data" / setting / f"seed{seed}.npz"
    if not (fit.exists() and data.exists()):
        return None
    with np.load(fit) as f, np.load(data) as g:
        return f["edge_probs"], g["g_true"]


def roc_figure(df: pd.DataFrame, results: Path, style: Style, stem: Path) -> list[Path]:
    from sklearn.metrics import roc_curve

    settings = _settings(df)
    fig, axes = _panels(len(settings))
    for ax, setting in zip(axes, settings):
        ok = df[(df["setting"] == setting) & (df["status"] == "ok")]
        for m in style.methods:
            probs, truth = [], []
            for seed in ok.loc[ok["method_id"] == m, "seed"]:
                arrays = _edge_arrays(results, setting, seed, m)
                if arrays is None:
                    continue
                p, t = arrays
                off = ~np.eye(len(t), dtype=bool)
                probs.append(p[off])
                truth.append(t[off])
            if not probs or len(np.unique(np.concatenate(truth))) < 2:
                continue
            fpr, tpr, _ = roc_curve(np.concatenate(truth), np.concatenate(probs))
            strong = m in style.highlighted
            ax.plot(fpr, tpr, label=m, color=style.color(m), marker=style.marker(m), markersize=3,
                    linewidth=2.2 if strong else 1.0, alpha=1.0 if strong else 0.8)
        ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle=":")
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.set_title(f"{setting} (pooled over seeds)", fontsize=10)
        ax.legend(fontsize=6, loc="lower right")
    return _save(fig, stem)


def _time_column(df: pd.DataFrame) -> str:
    return "wall_s" if "wall_s" in df else "fit_s"


def runtime_figure(df: pd.DataFrame, style: Style, stem: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    methods = style.methods
    settings = _settings(df)
    col = _time_column(df)
    fig, ax = plt.subplots(figsize=(max(5, 0.7 * len(methods) + 2), 4))
    ok = df[df["status"] == "ok"]
    width = 0.8 / max(len(settings), 1)
    for j, setting in enumerate(settings):
        sdf = ok[ok["setting"] == setting]
        for i, m in enumerate(methods):
            v = pd.to_numeric(sdf.loc[sdf["method_id"] == m, col], errors="coerce").dropna()
            x = i - 0.4 + width * (j + 0.5)
            ax.scatter(np.full(len(v), x), v, s=14, color=PALETTE[j % len(PALETTE)],
                       marker=MARKERS[j % len(MARKERS)], label=setting if i == 0 else None)
    ax.set_yscale("log")
    ax.set_xticks(range(len(methods)), methods, rotation=45, ha="right", fontsize=8)
    style.emphasise_ticks(ax)
    ax.set_ylabel("wall time per fit [s] (log scale)")
    ax.set_title("runtime per method (one dot per fit; whole job incl. start-up)", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, stem)


def accuracy_runtime_figure(df: pd.DataFrame, style: Style, stem: Path) -> list[Path]:
    from evaluation.aggregate import mean_se

    settings = _settings(df)
    col = _time_column(df)
    fig, axes = _panels(len(settings))
    ok = df[df["status"] == "ok"]
    for ax, setting in zip(axes, settings):
        sdf = ok[ok["setting"] == setting]
        for m in style.methods:
            mdf = sdf[sdf["method_id"] == m]
            if mdf.empty or "e_shd" not in mdf:
                continue
            t, t_se = mean_se(mdf[col])
            y, y_se = mean_se(mdf["e_shd"])
            if not (np.isfinite(t) and np.isfinite(y)):
                continue
            strong = m in style.highlighted
            ax.errorbar(t, y, xerr=np.nan_to_num(t_se), yerr=np.nan_to_num(y_se), label=m,
                        color=style.color(m), marker=style.marker(m), markersize=8 if strong else 5,
                        markeredgecolor="black" if strong else style.color(m), linestyle="none",
                        elinewidth=0.8, capsize=2)
        ax.set_xscale("log")
        ax.set_xlabel("wall time per fit [s] (log scale)")
        ax.set_ylabel("expected SHD [edges] (lower is better)")
        ax.set_title(f"{setting}: accuracy vs cost (mean ± s.e.)", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    return _save(fig, stem)


def adjacency_figure(df: pd.DataFrame, results: Path, stem: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    settings = _settings(df)
    methods = list(dict.fromkeys(df["method_id"]))
    ncols = 1 + len(methods)
    fig, axes = plt.subplots(len(settings), ncols, figsize=(1.7 * ncols, 1.9 * len(settings) + 0.6),
                             squeeze=False)
    image = None
    for r, setting in enumerate(settings):
        sdf = df[df["setting"] == setting]
        seed = sorted(sdf["seed"])[0]
        data = results / "data" / setting / f"seed{seed}.npz"
        truth = np.load(data)["g_true"] if data.exists() else None
        panels = [("true graph", truth, "")]
        for m in methods:
            row = sdf[(sdf["method_id"] == m) & (sdf["seed"] == seed)]
            if row.empty:  # the method's run_on leaves this setting out
                panels.append((m, None, "not run"))
                continue
            arrays = _edge_arrays(results, setting, seed, m) if (row["status"] == "ok").all() else None
            panels.append((m, None if arrays is None else arrays[0], "not ok"))
        for c, (title, mat, why) in enumerate(panels):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if mat is None:
                ax.text(0.5, 0.5, why or "missing", ha="center", va="center", fontsize=7, transform=ax.transAxes)
            else:
                image = ax.imshow(mat, vmin=0, vmax=1, cmap="cividis", interpolation="nearest")
            if r == 0:
                ax.set_title(title, fontsize=6, rotation=30, ha="left", loc="left")
            if c == 0:
                ax.set_ylabel(f"{setting}\nseed {seed}\nfrom (row)", fontsize=6)
    if image is not None:
        fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.6, label="p(i → j)")
    fig.suptitle("true adjacency and estimated edge probabilities (row i → column j)", fontsize=9)
    return _save(fig, stem, tight=False)
