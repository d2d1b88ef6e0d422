"""cdt's ``AcyclicGraphGenerator`` (Causal Discovery Toolbox 0.6) as a simulator.

Graph: cdt's 'erdos' DAG, ``expected_degree * d`` edges in expectation (edge
probability 2 e / (d - 1) along a random causal order, like simulators/graphs.py).
Mechanisms run by cdt; ``noise_coeff`` is cdt's noise proportion; cdt rescales every
variable to mean 0 / sd 1 as it generates it (``rescale=True``, its recommended
setting), before the children see it. Root causes are cdt's Gaussian mixtures.

Determinism: cdt draws from numpy's global RNG, Python's ``random`` and torch's
global RNG; all three are seeded from the given generator just before the call and
restored afterwards. One generator produces ``n + n_heldout`` rows, which are
shuffled (cdt's mixture sampler returns root rows grouped by component) and split
into training and held-out rows. Mechanisms such as 'gp_add' are fit on all rows at
once, so the held-out rows come from the same drawn function. Observational only.

Mechanisms that run here: linear, polynomial, sigmoid_add, gp_add, gp_mix, nn
('gp_*' cost O((n + n_heldout)^3)). 'sigmoid_mix' does not (see ``UNSUPPORTED``);
any other failure inside cdt is re-raised as a ValueError naming the mechanism.

params_true: for 'linear' only, ``weights`` [d, d] in the scale of the data
(cdt's coefficients divided by the sd cdt removed from each child).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from simulators.base import Dataset, Simulator, size_problems

SUPPORTED = ("linear", "polynomial", "sigmoid_add", "gp_add", "gp_mix", "nn")
UNSUPPORTED = {
    "sigmoid_mix": "cdt's SigmoidMix_Mechanism stores a length-1 array into a scalar slot, which "
                   "numpy 2 rejects (ValueError: setting an array element with a sequence)",
}


class CDTAcyclicSimulator(Simulator):
    name = "cdt"
    defaults = {
        "mechanism": "linear",      # cdt causal mechanism
        "d": 20,                    # nodes
        "n": 100,                   # training rows
        "n_heldout": 100,           # held-out rows
        "expected_degree": 2.0,     # expected edges per node (E[#edges] = expected_degree * d)
        "noise": "gaussian",        # cdt noise: 'gaussian' or 'uniform'
        "noise_coeff": 0.4,         # cdt's proportion of noise in each mechanism
        "standardise": True,
    }
    choices = {"mechanism": SUPPORTED, "noise": ("gaussian", "uniform")}

    @classmethod
    def param_problems(cls, params: dict[str, Any]) -> list[str]:
        mech = params.get("mechanism")
        if isinstance(mech, str) and mech in UNSUPPORTED:
            rest = {k: v for k, v in params.items() if k != "mechanism"}
            return ([f"parameter 'mechanism' = {mech!r} does not run here: {UNSUPPORTED[mech]} "
                     f"(supported: {', '.join(SUPPORTED)})"] + super().param_problems(rest))
        return super().param_problems(params)

    @classmethod
    def check_params(cls, p: dict[str, Any]) -> list[str]:
        out = size_problems(p)
        d, e = p["d"], p["expected_degree"]
        if e < 0:
            out.append(f"parameter 'expected_degree' = {e} must be >= 0")
        elif d >= 2 and e > (d - 1) / 2:
            out.append(f"parameter 'expected_degree' = {e} is more than (d - 1) / 2 = {(d - 1) / 2} "
                       f"for cdt's 'erdos' graph with d = {d}")
        if p["noise_coeff"] < 0:
            out.append(f"parameter 'noise_coeff' = {p['noise_coeff']} must be >= 0")
        return out

    def generate(self, rng: np.random.Generator) -> Dataset:
        import random
        import warnings

        p = self.params
        mech, d, n, m = p["mechanism"], p["d"], p["n"], p["n_heldout"]
        seed = int(rng.integers(2**31 - 1))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cdt's "No GPU automatically detected" and sklearn chatter
            import networkx as nx
            import torch
            import cdt
            from cdt.data import AcyclicGraphGenerator

            saved = np.random.get_state(), random.getstate(), torch.random.get_rng_state()
            try:
                np.random.seed(seed)
                random.seed(seed)
                torch.manual_seed(seed)
                gen = AcyclicGraphGenerator(mech, noise=p["noise"], noise_coeff=p["noise_coeff"],
                                            npoints=n + m, nodes=d, expected_degree=p["expected_degree"],
                                            dag_type="erdos")
                data, graph = gen.generate(rescale=True)
            except Exception as exc:
                raise ValueError(f"cdt mechanism {mech!r} failed here: {type(exc).__name__}: {exc}") from exc
            finally:
                np.random.set_state(saved[0])
                random.setstate(saved[1])
                torch.random.set_rng_state(saved[2])

        cols = list(data.columns)
        x_all = data.to_numpy(dtype=np.float64)  # [n + m, d], columns V0..V{d-1}
        g = nx.to_numpy_array(graph, nodelist=cols, dtype=np.int8)  # [d, d], same order as the columns
        params_true = {}
        if mech == "linear":
            params_true["weights"] = _linear_weights(gen, x_all)
        perm = rng.permutation(n + m)
        x_all = x_all[perm]
        return Dataset(x=x_all[:n], x_heldout=x_all[n:], g_true=g,
                       node_names=[f"X{j}" for j in range(d)], params_true=params_true,
                       meta={"cdt_version": cdt.__version__, "n_edges": int(g.sum())})


def _linear_weights(gen, z: np.ndarray) -> np.ndarray:
    """weights[i, j] for cdt's LinearMechanism in the rescaled data z [N, d]:
    cdt computes raw_j = sum_i a_i z_i + noise_j and stores z_j = (raw_j - mean) / sd,
    so z_j's coefficient on z_i is a_i / sd(raw_j)."""
    adj = np.asarray(gen.adjacency_matrix)
    d = len(adj)
    w = np.zeros((d, d))
    for j in range(d):
        pa = np.flatnonzero(adj[:, j])
        if len(pa) == 0:
            continue
        f = gen.cfunctions[j]
        coef = np.asarray(f.coefflist, dtype=np.float64)  # [k], in the order of pa
        raw = z[:, pa] @ coef + np.asarray(f.noise, dtype=np.float64)[:, 0]  # [N]
        sd = raw.std()
        if not np.allclose((raw - raw.mean()) / sd, z[:, j], atol=1e-8):
            raise ValueError("cdt's linear mechanism did not produce the data its coefficients imply; "
                             "cannot report true weights")
        w[pa, j] = coef / sd
    return w
