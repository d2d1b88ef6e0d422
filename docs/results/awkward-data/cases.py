"""Run every input of tests/cases/ through the harness's own pieces and print what comes
out: the scores, or the message that refuses the input.

    python docs/results/awkward-data/cases.py            # this checkout
    PYTHONPATH=/path/to/old/checkout python docs/results/awkward-data/cases.py
                                                         # another commit's code, same cases

Only public entry points are used (the csv simulator, method plugins, score_fit), so the
same script runs against older commits and shows their behaviour on the same inputs.
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

CASES = Path(__file__).resolve().parents[3] / "tests" / "cases"
warnings.simplefilter("ignore")


def dataset(folder, data, graph=None, seed=0):
    from simulators.base import get

    params = {"path": str(CASES / folder / data)}
    if graph:
        params["graph_path"] = str(CASES / folder / graph)
    return get("csv")(**params).simulate(seed=seed)


def scores(method, data, **kw):
    from evaluation.scoring import score_fit
    from methods.base import get

    post = get(method)().fit(data, seed=0)
    arrays = {"graphs": post.graphs, "weights": post.weights, "edge_probs": post.marginals()}
    if post.cpdag is not None:
        arrays["cpdag"] = post.cpdag
    return post, score_fit(arrays, data)


def attempt(label, fn):
    try:
        print(f"{label}: {fn()}")
    except Exception as exc:  # the point is to show what happens, whatever it is
        print(f"{label}: {type(exc).__name__}: {str(exc).replace(str(CASES) + '/', '')[:300]}")


def main() -> int:
    for method in ("pc", "ges"):
        for data, graph in (("data_causal_order.csv", "graph_causal_order.csv"),
                            ("data_reversed_order.csv", "graph_reversed_order.csv")):
            def run(method=method, data=data, graph=graph):
                ds = dataset("cpdag-extension", data, graph)
                post, s = scores(method, ds)
                a, b = ds.node_names.index("A"), ds.node_names.index("B")
                return (f"E-SHD {s['e_shd']:.3g}, SHD-CPDAG {s['shd_cpdag']:.3g}, "
                        f"p(A->B) {post.marginals()[a, b]:.3g}, F1 {s['f1']:.3g}")
            attempt(f"cpdag-extension {method} {data}", run)

    for data, graph in (("data.csv", "graph.csv"), ("data_duplicated.csv", "graph_duplicated.csv")):
        def run(data=data, graph=graph):
            ds = dataset("collinear", data, graph)
            return {m: round(scores(m, ds)[1]["ll_heldout"], 2) for m in ("empty", "random_dag", "ges")}
        attempt(f"collinear {data} (held-out LL per method)", run)

    for seed in (0, 3):
        attempt(f"constant-in-split seed {seed}",
                lambda seed=seed: f"made, d = {dataset('constant-in-split', 'data_rare.csv', 'graph_rare.csv', seed).d}")

    def all_cyclic():
        from evaluation.scoring import score_fit
        ds = dataset("all-2cycles", "data4.csv", "graph4.csv")
        est = pd.read_csv(CASES / "all-2cycles" / "estimate_all_2cycles.csv", header=None).to_numpy()
        g = est[None].astype(np.int8)
        s = score_fit({"graphs": g, "weights": np.ones(1), "edge_probs": est.astype(float)}, ds)
        e = scores("empty", ds)[1]
        keys = ("e_shd", "shd_cpdag", "precision", "recall", "f1", "auroc", "ll_heldout")
        return ("answer " + ", ".join(f"{k} {s[k]:.3g}" for k in keys)
                + " | empty graph " + ", ".join(f"{k} {e[k]:.3g}" for k in keys))
    attempt("all-2cycles", all_cyclic)

    def header_order():
        ds = dataset("graph-header-order", "data.csv", "graph_perm_for_unpermuted_data.csv")
        want = pd.read_csv(CASES / "graph-header-order" / "graph.csv").to_numpy()
        return f"graph read, equal to graph.csv: {bool((ds.g_true == want).all())}"
    attempt("graph-header-order", header_order)

    attempt("index-column, no graph", lambda: f"nodes {dataset('index-column', 'data.csv').node_names}")
    attempt("index-column, graph.csv",
            lambda: f"nodes {dataset('index-column', 'data.csv', 'graph.csv').node_names}")

    def empty_truth():
        ds = dataset("empty-truth", "data.csv", "graph.csv")
        return f"edges in truth {int(ds.g_true.sum())}, ges AUROC {scores('ges', ds)[1]['auroc']}"
    attempt("empty-truth", empty_truth)
    return 0


if __name__ == "__main__":
    sys.exit(main())
