"""Collect per-fit score records into the long-format table and the markdown summary."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from dagbench.io import atomic_path, atomic_write_text

# (column, header, decimals) of the summary table; lower SHD is better, higher otherwise
SUMMARY_COLUMNS = [
    ("e_shd", "E-SHD ↓", 1),
    ("shd_cpdag", "SHD-CPDAG ↓", 1),
    ("auroc", "AUROC ↑", 3),
    ("auprc", "AUPRC ↑", 3),
    ("f1", "F1 ↑", 3),
    ("ll_heldout", "held-out LL ↑", 2),
    ("wall_s", "time [s]", 1),
]


ID_COLUMNS = ["setting", "simulator", "seed", "method_id", "method", "bootstrap", "status", "reason"]


def load_records(paths: list[str | Path]) -> pd.DataFrame:
    """One row per score record, in the order given (which is config order); columns:
    the ids, then the scores and costs, then the ``sim.*`` and ``method.*`` parameters."""
    df = pd.DataFrame([json.loads(Path(p).read_text()) for p in paths])
    params = sorted(c for c in df.columns if c.startswith(("sim.", "method.")))
    ids = [c for c in ID_COLUMNS if c in df.columns]
    rest = sorted(c for c in df.columns if c not in ids and c not in params)
    return df[ids + rest + params]


def aggregate(paths: list[str | Path], *, csv_path: str | Path, summary_path: str | Path) -> pd.DataFrame:
    """Write the long table (CSV: one row per setting x seed x method, parameters as
    ``sim.*`` and ``method.*`` columns) and the summary (markdown, mean ± standard
    error over seeds of each method in each setting, with failures counted)."""
    df = load_records(paths)
    with atomic_path(csv_path) as tmp:
        df.to_csv(tmp, index=False)
    atomic_write_text(summary_path, summary_markdown(df))
    return df


def mean_se(values: pd.Series) -> tuple[float, float]:
    """Mean and standard error (sample sd / sqrt(n)) of the finite values; se is NaN for n < 2."""
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return float("nan"), float("nan")
    se = v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else float("nan")
    return float(v.mean()), float(se)


def summary_markdown(df: pd.DataFrame) -> str:
    """One markdown table per setting; rows are methods in config order, cells are
    mean ± s.e. over the seeds whose fit is ok, and the last columns count the runs
    that were not (failed or timed out, skipped)."""
    lines = ["# Summary", "",
             "Mean ± standard error over seeds (fits with status ok only). "
             "`not ok` counts failed and timed-out fits; `skipped` counts fits the method declined.", ""]
    for setting, sdf in df.groupby("setting", sort=False):
        lines += [f"## {setting}", ""]
        cols = [c for c in SUMMARY_COLUMNS if c[0] in df.columns]
        lines.append("| method | ok | " + " | ".join(h for _, h, _ in cols) + " | not ok | skipped |")
        lines.append("|---|---|" + "---|" * len(cols) + "---|---|")
        for method_id, mdf in sdf.groupby("method_id", sort=False):
            ok = mdf[mdf["status"] == "ok"]
            cells = []
            for col, _, dec in cols:
                m, se = mean_se(ok[col]) if len(ok) else (float("nan"), float("nan"))
                cells.append("–" if np.isnan(m) else
                             (f"{m:.{dec}f} ± {se:.{dec}f}" if np.isfinite(se) else f"{m:.{dec}f}"))
            not_ok = int(mdf["status"].isin(["failed", "timeout"]).sum())
            skipped = int((mdf["status"] == "skipped").sum())
            lines.append(f"| {method_id} | {len(ok)}/{len(mdf)} | " + " | ".join(cells)
                         + f" | {not_ok} | {skipped} |")
        lines.append("")
    return "\n".join(lines)
