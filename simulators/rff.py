"""Nonlinear additive-noise SCM with random-Fourier-feature mechanisms (AVICI's
rff-* families): each x_j = f_j(x_pa(j)) + sigma_j eps_j with f_j an RFF
approximation (``n_features`` features) of a draw from a GP with squared-exponential
kernel c^2 exp(-|x - y|^2 / (2 ls^2)); per node, ls ~ U(length_scale_low,
length_scale_high) and c ~ U(output_scale_low, output_scale_high) (AVICI: U(7, 10)
and U(10, 20)). AVICI also adds a bias U(-3, 3) per node; it is left out here since
it is a pure offset (removed by standardisation). A root node is a constant plus
noise. Noise, graphs and interventions as in simulators/scm.py.

params_true: only ``noise_scale`` [d] (homoskedastic noise); see mlp.py for why the
function parameters are not stored.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from simulators.scm import AdditiveNoiseSimulator, draw_rff, eval_rff


class RFFSimulator(AdditiveNoiseSimulator):
    name = "rff"
    defaults = {**AdditiveNoiseSimulator.SCM_DEFAULTS,
                "length_scale_low": 7.0,
                "length_scale_high": 10.0,
                "output_scale_low": 10.0,
                "output_scale_high": 20.0,
                "n_features": 100}
    choices = dict(AdditiveNoiseSimulator.SCM_CHOICES)

    @classmethod
    def check_params(cls, p: dict[str, Any]) -> list[str]:
        out = super().check_params(p)
        for what in ("length_scale", "output_scale"):
            lo, hi = p[f"{what}_low"], p[f"{what}_high"]
            if not lo > 0:
                out.append(f"parameter '{what}_low' = {lo} must be > 0")
            if not hi >= lo:
                out.append(f"parameter '{what}_high' = {hi} must be >= {what}_low = {lo}")
        if p["n_features"] < 1:
            out.append(f"parameter 'n_features' = {p['n_features']} must be >= 1")
        return out

    def draw_mechanism(self, n_parents: int, rng: np.random.Generator) -> dict[str, Any]:
        p = self.params
        ls = rng.uniform(p["length_scale_low"], p["length_scale_high"])
        c = rng.uniform(p["output_scale_low"], p["output_scale_high"])
        return draw_rff(n_parents, rng, length_scale=ls, output_scale=c, n_features=p["n_features"])

    def mechanism(self, x_pa: np.ndarray, theta: dict[str, Any]) -> np.ndarray:
        return eval_rff(x_pa, theta)
