"""A user-supplied dataset: a CSV file with a header row, and optionally its true graph.

The data CSV has one column per variable (the header gives the node names) and one
row per observation; every value must be a finite number. The optional graph CSV is a
d x d matrix of 0/1 (``g[i, j] = 1`` means i -> j), with or without a header row of
the same node names. The seed picks which rows are held out. The dataset goes through
the same checks as a simulated one (finite values, no constant column, d of the graph
matching the data, a DAG); without a graph, the graph metrics are reported as NaN and
only the held-out likelihood is scored.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from simulators.base import DataError, Dataset, Simulator


class CsvDataset(Simulator):
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
        if not 0 < p["heldout_fraction"] < 1:
            out.append(f"parameter 'heldout_fraction' = {p['heldout_fraction']} must be in (0, 1)")
        return out

    def generate(self, rng: np.random.Generator) -> Dataset:
        import pandas as pd

        path = Path(self.params["path"])
        if not path.exists():
            raise DataError(f"csv dataset: file {path} does not exist")
        try:
            df = pd.read_csv(path)
        except Exception as exc:
            raise DataError(f"csv dataset {path}: cannot be read as CSV ({exc})") from None
        bad = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
        if bad:
            raise DataError(f"csv dataset {path}: non-numeric columns {', '.join(map(str, bad[:5]))} "
                            "(a header row and numbers only are expected)")
        x = df.to_numpy(dtype=np.float64)  # [N, d]
        d = x.shape[1]
        if self.params["graph_path"]:
            g = self._read_graph(Path(self.params["graph_path"]), list(map(str, df.columns)))
            known = True
        else:
            g, known = np.zeros((d, d), dtype=np.int8), False
        n_held = int(round(self.params["heldout_fraction"] * len(x)))
        if len(x) - n_held < 2 or n_held < 1:
            raise DataError(f"csv dataset {path}: {len(x)} rows are too few to hold out "
                            f"{self.params['heldout_fraction']:.0%} and keep 2 training rows")
        perm = rng.permutation(len(x))
        ds = Dataset(x=x[perm[n_held:]], x_heldout=x[perm[:n_held]], g_true=g,
                     node_names=list(map(str, df.columns)), meta={"graph_known": known, "source": str(path)})
        problems = ds.problems()
        if problems:
            raise DataError(f"csv dataset {path}: " + "; ".join(problems))
        return ds

    @staticmethod
    def _read_graph(path: Path, names: list[str]) -> np.ndarray:
        from dagbench.graphs import is_dag

        if not path.exists():
            raise DataError(f"csv dataset: graph file {path} does not exist")
        raw = np.genfromtxt(path, delimiter=",", dtype=str)
        raw = np.atleast_2d(raw)
        if list(raw[0]) == names:
            raw = raw[1:]
        try:
            g = raw.astype(float)
        except ValueError:
            raise DataError(f"graph file {path}: entries must be 0 or 1") from None
        if g.shape != (len(names), len(names)):
            raise DataError(f"graph file {path} is {g.shape[0]} x {g.shape[1]} but the data has "
                            f"d = {len(names)} columns")
        if not np.isin(g, (0, 1)).all():
            raise DataError(f"graph file {path}: entries must be 0 or 1")
        if not is_dag(g):
            raise DataError(f"graph file {path}: the graph has a cycle")
        return g.astype(np.int8)
