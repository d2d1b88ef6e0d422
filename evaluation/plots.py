"""Comparison figures from the long-format score table.

- ``<metric>.png``: one panel per setting, methods side by side (box + one dot per seed);
- ``roc.png``: ROC curves per setting, edge marginals pooled over seeds;
- ``runtime.png``: wall time per fit and method (log scale).
Fits that did not end ok are left out, and each panel says how many.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

# (score column, axis label) of the per-metric figures; the workflow's plot rule
# declares one PNG per entry.
METRICS = {
    "e_shd": "expected SHD (lower is better)",
    "shd_cpdag": "SHD between CPDAGs (lower is better)",
    "auroc": "AUROC of edge marginals",
    "auprc": "AUPRC of edge marginals",
    "f1": "F1 of the graph at p > 0.5",
    "ll_heldout": "held-out log-likelihood [nats / row]",
}
# Okabe-Ito: distinguishable with the common colour-vision deficiencies
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]


def plot_all(table: str | Path, *, results: str | Path, outdir: str | Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")

    df = pd.read_csv(table)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    written = [metric_figure(df, m, label, outdir / f"{m}.png") for m, label in METRICS.items()]
    written.append(roc_figure(df, Path(results), outdir / "roc.png"))
    written.append(runtime_figure(df, outdir / "runtime.png"))
    return written


def _panels(n: int):
    import matplotlib.pyplot as plt

    ncols = min(n, 3)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.8 * ncols, 3.8 * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def _methods(df: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(df["method_id"]))  # config order


def _not_ok_note(sdf: pd.DataFrame) -> str:
    bad = sdf[sdf["status"] != "ok"]
    if bad.empty:
        return ""
    counts = bad.groupby("method_id").size()
    return "not shown (not ok): " + ", ".join(f"{m} ×{c}" for m, c in counts.items())


def _save(fig, path: Path) -> Path:
    from dagbench.io import atomic_path

    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format=path.suffix.lstrip("."))
    import matplotlib.pyplot as plt
    plt.close(fig)
    return path


def metric_figure(df: pd.DataFrame, metric: str, label: str, path: Path) -> Path:
    settings = list(dict.fromkeys(df["setting"]))
    methods = _methods(df)
    fig, axes = _panels(len(settings))
    rng = np.random.default_rng(0)  # jitter only
    for ax, setting in zip(axes, settings):
        sdf = df[df["setting"] == setting]
        ok = sdf[sdf["status"] == "ok"]
        values = [pd.to_numeric(ok.loc[ok["method_id"] == m, metric], errors="coerce").dropna().to_numpy()
                  if metric in ok else np.array([]) for m in methods]
        drawn = [(i, v) for i, v in enumerate(values) if len(v)]
        if drawn:
            ax.boxplot([v for _, v in drawn], positions=[i for i, _ in drawn], widths=0.6,
                       showfliers=False, medianprops={"color": "black"})
            for i, v in drawn:
                ax.scatter(i + rng.uniform(-0.15, 0.15, len(v)), v, s=14, zorder=3,
                           color=PALETTE[i % len(PALETTE)])
        else:
            ax.text(0.5, 0.5, "no finite values", transform=ax.transAxes, ha="center")
        ax.set_xticks(range(len(methods)), methods, rotation=45, ha="right", fontsize=8)
        ax.set_title(setting, fontsize=10)
        ax.set_ylabel(label)
        note = _not_ok_note(sdf)
        if note:
            ax.text(0.01, 0.99, note, transform=ax.transAxes, va="top", fontsize=7, color="#D55E00")
        ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def roc_figure(df: pd.DataFrame, results: Path, path: Path) -> Path:
    from sklearn.metrics import roc_curve

    settings = list(dict.fromkeys(df["setting"]))
    methods = _methods(df)
    fig, axes = _panels(len(settings))
    for ax, setting in zip(axes, settings):
        ok = df[(df["setting"] == setting) & (df["status"] == "ok")]
        for i, m in enumerate(methods):
            probs, truth = [], []
            for seed in ok.loc[ok["method_id"] == m, "seed"]:
                fit = results / "fits" / setting / f"seed{seed}" / f"{m}.npz"
                data = results / "data" / setting / f"seed{seed}.npz"
                if not (fit.exists() and data.exists()):
                    continue
                with np.load(fit) as f, np.load(data) as g:
                    p, t = f["edge_probs"], g["g_true"]
                off = ~np.eye(len(t), dtype=bool)
                probs.append(p[off])
                truth.append(t[off])
            if not probs or len(np.unique(np.concatenate(truth))) < 2:
                continue
            fpr, tpr, _ = roc_curve(np.concatenate(truth), np.concatenate(probs))
            ax.plot(fpr, tpr, label=m, color=PALETTE[i % len(PALETTE)],
                    linestyle="-" if i < len(PALETTE) else "--")
        ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle=":")
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.set_title(f"{setting} (pooled over seeds)", fontsize=10)
        ax.legend(fontsize=7, loc="lower right")
    return _save(fig, path)


def runtime_figure(df: pd.DataFrame, path: Path) -> Path:
    import matplotlib.pyplot as plt

    methods = _methods(df)
    settings = list(dict.fromkeys(df["setting"]))
    col = "wall_s" if "wall_s" in df else "fit_s"
    fig, ax = plt.subplots(figsize=(max(5, 0.7 * len(methods) + 2), 4))
    ok = df[df["status"] == "ok"]
    width = 0.8 / max(len(settings), 1)
    for j, setting in enumerate(settings):
        sdf = ok[ok["setting"] == setting]
        for i, m in enumerate(methods):
            v = pd.to_numeric(sdf.loc[sdf["method_id"] == m, col], errors="coerce").dropna()
            x = i - 0.4 + width * (j + 0.5)
            ax.scatter(np.full(len(v), x), v, s=14, color=PALETTE[j % len(PALETTE)],
                       label=setting if i == 0 else None)
    ax.set_yscale("log")
    ax.set_xticks(range(len(methods)), methods, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("wall time per fit [s] (log scale)")
    ax.set_title("runtime per method (one dot per fit)", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)
