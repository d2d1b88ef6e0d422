"""Collect per-fit score records into the long-format table and the markdown summary.

The summary states the spread over seeds as mean ± standard error (``spread="se"``, the
default) or as mean [lo, hi], a percentile bootstrap confidence interval of the mean over
seeds (``spread="bootstrap_ci"``; Efron & Tibshirani 1993, An Introduction to the
Bootstrap, §13.3), with the number of resamples and the level given by the caller (the
config's ``statistics`` block). Each interval's resampling is seeded from ``seed`` and the
cell's (setting, method, column), so the summary is reproducible and a cell does not change
when other methods or settings are added.
"""
from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from dagbench.io import CorruptFileError, atomic_path, atomic_write_text, read_json, remake_hint

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
    the ids, then the scores and costs, then the ``sim.*`` and ``method.*`` parameters.
    A damaged record raises CorruptFileError naming it and how to remake it."""
    df = pd.DataFrame([_score_record(p) for p in paths])
    params = sorted(c for c in df.columns if c.startswith(("sim.", "method.")))
    ids = [c for c in ID_COLUMNS if c in df.columns]
    rest = sorted(c for c in df.columns if c not in ids and c not in params)
    return df[ids + rest + params]


def _score_record(path: str | Path) -> dict:
    record = read_json(path)
    if not isinstance(record, dict):
        raise CorruptFileError(f"{path} is not a score record (not a JSON object); {remake_hint(path)}")
    return record


def aggregate(paths: list[str | Path], *, csv_path: str | Path, summary_path: str | Path,
              summary_html: str | Path | None = None, spread: str = "se", resamples: int = 1000,
              confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Write the long table (CSV: one row per setting x seed x method, parameters as
    ``sim.*`` and ``method.*`` columns) and the summary (markdown, and HTML for the
    Snakemake report: mean ± standard error, or mean and bootstrap confidence interval
    when ``spread="bootstrap_ci"``, over seeds of each method in each setting, with
    failures counted)."""
    df = load_records(paths)
    with atomic_path(csv_path) as tmp:
        df.to_csv(tmp, index=False)
    tables = summary_tables(df, spread=spread, resamples=resamples, confidence=confidence, seed=seed)
    note = summary_note(spread, resamples=resamples, confidence=confidence)
    atomic_write_text(summary_path, summary_markdown(tables, note=note))
    if summary_html is not None:
        atomic_write_text(summary_html, summary_as_html(tables, note=note))
    return df


def mean_se(values: pd.Series) -> tuple[float, float]:
    """Mean and standard error (sample sd / sqrt(n)) of the finite values; se is NaN for n < 2."""
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return float("nan"), float("nan")
    se = v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else float("nan")
    return float(v.mean()), float(se)


#: how the summary can state the spread over seeds (the config's ``statistics.spread``)
SPREADS = ("se", "bootstrap_ci")


def _finite_values(values) -> np.ndarray:
    v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    return v[np.isfinite(v)]


