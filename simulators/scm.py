"""Shared machinery of the additive-noise SCM simulators (linear, mlp, rff).

An additive-noise SCM draws a DAG (simulators/graphs.py), one mechanism per node
and one noise model per node, and generates rows by ancestral sampling in a
topological order:

    x_j = f_j(x_pa(j)) + sigma_j(x_pa(j)) * eps_j,   eps_j i.i.d. from the noise family.

A subclass supplies the mechanism through three hooks (``draw_mechanism``,
``mechanism`` and optionally ``true_params``); this base class owns the graph, the
noise, the train / held-out draw and single-node hard interventions.

Noise families (``noise``), all centred, with ``sigma_j`` their scale:
    gaussian  N(0, sigma^2);
    laplace   Laplace with variance sigma^2 (scale sigma / sqrt 2);
    cauchy    Cauchy with scale sigma (no variance).
Noise scales (``noise_scale``, ``noise_scale_high``): every node has scale
``noise_scale``, or, when ``noise_scale_high`` > 0, a scale drawn per node from
U(noise_scale, noise_scale_high) (AVICI's lin-*/rff-* families use U(0.2, 2.0)).
Heteroskedastic noise (``heteroskedastic``), as AVICI's *-heterosked families:
sigma_j(x_pa) = s_j * sqrt(softplus(h_j(x_pa))) with h_j a random-Fourier-feature
function (length scale ``hetero_length_scale``, AVICI's 10; output scale 2).

Interventions (single-node, hard): ``n_interv_nodes`` distinct nodes (0 = purely
observational data) are each clamped in ``n_interv_rows`` extra training rows to
values ``interv_value + interv_std * N(0, 1)`` (``interv_std`` = 0: the fixed value
``interv_value``); their descendants follow the SCM. These rows come after the ``n``
observational rows, with ``interv_mask`` True exactly on the clamped node. With
``heldout_interventional``, the held-out split also gets ``n_interv_rows`` rows for
each of ``n_heldout_interv_nodes`` nodes *not* intervened on in training, after its
``n_heldout`` observational rows. Intervention values are in the original scale
(before standardisation).

The intervention parameters, their checks and the choice of targets are
module-level (``INTERV_DEFAULTS``, ``interv_problems``, ``interv_targets``) and the
sampler ``_SCM`` takes any mechanism, so that other simulators with a linear or
additive-noise model (simulators/bnlearn.py) intervene the same way.

Graphs (``graph``): every model of simulators/graphs.py ('er', 'sf', 'sf_out', 'ws',
'sbm', 'grg'), with their parameters (``sf_power``, ``ws_dim``, ``ws_nei``,
``ws_rewire``, ``sbm_blocks``, ``sbm_damp``, ``grg_radius``; AVICI's values by default).

Randomness: the seeded generator is split (``Generator.spawn``) into independent
streams for the graph, the mechanisms and noise scales, the intervention targets,
the training rows and the held-out rows, so that e.g. changing ``n_heldout`` leaves
the graph and the training data unchanged.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dagbench.graphs import topological_order
from simulators.base import Dataset, Simulator, size_problems
from simulators.graphs import GRAPH_DEFAULTS, GRAPH_KINDS, graph_problems, sample_graph

NOISE_KINDS = ("gaussian", "laplace", "cauchy")

# AVICI's heteroskedastic noise: RFF function with output scale 2 and 100 features
HETERO_OUTPUT_SCALE = 2.0
N_RFF = 100


def draw_rff(n_in: int, rng: np.random.Generator, *, length_scale: float, output_scale: float,
             n_features: int = N_RFF) -> dict[str, Any]:
    """Random-Fourier-feature draw of a function R^n_in -> R that approximates a
    sample from a GP with kernel c^2 exp(-|x - y|^2 / (2 ls^2)) (Rahimi & Recht 2007).

    Returns dict with omega [n_in, F] ~ N(0, 1/ls^2), phase [F] ~ U(0, 2 pi),
    w [F] ~ N(0, 1) and c (the output scale).
    """
    omega = rng.normal(0.0, 1.0 / length_scale, size=(n_in, n_features))  # [k, F]
    phase = rng.uniform(0.0, 2.0 * np.pi, size=n_features)  # [F]
    w = rng.normal(0.0, 1.0, size=n_features)  # [F]
    return {"omega": omega, "phase": phase, "w": w, "c": float(output_scale)}


def eval_rff(x_pa: np.ndarray, f: dict[str, Any]) -> np.ndarray:
    """f(x) = c * sqrt(2 / F) * w . cos(x omega + phase) for x_pa [m, k]; returns [m]."""
    n_features = len(f["w"])
    phi = np.cos(x_pa @ f["omega"] + f["phase"])  # [m, F]
    return f["c"] * np.sqrt(2.0 / n_features) * (phi @ f["w"])  # [m]


#: single-node hard interventions (see the module docstring)
INTERV_DEFAULTS: dict[str, Any] = {
    "n_interv_nodes": 0,            # nodes intervened on in training (0 = observational)
    "n_interv_rows": 100,           # rows per intervened node
    "interv_value": 0.0,            # intervention value (mean when interv_std > 0)
    "interv_std": 1.0,              # sd of intervention values (0 = fixed value)
    "heldout_interventional": False,  # add held-out rows intervened on unseen nodes
    "n_heldout_interv_nodes": 1,    # how many such nodes
}


def interv_problems(p: dict[str, Any], d: int) -> list[str]:
    """Range checks of the intervention parameters of ``INTERV_DEFAULTS`` present in
    ``p`` (a simulator without intervention values, e.g. knockouts, leaves those out)."""
    out = []
    k = p["n_interv_nodes"]
    if not 0 <= k <= d:
        out.append(f"parameter 'n_interv_nodes' = {k} must be between 0 and d = {d}")
    if p["n_interv_rows"] < 1:
        out.append(f"parameter 'n_interv_rows' = {p['n_interv_rows']} must be >= 1")
    if "interv_std" in p and not p["interv_std"] >= 0:
        out.append(f"parameter 'interv_std' = {p['interv_std']} must be >= 0")
    if "interv_value" in p and not np.isfinite(p["interv_value"]):
        out.append(f"parameter 'interv_value' = {p['interv_value']} must be finite")
    if p["heldout_interventional"]:
        kh = p["n_heldout_interv_nodes"]
        if kh < 1:
            out.append(f"parameter 'n_heldout_interv_nodes' = {kh} must be >= 1")
        elif 0 <= k <= d and k + kh > d:
            out.append(f"parameter 'n_heldout_interv_nodes' = {kh} plus n_interv_nodes = {k} "
                       f"exceeds d = {d} (held-out interventions need unseen nodes)")
    return out


def interv_targets(p: dict[str, Any], d: int, rng: np.random.Generator) -> tuple[list[int], list[int]]:
    """The nodes intervened on in training (``n_interv_nodes``) and, with
    ``heldout_interventional``, the ``n_heldout_interv_nodes`` others intervened on in
    the held-out rows: the start of one uniformly random permutation of the d nodes."""
    targets = rng.permutation(d)
    k = p["n_interv_nodes"]
    train_nodes = [int(j) for j in targets[:k]]
    held_nodes = []
    if p["heldout_interventional"]:
        held_nodes = [int(j) for j in targets[k:k + p["n_heldout_interv_nodes"]]]
    return train_nodes, held_nodes


def draw_noise(kind: str, rng: np.random.Generator, size: int) -> np.ndarray:
    """[size] unit-scale noise of family ``kind`` (see the module docstring)."""
    if kind == "gaussian":
        return rng.standard_normal(size)
    if kind == "laplace":
        return rng.laplace(0.0, 1.0 / np.sqrt(2.0), size)
    if kind == "cauchy":
        return rng.standard_cauchy(size)
    raise ValueError(f"unknown noise {kind!r} (known: {', '.join(NOISE_KINDS)})")


class AdditiveNoiseSimulator(Simulator):
    """Base of additive-noise SCM simulators; not a plugin itself (empty ``name``).

    Subclasses set ``name``, extend ``defaults`` (start from ``SCM_DEFAULTS``) and
    ``choices`` (start from ``SCM_CHOICES``), and implement:

    - ``draw_mechanism(n_parents, rng) -> dict``: the random parameters of one node's f_j;
    - ``mechanism(x_pa [m, k], theta) -> [m]``: f_j evaluated on the parents' values
      (columns in increasing node index);
    - ``true_params(g, thetas) -> dict`` (optional): arrays for ``params_true`` in
      the original scale; ``noise_scale`` [d] is added here for homoskedastic noise.
    """

    name = ""
    SCM_DEFAULTS: dict[str, Any] = {
        "d": 20,                        # number of nodes
        "n": 100,                       # observational training rows
        "n_heldout": 100,               # observational held-out rows
        "graph": "er",                  # 'er', 'sf', 'sf_out', 'ws', 'sbm', 'grg' (simulators/graphs.py)
        "edges_per_node": 2.0,          # ER, SBM: expected edges / node; SF: edges per added node
        **GRAPH_DEFAULTS,               # sf_power, ws_dim, ws_nei, ws_rewire, sbm_blocks, sbm_damp, grg_radius
        "noise": "gaussian",            # 'gaussian', 'laplace' or 'cauchy'
        "noise_scale": 1.0,             # noise scale of every node (low end when drawn)
        "noise_scale_high": 0.0,        # > 0: per-node scale ~ U(noise_scale, noise_scale_high)
        "heteroskedastic": False,       # input-dependent noise scale (AVICI *-heterosked)
        "hetero_length_scale": 10.0,    # length scale of the heteroskedastic RFF function
        "standardise": True,            # scale columns to mean 0, sd 1 (training statistics)
        **INTERV_DEFAULTS,              # n_interv_nodes, n_interv_rows, interv_value, interv_std, heldout_*
    }
    SCM_CHOICES: dict[str, tuple] = {"graph": GRAPH_KINDS, "noise": NOISE_KINDS}
    defaults = SCM_DEFAULTS
    choices = SCM_CHOICES

    # ---- hooks -------------------------------------------------------------------
    def draw_mechanism(self, n_parents: int, rng: np.random.Generator) -> dict[str, Any]:
        raise NotImplementedError

    def mechanism(self, x_pa: np.ndarray, theta: dict[str, Any]) -> np.ndarray:
        raise NotImplementedError

    def true_params(self, g: np.ndarray, thetas: list[dict[str, Any]]) -> dict[str, np.ndarray]:
        return {}

    # ---- checks ------------------------------------------------------------------
    @classmethod
    def check_params(cls, p: dict[str, Any]) -> list[str]:
        out = size_problems(p)
        d = p["d"]
        out += graph_problems(p["graph"], d, p["edges_per_node"], **{k: p[k] for k in GRAPH_DEFAULTS})
        if not p["noise_scale"] > 0:
            out.append(f"parameter 'noise_scale' = {p['noise_scale']} must be > 0")
        hi = p["noise_scale_high"]
        if hi != 0 and not hi >= p["noise_scale"]:
            out.append(f"parameter 'noise_scale_high' = {hi} must be 0 (fixed scale) or "
                       f">= noise_scale = {p['noise_scale']}")
        if not p["hetero_length_scale"] > 0:
            out.append(f"parameter 'hetero_length_scale' = {p['hetero_length_scale']} must be > 0")
        out += interv_problems(p, d)
        return out

    # ---- generation --------------------------------------------------------------
    def generate(self, rng: np.random.Generator) -> Dataset:
        p = self.params
        d = p["d"]
        r_graph, r_mech, r_interv, r_train, r_held = rng.spawn(5)

        g = sample_graph(p["graph"], d, p["edges_per_node"], r_graph,
                         **{k: p[k] for k in GRAPH_DEFAULTS})  # [d, d]
        order = topological_order(g)
        assert order is not None, "graph model returned a cyclic graph"
        parents = [np.flatnonzero(g[:, j]) for j in range(d)]

        thetas = [self.draw_mechanism(len(parents[j]), r_mech) for j in range(d)]
        if p["noise_scale_high"] > 0:
            scales = r_mech.uniform(p["noise_scale"], p["noise_scale_high"], size=d)  # [d]
        else:
            scales = np.full(d, float(p["noise_scale"]))
        hetero = None
        if p["heteroskedastic"]:
            hetero = [draw_rff(len(parents[j]), r_mech, length_scale=p["hetero_length_scale"],
                               output_scale=HETERO_OUTPUT_SCALE) for j in range(d)]
        model = _SCM(self, order, parents, thetas, scales, hetero, p["noise"])

        train_nodes, held_nodes = interv_targets(p, d, r_interv)
        x, mask = model.rows(p["n"], train_nodes, p["n_interv_rows"], p["interv_value"],
                             p["interv_std"], r_train)
        x_h, mask_h = model.rows(p["n_heldout"], held_nodes, p["n_interv_rows"], p["interv_value"],
                                 p["interv_std"], r_held)

        params_true = dict(self.true_params(g, thetas))
        if hetero is None:
            params_true["noise_scale"] = scales
        meta = {"n_edges": int(g.sum()), "topological_order": [int(j) for j in order],
                "interv_nodes": train_nodes, "heldout_interv_nodes": held_nodes}
        return Dataset(x=x, x_heldout=x_h, g_true=g, interv_mask=mask, interv_mask_heldout=mask_h,
                       node_names=[f"X{j}" for j in range(d)], params_true=params_true, meta=meta)


class _SCM:
    """One drawn SCM: ancestral sampler with optional single-node hard interventions.

    ``sim`` is anything with ``mechanism(x_pa [m, k], theta) -> [m]``; ``order`` a
    topological order, ``parents[j]`` node j's parents (increasing), ``thetas[j]`` its
    mechanism parameters, ``scales`` [d] the noise scales, ``hetero`` None or the
    heteroskedastic functions, ``noise`` a family of ``NOISE_KINDS``."""

    def __init__(self, sim, order, parents, thetas, scales, hetero, noise):
        self.sim, self.order, self.parents = sim, order, parents
        self.thetas, self.scales, self.hetero, self.noise = thetas, scales, hetero, noise
        self.d = len(order)

    def sample(self, m: int, rng: np.random.Generator, clamp: int | None = None,
               values: np.ndarray | None = None) -> np.ndarray:
        """[m, d] rows; node ``clamp`` (if any) set to ``values`` [m] instead of its equation."""
        x = np.zeros((m, self.d))
        for j in self.order:
            if j == clamp:
                x[:, j] = values
                continue
            x_pa = x[:, self.parents[j]]  # [m, k]
            scale = self.scales[j]
            if self.hetero is not None:
                scale = scale * np.sqrt(np.logaddexp(0.0, eval_rff(x_pa, self.hetero[j])))  # [m]
            x[:, j] = self.sim.mechanism(x_pa, self.thetas[j]) + scale * draw_noise(self.noise, rng, m)
        return x

    def rows(self, n_obs, nodes, n_per_node, value, std, rng):
        """n_obs observational rows, then n_per_node rows clamped at each node of ``nodes``.
        Returns x [n_obs + len(nodes) * n_per_node, d] and the matching bool mask."""
        blocks = [self.sample(n_obs, rng)]
        masks = [np.zeros((n_obs, self.d), dtype=bool)]
        for j in nodes:
            vals = value + std * rng.standard_normal(n_per_node) if std > 0 else np.full(n_per_node, value)
            blocks.append(self.sample(n_per_node, rng, clamp=j, values=vals))
            mk = np.zeros((n_per_node, self.d), dtype=bool)
            mk[:, j] = True
            masks.append(mk)
        return np.concatenate(blocks), np.concatenate(masks)
