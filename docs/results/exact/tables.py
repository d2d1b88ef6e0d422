"""The tables and the figure of docs/results/exact/ from the study's score table.

    python docs/results/exact/tables.py results/exact/tables/scores.csv docs/results/exact

Writes tables.md (mean ± s.e. over seeds of the distances to the exact posterior, per d
and n) and distances.png (TV and edge-marginal error against n, a panel per d).
"""
from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

COLUMNS = [("edge_mae", "edge MAE", 3), ("tv", "TV", 3), ("kl", "KL(p‖q)", 2),
           ("e_shd_gap", "|ΔE-SHD|", 2), ("mec_mass", "mass on true MEC", 3),
           ("e_shd", "E-SHD", 2), ("auroc", "AUROC", 3), ("ece", "ECE", 3), ("fit_s", "fit [s]", 1)]


def cell(v: pd.Series, dec: int) -> str:
    v = pd.to_numeric(v, errors="coerce").dropna()
    if v.empty:
        return "–"
    se = v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else float("nan")
    return f"{v.mean():.{dec}f} ± {se:.{dec}f}" if np.isfinite(se) else f"{v.mean():.{dec}f}"


def main(scores: str, out: str) -> None:
    df = pd.read_csv(scores)
    ok = df[df["status"] == "ok"]
    order = list(dict.fromkeys(df["method_id"]))
    lines = ["# Distances to the exact posterior", "",
             "Mean ± standard error over seeds (fits with status ok). p: the exact BGe posterior of "
             "the fit's training data; q: the method's posterior. Lower is better except mass on "
             "the true MEC and AUROC.", ""]
    for (d, n), g in ok.groupby(["sim.d", "sim.n"]):
        lines += [f"## d = {d}, n = {n}", "", "| method | seeds | " + " | ".join(c[1] for c in COLUMNS) + " |",
                  "|---|---|" + "---|" * len(COLUMNS)]
        for m in order:
            mg = g[g["method_id"] == m]
            if len(mg):
                lines.append(f"| {m} | {len(mg)} | " + " | ".join(cell(mg[c], dec) for c, _, dec in COLUMNS) + " |")
        lines.append("")
    not_ok = df[df["status"] != "ok"]
    lines += ["Fits not ok: " + (", ".join(f"{k}: {v}" for k, v in not_ok.groupby("method_id").size().items())
                                  if len(not_ok) else "none"), ""]
    Path(out, "tables.md").write_text("\n".join(lines))

    ds = sorted(ok["sim.d"].unique())
    fig, axes = plt.subplots(2, len(ds), figsize=(5 * len(ds), 7), squeeze=False)
    for col, d in enumerate(ds):
        for row, (metric, label) in enumerate([("tv", "total variation to exact"),
                                               ("edge_mae", "edge-marginal MAE to exact")]):
            ax = axes[row, col]
            for m in order:
                mg = ok[(ok["sim.d"] == d) & (ok["method_id"] == m)]
                if mg.empty or m in ("exact",):
                    continue
                stats = mg.groupby("sim.n")[metric].agg(["mean", "sem", "count"])
                ax.errorbar(stats.index, stats["mean"], yerr=stats["sem"], marker="o", capsize=3, label=m)
            ax.set_xscale("log")
            ax.set_xticks(sorted(ok["sim.n"].unique()))
            ax.set_xticklabels(sorted(ok["sim.n"].unique()))
            ax.set_xlabel("training rows n")
            ax.set_ylabel(label)
            n_seeds = ok[ok["sim.d"] == d]["seed"].nunique()
            ax.set_title(f"d = {d} (mean ± s.e. over {n_seeds} seeds)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    fig.tight_layout()
    fig.savefig(Path(out, "distances.png"), dpi=120, bbox_inches="tight")


if __name__ == "__main__":
    main(*sys.argv[1:3])
