"""A user-supplied dataset: a CSV file with a header row, and optionally its true graph.

Both files are read with pandas (``pandas.read_csv``), the same reader that wrote most
such files (``DataFrame.to_csv``), so quoting, blank lines, number formats and pandas'
own index column are understood the way pandas understands them; nothing is parsed by
hand. Every refusal is a ``DataError`` whose message names the file, the column and,
where it helps, the row ("data row N (line N+1 of the file)", N counted from 1).

Data file: one column per variable, the header row gives the node names, one row per
observation, every value a finite number. Header names must be unique (pandas would
silently rename a repeat "A" to "A.1"; the raw header is checked instead). Only an
empty header cell marks an index column: a first column with an empty header cell (as
``to_csv()`` writes pandas' index, or R's ``write.csv``) is dropped, and so is the row
label column of a file whose header row is one field shorter than its data rows (R's
``write.table`` form, which pandas reads as row labels); an empty header cell anywhere
else is refused, naming its position. A first column that has a name (say ``id``) is
a variable like any other; when it holds just the row numbers a note says so.

Graph file (optional): a d x d matrix of 0/1 (``g[i, j] = 1`` means i -> j). Whether
it has a header is decided by its shape alone, never by what the names look like
(node names may be "0", "1", ...): d x d is a bare matrix in the data's column order;
(d + 1) x d is a header row and the matrix; (d + 1) x (d + 1) is a header row and a
first column of row names around the matrix (as ``to_csv()`` writes with its index).
Names are matched to the data's header (whitespace around names ignored) and the rows
and columns are reordered to the data's order; names missing, extra or repeated are
refused by name. Any other shape is refused with the file's shape and the expected d.

The seed picks which rows are held out (a fixed permutation of the rows; the first
``round(heldout_fraction * N)`` of it are held out). A column constant in the file, or
constant on the training rows a seed picks (its other values all held out), is refused
with the column, the seed and the file rows. Then the dataset goes through the same
checks as a simulated one (``Dataset.problems``). Fix-ups (a dropped index column, a
reordered graph) are printed to stderr and listed in ``meta["notes"]``. Without a
graph, the graph metrics are reported as NaN and only the held-out likelihood is scored.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from simulators.base import DataError, Dataset, Simulator


class CsvDataset(Simulator):
    """The ``csv`` simulator: serves a user's data CSV (and true graph CSV), read with pandas.

    pandas (``read_csv``) does all the reading, because it wrote most of these files
    and knows their forms (quoting, blank lines, its index column). The rules, in
    short: the data header names the nodes and must be unique; only an empty header
    cell marks an index column, dropped when it is the first column (or when the header
    row is one field shorter than the data rows: row labels), refused elsewhere. The
    graph file's header is recognised by shape alone (d x d bare, (d + 1) x d header,
    (d + 1) x (d + 1) header plus row names), matched to the data by name and reordered
    to the data's column order. Constant columns, in the file or on a seed's training
    rows, are refused naming the seed and rows. Messages name the file, column and row;
    fix-ups go to stderr and ``meta["notes"]``.
    """

    name = "csv"
    defaults = {
        "path": "",              # the data CSV (required)
        "graph_path": "",        # the true graph CSV ("" = unknown)
        "heldout_fraction": 0.2,  # share of rows held out, chosen by the seed
        "standardise": True,
    }

    @classmethod
    def check_params(cls, p: dict[str, Any]) -> list[str]:
        out = []
        if not p["path"]:
            out.append("parameter 'path' is required: the CSV file to read")
        for key in ("path", "graph_path"):  # checked when the workflow starts, before any job
            if p[key] and not Path(p[key]).is_file():
                out.append(f"parameter '{key}' = {p[key]!r}: no such file (a relative path is read "
                           "from the folder the workflow runs in)")
            elif p[key]:
                problem = _header_problem(Path(p[key]))
                if problem:
                    out.append(f"parameter '{key}' = {p[key]!r}: {problem}")
        if not 0 < p["heldout_fraction"] < 1:
            out.append(f"parameter 'heldout_fraction' = {p['heldout_fraction']} must be in (0, 1)")
        return out

    def simulate(self, *, seed: int) -> Dataset:
        self._seed = seed  # generate(rng) gets no seed; the constant-column message names it
        return super().simulate(seed=seed)

    def generate(self, rng: np.random.Generator) -> Dataset:
        path = Path(self.params["path"])
        if not path.exists():
            raise DataError(f"csv dataset: file {path} does not exist")
        notes: list[str] = []
        df = self._read_data(path, notes)
        names = [str(c) for c in df.columns]
        x = df.to_numpy(dtype=np.float64)  # [N, d]
        d = x.shape[1]
        if self.params["graph_path"]:
            g = self._read_graph(Path(self.params["graph_path"]), names, data_path=path, notes=notes)
            known = True
        else:
            g, known = np.zeros((d, d), dtype=np.int8), False
        n_held = int(round(self.params["heldout_fraction"] * len(x)))
        if len(x) - n_held < 2 or n_held < 1:
            raise DataError(f"csv dataset {path}: {len(x)} rows are too few to hold out "
                            f"{self.params['heldout_fraction']:.0%} and keep 2 training rows")
        perm = rng.permutation(len(x))
        self._check_constant(path, x, perm, n_held, names)
        ds = Dataset(x=x[perm[n_held:]], x_heldout=x[perm[:n_held]], g_true=g, node_names=names,
                     meta={"graph_known": known, "source": str(path), "notes": notes})
        problems = ds.problems()
        if problems:
            raise DataError(f"csv dataset {path}: " + "; ".join(problems))
        return ds

    # ------------------------------------------------------------------ data file
    @staticmethod
    def _read_data(path: Path, notes: list[str]):
        """The data file as a numeric DataFrame (index column dropped), or DataError."""
        import pandas as pd

        where = _RowLines(path)
        try:  # the header row as written: pandas renames repeats ("A.1") and empty cells ("Unnamed: 0")
            header = [str(s) for s in pd.read_csv(path, header=None, nrows=1, dtype=str,
                                                   keep_default_na=False).iloc[0]]
            df = pd.read_csv(path)
        except pd.errors.EmptyDataError:
            raise DataError(f"csv dataset {path}: the file is empty "
                            "(a header row and numbers are expected)") from None
        except Exception as exc:
            raise DataError(f"csv dataset {path}: cannot be read as CSV by pandas "
                            f"({str(exc).strip()})") from None
        if len(header) != df.shape[1]:  # should not happen; refuse rather than guess
            raise DataError(f"csv dataset {path}: the header row has {len(header)} fields but pandas "
                            f"read {df.shape[1]} columns")
        seen: dict[str, list[int]] = {}
        for j, h in enumerate(header):
            if h.strip():  # names are compared without surrounding whitespace (as in the graph file)
                seen.setdefault(h.strip(), []).append(j + 1)
        dup = {h: cols for h, cols in seen.items() if len(cols) > 1}
        if dup:
            raise DataError(f"csv dataset {path}: duplicate column names in the header row: " + "; ".join(
                f"{h!r} is the name of columns {', '.join(map(str, cols))}" for h, cols in dup.items())
                + " (node names must be unique)")
        empty = [j for j, h in enumerate(header) if not h.strip()]
        if any(j > 0 for j in empty):
            j = next(j for j in empty if j > 0)
            after = f" (after column {header[j - 1]!r})" if header[j - 1].strip() else ""
            raise DataError(f"csv dataset {path}: column {j + 1} of {len(header)}{after} has no name in the "
                            "header row; only a first column with an empty header cell is taken as an "
                            "index column (and dropped), every other column needs a name")
        # pandas' other index form: a header row shorter than the data rows -> row labels
        if df.index.nlevels > 1:
            raise DataError(f"csv dataset {path}: the header row has {len(header)} names but the data rows "
                            f"have {len(header) + df.index.nlevels} fields; pandas reads the first "
                            f"{df.index.nlevels} fields of each row as row labels (give every column a name)")
        if _implicit_index(df, path, len(header)):
            notes.append(f"the header row has {len(header)} names but the data rows have "
                         f"{len(header) + 1} fields: the first field of each row is read as a row label "
                         f"(pandas' index form; values {_span(df.index)}) and dropped")
            df = df.reset_index(drop=True)
        if empty:  # == [0]: pandas' to_csv() index, read as "Unnamed: 0"
            notes.append(f"dropped the first column (its header cell is empty; pandas calls it "
                         f"{df.columns[0]!r}): taken as an index column (values {_span(df.iloc[:, 0])}), "
                         "not a variable")
            df = df.iloc[:, 1:].copy()
        if df.shape[1] == 0:
            raise DataError(f"csv dataset {path}: no variable columns (a header row of names is expected)")
        bad = {}
        for c in df.columns:
            col = df[c]
            if not pd.api.types.is_numeric_dtype(col):
                num = pd.to_numeric(col, errors="coerce")
                wrong = np.nonzero((num.isna() & col.notna()).to_numpy())[0]
                if len(wrong):
                    i = int(wrong[0])
                    bad[str(c)] = f"column {c!r} has {str(col.iloc[i])!r} at {where(i)}"
                else:
                    df[c] = num
        if bad:
            hint = ""
            if str(df.columns[0]) in bad:
                hint = (f"; if column {df.columns[0]!r} holds row labels, leave its header cell empty "
                        "or remove it")
            raise DataError(f"csv dataset {path}: non-numeric columns {', '.join(list(bad)[:5])} "
                            f"(a header row and numbers only are expected): "
                            + "; ".join(list(bad.values())[:5]) + hint)
        x = df.to_numpy(dtype=np.float64)
        nonfinite = ~np.isfinite(x)
        if nonfinite.any():
            rows, cols = np.nonzero(nonfinite)
            cells = [f"column {df.columns[j]!r} at {where(int(i))} is "
                     + ("empty or NaN" if np.isnan(x[i, j]) else f"{x[i, j]:+}")
                     for i, j in zip(rows[:5], cols[:5])]
            more = f" (and {len(rows) - 5} more)" if len(rows) > 5 else ""
            raise DataError(f"csv dataset {path}: {len(rows)} non-finite values (empty, NaN or infinite "
                            f"cells): " + "; ".join(cells) + more)
        first = x[:, 0]
        if len(first) >= 2 and not empty and (np.array_equal(first, np.arange(len(first)))
                                             or np.array_equal(first, np.arange(1, len(first) + 1))):
            notes.append(f"column {df.columns[0]!r} holds just the row numbers {_span(first)}; it is kept "
                         "as a variable (only an empty header cell marks an index column): remove it from "
                         "the file if it is an index")
        for note in notes:
            print(f"[dagbench] csv dataset {path}: {note}", file=sys.stderr)
        return df

    def _check_constant(self, path: Path, x: np.ndarray, perm: np.ndarray, n_held: int,
                        names: list[str]) -> None:
        """Refuse columns constant in the file, or on the training rows the seed picks,
        naming the column, the seed and the rows that hold the other values."""
        train = x[perm[n_held:]]
        const = [j for j in range(x.shape[1]) if np.ptp(train[:, j]) == 0]
        if not const:
            return
        where = _RowLines(path)
        seed = getattr(self, "_seed", None)
        by_seed = f"seed {seed}" if seed is not None else "this seed"
        whole = [j for j in const if np.ptp(x[:, j]) == 0]
        parts = []
        if whole:
            parts.append("constant columns: " + ", ".join(names[j] for j in whole) + " (" + "; ".join(
                f"column {names[j]} is constant (= {x[0, j]:g}) in file {path}" for j in whole)
                + "; a constant column carries no information, remove it)")
        for j in const:
            if j in whole:
                continue
            value = train[0, j]
            rows = np.nonzero(x[:, j] != value)[0]  # all among the held-out rows
            shown = ", ".join(where(int(i)) for i in rows[:5])
            shown += f" and {len(rows) - 5} more" if len(rows) > 5 else ""
            parts.append(f"column {names[j]} is constant (= {value:g}) on the {len(train)} training rows "
                         f"chosen by {by_seed} (heldout_fraction {self.params['heldout_fraction']:g}): its other "
                         f"{'values are' if len(rows) > 1 else 'value is'} in {shown}, "
                         f"{'all ' if len(rows) > 1 else ''}held out by {by_seed}; use another seed or "
                         "heldout_fraction, or remove the column")
        raise DataError(f"csv dataset {path}: " + "; ".join(parts))

    # ------------------------------------------------------------------ graph file
    @staticmethod
    def _read_graph(path: Path, names: list[str], data_path: Path | str = "data",
                    notes: list[str] | None = None) -> np.ndarray:
        """The [d, d] 0/1 graph in the data's column order, or DataError naming what is wrong."""
        import pandas as pd

        from dagbench.graphs import is_dag

        if not path.exists():
            raise DataError(f"csv dataset: graph file {path} does not exist")
        d = len(names)
        expected = (f"expected {d} x {d} (a bare matrix in the data's column order), {d + 1} x {d} (a header "
                    f"row of names, then the matrix) or {d + 1} x {d + 1} (a header row and a first column "
                    "of row names, as pandas' to_csv() writes)")
        try:
            raw = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
        except pd.errors.EmptyDataError:
            raise DataError(f"graph file {path} is empty but the data has d = {d} columns ({data_path}): "
                            f"{expected}") from None
        except Exception as exc:
            raise DataError(f"graph file {path}: cannot be read as CSV by pandas ({str(exc).strip()}); "
                            f"the data has d = {d} columns ({data_path}): {expected}") from None
        raw = raw.fillna("").map(lambda s: str(s).strip())
        r, c = raw.shape
        data_cols = f"the data has d = {d} columns ({data_path})"
        data_names = [s.strip() for s in names]  # names match with surrounding whitespace ignored
        if (r, c) == (d, d):
            col_names = row_names = data_names
            m, layout = raw.to_numpy(), None
        elif (r, c) == (d + 1, d):
            col_names = list(raw.iloc[0])
            row_names, m = col_names, raw.iloc[1:].to_numpy()
            layout = f"graph file {path} ({r} x {c}: a header row and a {d} x {d} matrix):"
        elif (r, c) == (d + 1, d + 1):
            col_names, row_names = list(raw.iloc[0, 1:]), list(raw.iloc[1:, 0])
            m = raw.iloc[1:, 1:].to_numpy()
            layout = (f"graph file {path} is {r} x {c} but {data_cols}, so it is read as a header row and "
                      f"a first column of row names around a {d} x {d} matrix (if it has no header, it "
                      "is the wrong size):")
        else:
            raise DataError(f"graph file {path} is {r} x {c} but {data_cols}: {expected}")
        if layout is not None:
            for label, got in (("column", col_names), ("row", row_names)):
                if label == "row" and got is col_names:
                    continue
                problems = []
                dups = sorted({s for s in got if got.count(s) > 1})
                if dups:
                    problems.append("repeated: " + ", ".join(map(repr, dups)))
                extra = [s for s in got if s not in data_names]
                if extra:
                    problems.append("not in the data: " + ", ".join(map(repr, extra)))
                missing = [s for s in data_names if s not in got]
                if missing:
                    problems.append("missing: " + ", ".join(map(repr, missing)))
                if problems:
                    what = "header names" if label == "column" else "row names"
                    raise DataError(f"{layout} its {what} do not match the data's columns "
                                    f"({', '.join(names)}) in {data_path}: " + "; ".join(problems))
        g = np.zeros((d, d), dtype=np.int8)
        bad = []
        for a in range(d):
            for b in range(d):
                v = m[a, b]
                try:
                    f = float(v)
                except ValueError:
                    f = {"true": 1.0, "false": 0.0}.get(v.lower(), np.nan)
                if f not in (0.0, 1.0):
                    bad.append(f"row {row_names[a]!r}, column {col_names[b]!r} is "
                               + (repr(v) if v else "empty"))
                else:
                    g[a, b] = int(f)
        if bad:
            how = "" if layout is not None else (f" (a {d} x {d} file is read as a bare matrix, rows and "
                                                 "columns in the data's order; a header row makes it "
                                                 f"{d + 1} x {d})")
            count = f" ({len(bad)} entries are not)" if len(bad) > 1 else ""
            raise DataError(f"graph file {path}: entries must be 0 or 1{count}{how}: "
                            + "; ".join(bad[:5]) + (" ..." if len(bad) > 5 else ""))
        # reorder to the data's column order
        ci = {s: k for k, s in enumerate(col_names)}
        ri = {s: k for k, s in enumerate(row_names)}
        order_c = [ci[s] for s in data_names]
        order_r = [ri[s] for s in data_names]
        g = g[np.ix_(order_r, order_c)]
        if notes is not None and (order_c != list(range(d)) or order_r != list(range(d))):
            said = f"columns in the order {', '.join(col_names)}"
            if row_names is not col_names and row_names != col_names:
                said += f" and rows in the order {', '.join(row_names)}"
            note = (f"graph file {path} lists its {said}; rows and columns reordered by name to the "
                    f"data's order {', '.join(names)}")
            notes.append(note)
            print(f"[dagbench] csv dataset {data_path}: {note}", file=sys.stderr)
        if not is_dag(g):
            cyc = _find_cycle(g)
            raise DataError(f"graph file {path}: the graph has a cycle: "
                            + " -> ".join(names[k] for k in cyc + cyc[:1]))
        return g