def bootstrap_ci(values, *, resamples: int = 1000, confidence: float = 0.95,
                 rng: np.random.Generator | None = None) -> tuple[float, float, float]:
    """Mean and percentile bootstrap confidence interval (lo, hi) of the mean of the finite
    values (Efron & Tibshirani 1993, §13.3): ``resamples`` resamples of the n values with
    replacement, and the (1 - confidence)/2 and (1 + confidence)/2 quantiles of their means.
    lo and hi are NaN for n < 2 (the mean is NaN for n = 0). With few seeds the interval is
    coarse: n values have only C(2n-1, n) distinct resamples (10 for n = 3)."""
    v = _finite_values(values)
    if len(v) == 0:
        return float("nan"), float("nan"), float("nan")
    if len(v) < 2:
        return float(v.mean()), float("nan"), float("nan")
    rng = np.random.default_rng(0) if rng is None else rng
    means = v[rng.integers(0, len(v), size=(int(resamples), len(v)))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(v.mean()), float(lo), float(hi)


def cell_rng(seed: int, *keys) -> np.random.Generator:
    """A generator seeded from ``seed`` and the cell's keys (setting, method, column): the
    same cell gets the same resamples whatever else the table holds."""
    return np.random.default_rng([int(seed), zlib.crc32("\x1f".join(map(str, keys)).encode())])


def spread_cell(values, dec: int, *, spread: str = "se", resamples: int = 1000, confidence: float = 0.95,
                rng: np.random.Generator | None = None) -> str:
    """One summary cell: ``mean ± se`` or ``mean [lo, hi]`` with ``dec`` decimals; the mean
    alone for a single value and "–" for none."""
    if spread not in SPREADS:
        raise ValueError(f"spread must be one of {', '.join(SPREADS)}, not {spread!r}")
    if spread == "se":
        m, se = mean_se(pd.Series(values))
        if np.isnan(m):
            return "–"
        return f"{m:.{dec}f} ± {se:.{dec}f}" if np.isfinite(se) else f"{m:.{dec}f}"
    m, lo, hi = bootstrap_ci(values, resamples=resamples, confidence=confidence, rng=rng)
    if np.isnan(m):
        return "–"
    return f"{m:.{dec}f} [{lo:.{dec}f}, {hi:.{dec}f}]" if np.isfinite(lo) else f"{m:.{dec}f}"


def summary_note(spread: str = "se", *, resamples: int = 1000, confidence: float = 0.95) -> str:
    """The note above the summary tables: what the cells are and what the counts count."""
    if spread == "se":
        return SUMMARY_NOTE
    return (f"Mean [lo, hi] over seeds: {confidence:.0%} percentile bootstrap confidence interval of the "
            f"mean ({resamples} resamples of the seeds; a single ok fit shows its value alone; fits with "
            "status ok only)." + SUMMARY_NOTE[SUMMARY_NOTE.index(".") + 1:])


SUMMARY_NOTE = ("Mean ± standard error over seeds (fits with status ok only). "
                "'not ok' counts failed and timed-out fits; 'skipped' counts fits the method declined; "
                "'no data' (shown where it happens) counts fits on a dataset that could not be made "
                "(status data_error: the method was not run, see the reason column of scores.csv).")


def summary_tables(df: pd.DataFrame, *, spread: str = "se", resamples: int = 1000,
                   confidence: float = 0.95, seed: int = 0) -> dict[str, pd.DataFrame]:
    """{setting: table}; rows are methods in config order, cells are mean ± s.e. (or mean
    [lo, hi] with ``spread="bootstrap_ci"``, see ``spread_cell``) over the seeds whose fit
    is ok, and the last columns count the runs that were not (failed or timed out,
    skipped, and, in settings where a dataset could not be made, data_error as "no data")."""
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
                row[header] = spread_cell(ok[col], dec, spread=spread, resamples=resamples,
                                          confidence=confidence,
                                          rng=cell_rng(seed, setting, method_id, col) if spread != "se" else None)
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


def summary_markdown(tables: dict[str, pd.DataFrame], note: str = SUMMARY_NOTE) -> str:
    """The summary tables as one markdown document, a section per setting."""
    lines = ["# Summary", "", note.replace("'", "`"), ""]
    for setting, table in tables.items():
        lines += [f"## {setting}", "", "| " + " | ".join(table.columns) + " |",
                  "|" + "---|" * len(table.columns)]
        lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)]
        lines.append("")
    return "\n".join(lines)


def summary_as_html(tables: dict[str, pd.DataFrame], note: str = SUMMARY_NOTE) -> str:
    """The summary tables as one self-contained HTML page."""
    from html import escape

    parts = ["<html><head><meta charset='utf-8'><style>table{border-collapse:collapse;font:13px sans-serif}"
             "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}</style></head><body>",
             f"<p>{escape(note)}</p>"]
    for setting, table in tables.items():
        parts += [f"<h2>{escape(setting)}</h2>", table.to_html(index=False, escape=True)]
    return "\n".join(parts + ["</body></html>"])
