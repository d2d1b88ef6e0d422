"""The Gaussian Bayesian networks of the bnlearn repository (Scutari; bnlearn.com/
bnrepository) with their own structures and parameters, as pgmpy ships them inside
its package (``pgmpy.utils.get_example_model``, which reads
``pgmpy/utils/example_models/<name>.json`` offline; pgmpy's newer
``pgmpy.example_models.load_model`` downloads from a hub and is not used).

Networks served (nodes / arcs as listed by bnlearn):

    ecoli70     46 / 70    E. coli gene expression (Schäfer & Strimmer 2005)
    magic-niab  44 / 66    MAGIC wheat population (NIAB): traits and genetic markers
    magic-irri  64 / 102   MAGIC rice population (IRRI): traits and genetic markers
    arth150    107 / 150   A. thaliana gene expression (Opgen-Rhein & Strimmer 2007)

These are all the bnlearn Gaussian networks pgmpy ships. bnlearn's conditional linear
Gaussian networks (healthcare, sangiovese, mehra) have discrete nodes among the
Gaussian ones, and its other networks are discrete; both kinds are refused by name
(pgmpy does not ship the hybrid ones at all). A loaded network is checked node by
node: every CPD must be a ``LinearGaussianCPD`` whose evidence is exactly the node's
parents, with finite coefficients and a positive standard deviation.

Model. pgmpy's ``LinearGaussianCPD`` of node j with evidence (u_1, ..., u_k) holds
``beta`` = [b_j, beta_1, ..., beta_k] and ``std`` = sigma_j, meaning
x_j | x_u ~ N(b_j + sum_l beta_l x_{u_l}, sigma_j^2). So

    x_j = b_j + sum_i w_ij x_i + N(0, sigma_j^2),  w_{u_l, j} = beta_l (0 off the graph),

sampled ancestrally in a topological order. (pgmpy's JSON stores bnlearn's residual
standard deviation squared as ``variance``; pgmpy takes its square root.)

Interventions are the linear SCM simulators' (simulators/scm.py, the same sampler
``_SCM``): ``n_interv_nodes`` nodes each clamped in ``n_interv_rows`` extra training
rows to ``interv_value + interv_std * N(0, 1)``, in the network's own units (before
standardisation; mind each network's scale, e.g. magic-irri's traits), and with
``heldout_interventional`` held-out rows clamped at other nodes.

Node names are the network's, in sorted order (the files' order, which follows the
arcs, would hint at the causal order). params_true: ``weights`` [d, d] and
``noise_scale`` [d] (sigma_j), both rescaled by standardisation; the intercepts are in
``meta["intercepts"]``, in the network's units.
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np

from dagbench.graphs import topological_order
from simulators.base import DataError, Dataset, Simulator
from simulators.scm import INTERV_DEFAULTS, _SCM, interv_problems, interv_targets

#: the linear-Gaussian bnlearn networks pgmpy ships: (nodes, arcs) per bnlearn
GAUSSIAN_NETWORKS = {
    "ecoli70": (46, 70),
    "magic-niab": (44, 66),
    "magic-irri": (64, 102),
    "arth150": (107, 150),
}
#: bnlearn's conditional linear Gaussian networks (discrete and Gaussian nodes)
HYBRID_NETWORKS = ("healthcare", "sangiovese", "mehra")
#: bnlearn's discrete networks that pgmpy ships (all nodes multinomial)
DISCRETE_NETWORKS = ("asia", "cancer", "earthquake", "sachs", "survey", "alarm", "barley", "child",
                     "insurance", "mildew", "water", "hailfinder", "hepar2", "win95pts", "andes",
                     "diabetes", "link", "munin", "munin1", "munin2", "munin3", "munin4",
                     "pathfinder", "pigs")


def _served() -> str:
    return ", ".join(f"{k} ({v[0]} nodes, {v[1]} arcs)" for k, v in GAUSSIAN_NETWORKS.items())


def network_problems(name: str) -> list[str]:
    """Why ``name`` is not a network this simulator serves (empty when it is one)."""
    if name in GAUSSIAN_NETWORKS:
        return []
    if name in HYBRID_NETWORKS:
        kind = ("a conditional linear Gaussian (hybrid) network: it has discrete nodes among "
                "its Gaussian ones")
    elif name in DISCRETE_NETWORKS:
        kind = "a discrete network: all its nodes are discrete (multinomial)"
    else:
        kind = "not a bnlearn network known here"
    return [f"parameter 'network' = {name!r} is {kind}; only linear-Gaussian networks (every node "
            f"continuous) are served: {_served()}"]


@functools.lru_cache(maxsize=None)
def load_network(name: str) -> dict[str, Any]:
    """The network ``name`` from pgmpy's shipped example models, checked to be linear
    Gaussian: {names [d] (sorted), g [d, d] int8, weights [d, d], intercepts [d],
    sd [d], source}. Raises DataError naming the network and every node whose CPD is
    not a LinearGaussianCPD (with its CPD type), or whose parameters are unusable."""
    import warnings

    import pgmpy
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # get_example_model's deprecation notice
        from pgmpy.utils import get_example_model
        try:
            model = get_example_model(name)
        except ValueError as exc:  # e.g. "Hybrid models aren't supported yet."
            raise DataError(f"bnlearn network {name!r}: pgmpy cannot load it offline ({exc})") from None
    from pgmpy.factors.continuous import LinearGaussianCPD

    names = sorted(str(v) for v in model.nodes())
    index = {v: i for i, v in enumerate(names)}
    d = len(names)
    cpds = {str(c.variable): c for c in model.get_cpds()}
    bad = [f"{v} ({type(cpds[v]).__name__ if v in cpds else 'no CPD'})" for v in names
           if not isinstance(cpds.get(v), LinearGaussianCPD)]
    if bad:
        raise DataError(f"bnlearn network {name!r} is not linear Gaussian: {len(bad)} of its {d} "
                        f"nodes are not continuous with a LinearGaussianCPD: {', '.join(bad[:8])}"
                        + (" ..." if len(bad) > 8 else ""))
    g = np.zeros((d, d), dtype=np.int8)
    for u, v in model.edges():
        g[index[str(u)], index[str(v)]] = 1
    weights = np.zeros((d, d))
    intercepts = np.zeros(d)
    sd = np.zeros(d)
    for v in names:
        cpd = cpds[v]
        j = index[v]
        beta = np.asarray(cpd.beta, dtype=np.float64)        # [1 + k]: intercept, then one per evidence
        evidence = [str(u) for u in cpd.evidence]
        if sorted(evidence) != sorted(names[i] for i in np.flatnonzero(g[:, j])) or len(beta) != len(evidence) + 1:
            raise DataError(f"bnlearn network {name!r}: node {v}'s CPD evidence {evidence} is not its "
                            "parents in the graph")
        if not (np.all(np.isfinite(beta)) and np.isfinite(cpd.std) and cpd.std > 0):
            raise DataError(f"bnlearn network {name!r}: node {v} has non-finite coefficients or a "
                            f"standard deviation {cpd.std} that is not > 0")
        intercepts[j] = beta[0]
        for u, b in zip(evidence, beta[1:]):
            weights[index[u], j] = b
        sd[j] = float(cpd.std)
    if topological_order(g) is None:
        raise DataError(f"bnlearn network {name!r}: the graph has a cycle")
    return {"names": names, "g": g, "weights": weights, "intercepts": intercepts, "sd": sd,
            "source": f"pgmpy {pgmpy.__version__} get_example_model({name!r})"}


class Bnlearn(Simulator):
    """The linear-Gaussian bnlearn networks pgmpy ships (ecoli70, magic-niab,
    magic-irri, arth150), with their own graphs and parameters; interventions as the
    SCM simulators. See the module docstring for the model and the networks."""

    name = "bnlearn"
    defaults = {
        "network": "ecoli70",           # ecoli70, magic-niab, magic-irri or arth150
        "n": 100,                       # observational training rows
        "n_heldout": 100,               # observational held-out rows
        "standardise": True,            # scale columns to mean 0, sd 1 (training statistics)
        **INTERV_DEFAULTS,              # n_interv_nodes, n_interv_rows, interv_value, interv_std, heldout_*
    }

    @classmethod
    def check_params(cls, p: dict[str, Any]) -> list[str]:
        out = network_problems(p["network"])
        if p["n"] < 2:
            out.append(f"parameter 'n' = {p['n']} must be >= 2 (a dataset needs two rows)")
        if p["n_heldout"] < 1:
            out.append(f"parameter 'n_heldout' = {p['n_heldout']} must be >= 1")
        if p["network"] in GAUSSIAN_NETWORKS:
            out += interv_problems(p, GAUSSIAN_NETWORKS[p["network"]][0])
        return out

    def mechanism(self, x_pa: np.ndarray, theta: dict[str, Any]) -> np.ndarray:
        return theta["b"] + x_pa @ theta["w"]  # [m, k] @ [k] -> [m]

    def generate(self, rng: np.random.Generator) -> Dataset:
        p = self.params
        net = load_network(p["network"])
        g, w, sd = net["g"], net["weights"], net["sd"]
        d = len(g)
        r_interv, r_train, r_held = rng.spawn(3)
        order = topological_order(g)
        parents = [np.flatnonzero(g[:, j]) for j in range(d)]
        thetas = [{"w": w[parents[j], j], "b": float(net["intercepts"][j])} for j in range(d)]
        model = _SCM(self, order, parents, thetas, sd, None, "gaussian")

        train_nodes, held_nodes = interv_targets(p, d, r_interv)
        x, mask = model.rows(p["n"], train_nodes, p["n_interv_rows"], p["interv_value"],
                             p["interv_std"], r_train)
        x_h, mask_h = model.rows(p["n_heldout"], held_nodes, p["n_interv_rows"], p["interv_value"],
                                 p["interv_std"], r_held)
        meta = {"network": p["network"], "source": net["source"], "n_edges": int(g.sum()),
                "intercepts": [float(b) for b in net["intercepts"]],
                "interv_nodes": train_nodes, "heldout_interv_nodes": held_nodes}
        return Dataset(x=x, x_heldout=x_h, g_true=g.copy(), interv_mask=mask, interv_mask_heldout=mask_h,
                       node_names=list(net["names"]),
                       params_true={"weights": w.copy(), "noise_scale": sd.copy()}, meta=meta)
