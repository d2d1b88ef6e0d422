"""Linear additive-noise SCM (AVICI's lin-* families; the DiBS / NOTEARS linear setting).

x_j = sum_{i in pa(j)} w_ij x_i + sigma_j(x_pa) eps_j, with each weight drawn as
sign * U(weight_low, weight_high), sign = +-1 with equal probability (default
+-U(0.5, 2)). Noise (gaussian / laplace / cauchy, homoskedastic or heteroskedastic),
graphs and interventions as described in simulators/scm.py.

params_true: ``weights`` [d, d] (weights[i, j] is the coefficient of x_i in x_j's
equation; 0 off the graph) and, for homoskedastic noise, ``noise_scale`` [d] (the
noise sd; the Cauchy scale for Cauchy noise); both rescaled by standardisation.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from simulators.scm import AdditiveNoiseSimulator


class LinearSimulator(AdditiveNoiseSimulator):
    name = "linear"
    defaults = {**AdditiveNoiseSimulator.SCM_DEFAULTS,
                "weight_low": 0.5,    # |weight| ~ U(weight_low, weight_high)
                "weight_high": 2.0}
    choices = dict(AdditiveNoiseSimulator.SCM_CHOICES)

    @classmethod
    def check_params(cls, p: dict[str, Any]) -> list[str]:
        out = super().check_params(p)
        if not p["weight_low"] > 0:
            out.append(f"parameter 'weight_low' = {p['weight_low']} must be > 0")
        if not p["weight_high"] >= p["weight_low"]:
            out.append(f"parameter 'weight_high' = {p['weight_high']} must be >= weight_low = {p['weight_low']}")
        return out

    def draw_mechanism(self, n_parents: int, rng: np.random.Generator) -> dict[str, Any]:
        mag = rng.uniform(self.params["weight_low"], self.params["weight_high"], size=n_parents)
        sign = rng.choice([-1.0, 1.0], size=n_parents)
        return {"w": sign * mag}  # [k]

    def mechanism(self, x_pa: np.ndarray, theta: dict[str, Any]) -> np.ndarray:
        return x_pa @ theta["w"]  # [m, k] @ [k] -> [m]

    def true_params(self, g: np.ndarray, thetas: list[dict[str, Any]]) -> dict[str, np.ndarray]:
        d = len(g)
        weights = np.zeros((d, d))
        for j in range(d):
            weights[np.flatnonzero(g[:, j]), j] = thetas[j]["w"]
        return {"weights": weights}