class _RowLines:
    """Names data rows for messages: ``where(i)`` for 0-based data row i gives
    "data row i+1 (line L of the file)", L from the file's non-blank lines (pandas skips
    blank ones); without the line when the file does not line up (quoted newlines)."""

    def __init__(self, path: Path):
        self.path, self._lines = path, None

    def __call__(self, i: int) -> str:
        if self._lines is None:
            try:
                with open(self.path, encoding="utf-8", errors="replace", newline="") as f:
                    text = f.read().replace("\r\n", "\n").replace("\r", "\n")
                self._lines = [k + 1 for k, s in enumerate(text.split("\n")) if s.strip()]
            except OSError:
                self._lines = []
        if len(self._lines) > i + 1:
            return f"data row {i + 1} (line {self._lines[i + 1]} of the file)"
        return f"data row {i + 1}"


def _implicit_index(df, path: Path, n_header: int) -> bool:
    """True when pandas took the first field of each data row as a row label (the header
    row one field shorter than the data rows)."""
    import pandas as pd

    idx = df.index
    if not (isinstance(idx, pd.RangeIndex) and idx.start == 0 and idx.step == 1):
        return True
    if len(df) == 0:
        return False
    try:  # labels 0..n-1 look like the default index: count the first data row's fields
        two = pd.read_csv(path, header=None, nrows=2, dtype=str, keep_default_na=False,
                          names=list(range(n_header + 1)))
    except Exception:
        return False
    return len(two) == 2 and str(two.iloc[1, n_header]).strip() != ""


