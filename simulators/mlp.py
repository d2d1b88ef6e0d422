"""Nonlinear additive-noise SCM with a random MLP per node (the DiBS paper's
nonlinear Gaussian data):

    x_j = w2_j . act(W1_j x_pa(j) + b1_j) + b2_j + sigma_j eps_j,

one hidden layer of ``hidden`` units (5 in DiBS), every weight and bias drawn from
N(0, 1), ``activation`` ReLU by default (as DiBS's MLP) or sigmoid. A root node is
a constant plus noise. Noise, graphs and interventions as in simulators/scm.py
(Gaussian by default).

params_true: only ``noise_scale`` [d] (homoskedastic noise). The MLP weights are not
stored, because ``simulators.base.standardise`` rescales linear parameters only, and
raw-scale MLP weights next to standardised data would be wrong.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from simulators.scm import AdditiveNoiseSimulator


class MLPSimulator(AdditiveNoiseSimulator):
    name = "mlp"
    defaults = {**AdditiveNoiseSimulator.SCM_DEFAULTS,
                "hidden": 5,              # hidden units per node
                "activation": "relu"}     # 'relu' or 'sigmoid'
    choices = {**AdditiveNoiseSimulator.SCM_CHOICES, "activation": ("relu", "sigmoid")}

    @classmethod
    def check_params(cls, p: dict[str, Any]) -> list[str]:
        out = super().check_params(p)
        if p["hidden"] < 1:
            out.append(f"parameter 'hidden' = {p['hidden']} must be >= 1")
        return out

    def draw_mechanism(self, n_parents: int, rng: np.random.Generator) -> dict[str, Any]:
        h = self.params["hidden"]
        return {"W1": rng.standard_normal((n_parents, h)),  # [k, H]
                "b1": rng.standard_normal(h),               # [H]
                "w2": rng.standard_normal(h),               # [H]
                "b2": float(rng.standard_normal())}

    def mechanism(self, x_pa: np.ndarray, theta: dict[str, Any]) -> np.ndarray:
        a = x_pa @ theta["W1"] + theta["b1"]  # [m, H]
        if self.params["activation"] == "relu":
            a = np.maximum(a, 0.0)
        else:
            a = 0.5 * (1.0 + np.tanh(0.5 * a))  # sigmoid, overflow-free
        return a @ theta["w2"] + theta["b2"]  # [m]
