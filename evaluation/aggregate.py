"""Collect per-fit score records into the long-format table and the markdown summary."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from dagbench.io import atomic_path, atomic_write_text

# (column, header, decimals) of the summary table; the arrow says whether lower or higher is
# better (brier, parent_aid and ancestor_aid are in the long CSV only)
SUMMARY_COLUMNS = [
    ("e_shd", "E-SHD ↓", 1),
    ("shd_cpdag", "SHD-CPDAG ↓", 1),
    ("auroc", "AUROC ↑", 3),
    ("auprc", "AUPRC ↑", 3),
    ("sid", "SID ↓", 1),
    ("ece", "ECE ↓", 3),
    ("f1", "F1 ↑", 3),
    ("ll_heldout", "held-out LL ↑", 2),
    ("ll_heldout_interv", "interv. held-out LL ↑", 2),
    ("edge_mae", "edge MAE to exact ↓", 3),
    ("tv", "TV to exact ↓", 3),
    ("kl", "KL(exact ‖ ·) ↓", 2),
    ("mec_mass", "mass on true MEC ↑", 3),
    ("wall_s", "time [s]", 1),
]
#: columns shown only in settings where some fit has a value (interventional held-out rows;
#: the distances to the exact posterior, in settings with ``exact_posterior``)
OPTIONAL_COLUMNS = {"ll_heldout_interv", "edge_mae", "tv", "kl", "mec_mass"}


ID_COLUMNS = ["setting", "simulator", "seed", "method_id", "method", "bootstrap", "status", "reason",
              "rows_used"]


def load_records(paths: list[str | Path]) -> pd.DataFrame:
    """One row per score record, in the order given (which is config order); columns:
    the ids, then the scores and costs, then the ``sim.*`` and ``method.*`` parameters."""
    df = pd.DataFrame([json.loads(Path(p).read_text()) for p in paths])
    params = sorted(c for c in df.columns if c.startswith(("sim.", "method.")))
    ids = [c for c in ID_COLUMNS if c in df.columns]
    rest = sorted(c for c in df.columns if c not in ids and c not in params)
    return df[ids + rest + params]


def aggregate(paths: list[str | Path], *, csv_path: str | Path, summary_path: str | Path,
              summary_html: str | Path | None = None) -> pd.DataFrame:
    """Write the long table (CSV: one row per setting x seed x method, parameters as
    ``sim.*`` and ``method.*`` columns) and the summary (markdown, and HTML for the
    Snakemake report: mean ± standard error over seeds of each method in each setting,
    with failures counted)."""
    df = load_records(paths)
    with atomic_path(csv_path) as tmp:
        df.to_csv(tmp, index=False)
    tables = summary_tables(df)
    atomic_write_text(summary_path, summary_markdown(tables))
    if summary_html is not None:
        atomic_write_text(summary_html, summary_as_html(tables))
    return df


def mean_se(values: pd.Series) -> tuple[float, float]:
    """Mean and standard error (sample sd / sqrt(n)) of the finite values; se is NaN for n < 2."""
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return float("nan"), float("nan")
    se = v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else float("nan")
    return float(v.mean()), float(se)


SUMMARY_NOTE = ("Mean ± standard error over seeds (fits with status ok only). "
                "'not ok' counts failed and timed-out fits; 'skipped' counts fits the method declined; "
                "'no data' (shown where it happens) counts fits on a dataset that could not be made "
                "(status data_error: the method was not run, see the reason column of scores.csv).")


def summary_tables(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """{setting: table}; rows are methods in config order, cells are mean ± s.e. over
    the seeds whose fit is ok, and the last columns count the runs that were not
    (failed or timed out, skipped, and, in settings where a dataset could not be made,
    data_error as "no data")."""
    cols = [c for c in SUMMARY_COLUMNS if c[0] in df.columns]
    tables = {}
    for setting, sdf in df.groupby("setting", sort=False):
        no_data = (sdf["status"] == "data_error").any()
        rows = []
        for method_id, mdf in sdf.groupby("method_id", sort=False):
            ok = mdf[mdf["status"] == "ok"]
            row = {"method": method_id, "ok": f"{len(ok)}/{len(mdf)}"}
            for col, header, dec in cols:
                if col in OPTIONAL_COLUMNS and not np.isfinite(pd.to_numeric(sdf[col], errors="coerce")).any():
                    continue
                m, se = mean_se(ok[col]) if len(ok) else (float("nan"), float("nan"))
                row[header] = ("–" if np.isnan(m) else
                               (f"{m:.{dec}f} ± {se:.{dec}f}" if np.isfinite(se) else f"{m:.{dec}f}"))
            if "rows_used" in sdf and (_rows_used(sdf) != "all").any():  # interventional data
                row["training rows"] = " / ".join(sorted(set(_rows_used(mdf))))
            row["not ok"] = int(mdf["status"].isin(["failed", "timeout"]).sum())
            row["skipped"] = int((mdf["status"] == "skipped").sum())
            if no_data:  # the dataset, not the method, failed: counted apart from "not ok"
                row["no data"] = int((mdf["status"] == "data_error").sum())
            rows.append(row)
        tables[setting] = pd.DataFrame(rows)
    return tables


def _rows_used(df: pd.DataFrame) -> pd.Series:
    """The ``rows_used`` column as strings; records written before it existed (NaN) used all rows."""
    return df["rows_used"].where(df["rows_used"].notna(), "all").astype(str)


def summary_markdown(tables: dict[str, pd.DataFrame]) -> str:
    """The summary tables as one markdown document, a section per setting."""
    lines = ["# Summary", "", SUMMARY_NOTE.replace("'", "`"), ""]
    for setting, table in tables.items():
        lines += [f"## {setting}", "", "| " + " | ".join(table.columns) + " |",
                  "|" + "---|" * len(table.columns)]
        lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)]
        lines.append("")
    return "\n".join(lines)


def summary_as_html(tables: dict[str, pd.DataFrame]) -> str:
    """The summary tables as one self-contained HTML page."""
    from html import escape

    parts = ["<html><head><meta charset='utf-8'><style>table{border-collapse:collapse;font:13px sans-serif}"
             "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}</style></head><body>",
             f"<p>{escape(SUMMARY_NOTE)}</p>"]
    for setting, table in tables.items():
        parts += [f"<h2>{escape(setting)}</h2>", table.to_html(index=False, escape=True)]
    return "\n".join(parts + ["</body></html>"])