def _span(values) -> str:
    """A few of ``values`` for a message: "0, 1, 2, ..., 119"."""
    v = [f"{s:g}" if isinstance(s, (float, np.floating)) else str(s) for s in values]
    return ", ".join(v[:3] + (["...", v[-1]] if len(v) > 3 else []))


def _find_cycle(g: np.ndarray) -> list[int]:
    """The nodes of one directed cycle of ``g`` (in order), or [] when it has none
    (networkx's ``find_cycle``: a maintained graph library, already a dependency)."""
    import networkx as nx

    try:
        return [int(a) for a, _ in nx.find_cycle(nx.DiGraph(np.asarray(g) != 0))]
    except nx.NetworkXNoCycle:
        return []


def _header_problem(path: Path) -> str:
    """Why the file's first line cannot serve as a CSV header ("" when it can): checked when
    the workflow starts, so that an unreadable or empty file stops the run before any job.
    The rows themselves are checked per seed, in ``generate``, where a bad one costs only
    that setting's fits (recorded as ``data_error``)."""
    import pandas as pd

    try:
        header = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        return "the file is empty (a header row and numbers are expected)"
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot be read ({type(exc).__name__}: {exc})"
    except Exception as exc:  # pandas' parser errors
        return f"its header row cannot be read as CSV by pandas ({' '.join(str(exc).split())})"
    if header.shape[0] == 0:
        return "the file is empty (a header row and numbers are expected)"
    return ""
