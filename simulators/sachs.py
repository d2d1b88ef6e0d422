"""Real protein-signalling data: the flow-cytometry measurements of Sachs et al. (2005)
as bundled with cdt (``cdt.data.load_dataset('sachs')``: 7466 cells x 11 proteins and
phospholipids, all of cdt's conditions pooled, without intervention labels).

Ground truth. cdt's own graph has 18 edges and a cycle (plcg -> PIP2 -> PIP3 -> plcg),
so it cannot serve as a DAG. We use the acyclic consensus network of Sachs et al.
(2005, Science 308:523), the 17-edge DAG that most structure-learning papers score
against, in the encoding of the bnlearn repository (Scutari & Denis, "Bayesian
Networks with Examples in R", 2014; model string
[PKC][PKA|PKC][Raf|PKC:PKA][Mek|PKC:PKA:Raf][Erk|Mek:PKA][Akt|Erk:PKA][P38|PKC:PKA]
[Jnk|PKC:PKA][Plcg][PIP3|Plcg][PIP2|Plcg:PIP3]). bnlearn's names map to cdt's
columns as Raf=praf, Mek=pmek, Plcg=plcg, Erk=p44/42, Akt=pakts473, Jnk=pjnk.

The seed chooses the held-out rows; ``log_transform`` (off by default) takes log(1 + x)
of the concentrations first, a common choice for these heavy-tailed data.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from simulators.base import DataError, Dataset, Simulator

# parent -> children of the consensus network, in cdt's column names
CONSENSUS_EDGES = [
    ("PKC", "PKA"), ("PKC", "praf"), ("PKA", "praf"),
    ("PKC", "pmek"), ("PKA", "pmek"), ("praf", "pmek"),
    ("pmek", "p44/42"), ("PKA", "p44/42"),
    ("p44/42", "pakts473"), ("PKA", "pakts473"),
    ("PKC", "P38"), ("PKA", "P38"),
    ("PKC", "pjnk"), ("PKA", "pjnk"),
    ("plcg", "PIP3"), ("plcg", "PIP2"), ("PIP3", "PIP2"),
]


def consensus_graph(names: list[str]) -> np.ndarray:
    """[11, 11] int8 adjacency of the consensus network in the column order ``names``."""
    index = {name: i for i, name in enumerate(names)}
    g = np.zeros((len(names), len(names)), dtype=np.int8)
    for a, b in CONSENSUS_EDGES:
        g[index[a], index[b]] = 1
    return g


class Sachs(Simulator):
    name = "sachs"
    defaults = {
        "heldout_fraction": 0.1,  # share of the 7466 rows held out, chosen by the seed
        "n": 0,                   # training rows to keep (0 = all the rest), chosen by the seed
        "log_transform": False,   # log(1 + x) before standardising
        "standardise": True,
    }

    @classmethod
    def check_params(cls, p: dict[str, Any]) -> list[str]:
        out = []
        if not 0 < p["heldout_fraction"] < 1:
            out.append(f"parameter 'heldout_fraction' = {p['heldout_fraction']} must be in (0, 1)")
        if p["n"] < 0 or p["n"] == 1:
            out.append(f"parameter 'n' = {p['n']} must be 0 (all rows) or >= 2")
        return out

    def generate(self, rng: np.random.Generator) -> Dataset:
        import contextlib
        import io
        import warnings

        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            from cdt.data import load_dataset
            df, _ = load_dataset("sachs")
        names = [str(c) for c in df.columns]
        x = df.to_numpy(dtype=np.float64)                       # [7466, 11]
        if self.params["log_transform"]:
            x = np.log1p(x)
        perm = rng.permutation(len(x))
        n_held = int(round(self.params["heldout_fraction"] * len(x)))
        train = perm[n_held:]
        if self.params["n"]:
            if self.params["n"] > len(train):
                raise DataError(f"sachs: n = {self.params['n']} but only {len(train)} training rows exist")
            train = train[: self.params["n"]]
        return Dataset(x=x[train], x_heldout=x[perm[:n_held]], g_true=consensus_graph(names),
                       node_names=names, meta={"source": "cdt.data.load_dataset('sachs')",
                                               "graph": "Sachs et al. 2005 consensus (17 edges)"})
