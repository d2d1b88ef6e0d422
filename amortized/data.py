"""The training distribution: datasets drawn from a mixture of dagbench's own simulators.

AVICI's inductive bias is its simulator (Lorch et al., NeurIPS 2022, §3.2 and App. A);
here the simulators are the plugins in ``simulators/`` (``linear``, ``rff``, ``mlp``, ...),
so a model can be trained on exactly the data families the benchmark scores methods on, and
then scored out of that family. A ``Domain`` is given by the ``amortized.domain`` block of
the config (config/amortized.yaml)::

    d: [5, 20]            # variables: an inclusive range, one value drawn per batch
    n: [50, 200]          # training rows per dataset, likewise
    components:           # the mixture; each draw picks one component by weight
      - simulator: linear # a file in simulators/
        weight: 1.0
        params:           # that simulator's parameters; per dataset, a list is one
          graph: [er, sf] # uniform choice, {low: a, high: b} one uniform float
          edges_per_node: {low: 1.0, high: 3.0}

Every batch holds datasets of one d and one n (no padding). A batch is a pure function of
(seed, step): ``Domain.batch(step)`` draws with ``numpy.random.default_rng([seed, step])``,
so training resumed from a checkpoint sees the same data it would have seen unbroken.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from amortized.model import model_input

#: simulator parameters the domain sets itself (per batch) and a component may not
FIXED_KEYS = ("d", "n", "n_heldout", "standardise")


class DomainError(ValueError):
    """The domain block of the config is wrong; the message names the key."""


@dataclass
class Batch:
    """x [B, n, d, 2] float32 network input, g [B, d, d] float32 true graphs, and
    ``components`` [B] the index of the mixture component each dataset came from."""
    x: torch.Tensor
    g: torch.Tensor
    components: list[int]


def _draw(value: Any, rng: np.random.Generator) -> Any:
    if isinstance(value, list):
        return value[rng.integers(len(value))]
    if isinstance(value, dict) and set(value) == {"low", "high"}:
        return float(rng.uniform(value["low"], value["high"]))
    return value


def _int_range(spec: Any, key: str, minimum: int) -> tuple[int, int]:
    if isinstance(spec, int) and not isinstance(spec, bool):
        spec = [spec, spec]
    if (not isinstance(spec, list) or len(spec) != 2 or not all(isinstance(v, int) and not isinstance(v, bool)
                                                                for v in spec)):
        raise DomainError(f"amortized.domain.{key} must be an integer or a range [low, high], got {spec!r}")
    lo, hi = spec
    if not minimum <= lo <= hi:
        raise DomainError(f"amortized.domain.{key} = {spec} must satisfy {minimum} <= low <= high")
    return lo, hi


class Domain:
    """A mixture of simulators over a range of d and n (see the module docstring).

    Raises DomainError naming the key for a malformed block, an unknown simulator, or
    parameters that simulator refuses (checked once, with every list value's first
    choice, when the domain is built)."""

    def __init__(self, spec: dict, seed: int = 0):
        from simulators.base import get
        from dagbench.plugins import PluginError

        if not isinstance(spec, dict):
            raise DomainError("amortized.domain must be a mapping with keys d, n and components")
        self.spec, self.seed = spec, int(seed)
        self.d_range = _int_range(spec.get("d"), "d", 2)
        self.n_range = _int_range(spec.get("n"), "n", 2)
        comps = spec.get("components")
        if not isinstance(comps, list) or not comps:
            raise DomainError("amortized.domain.components must be a non-empty list of "
                              "{simulator, params, weight}")
        self.classes, self.params, weights = [], [], []
        for i, comp in enumerate(comps):
            where = f"amortized.domain.components[{i}]"
            if not isinstance(comp, dict) or "simulator" not in comp:
                raise DomainError(f"{where} must be a mapping with a 'simulator' key")
            unknown = set(comp) - {"simulator", "params", "weight"}
            if unknown:
                raise DomainError(f"{where} has unknown keys {sorted(unknown)} (allowed: simulator, params, weight)")
            try:
                cls = get(comp["simulator"])
            except PluginError as exc:
                raise DomainError(f"{where}.simulator: {exc}") from None
            params = dict(comp.get("params") or {})
            fixed = [k for k in FIXED_KEYS if k in params]
            if fixed:
                raise DomainError(f"{where}.params sets {fixed}; the domain sets these itself "
                                  "(amortized.domain.d and .n)")
            probe = {k: (v[0] if isinstance(v, list) and v else v["low"] if isinstance(v, dict)
                         and set(v) == {"low", "high"} else v) for k, v in params.items()}
            try:
                cls(**probe, **self._sizes(cls, self.d_range[1], self.n_range[0]))
            except ValueError as exc:
                raise DomainError(f"{where}.params: {exc}") from None
            weight = comp.get("weight", 1.0)
            if not isinstance(weight, (int, float)) or weight <= 0:
                raise DomainError(f"{where}.weight = {weight!r} must be a positive number")
            self.classes.append(cls)
            self.params.append(params)
            weights.append(float(weight))
        self.weights = np.asarray(weights) / sum(weights)

    @staticmethod
    def _sizes(cls, d: int, n: int) -> dict:
        sizes = {"d": d, "n": n, "n_heldout": 1, "standardise": False}  # the network z-scores its input
        return {k: v for k, v in sizes.items() if k in cls.defaults}

    def dataset(self, rng: np.random.Generator, d: int, n: int):
        """One simulated dataset (simulators.base.Dataset) of d variables and n training
        rows (plus any interventional rows its parameters ask for), and its component
        index. A draw the simulator refuses (e.g. a graph model that cannot make this d)
        is redrawn, up to 20 times; then RuntimeError naming the component."""
        last = None
        for _ in range(20):
            c = int(rng.choice(len(self.classes), p=self.weights))
            params = {k: _draw(v, rng) for k, v in self.params[c].items()}
            try:
                sim = self.classes[c](**params, **self._sizes(self.classes[c], d, n))
                return sim.simulate(seed=int(rng.integers(2**31))), c
            except (ValueError, np.linalg.LinAlgError) as exc:
                last = f"component {c} ({self.classes[c].name}): {exc}"
        raise RuntimeError(f"20 draws in a row failed at d = {d}, n = {n}; the last: {last}")

    def batch(self, step: int, size: int) -> Batch:
        """The training batch of ``step``: ``size`` datasets sharing one d and one n."""
        rng = np.random.default_rng([self.seed, step])
        d = int(rng.integers(self.d_range[0], self.d_range[1] + 1))
        n = int(rng.integers(self.n_range[0], self.n_range[1] + 1))
        return self._stack([self.dataset(rng, d, n) for _ in range(size)], rng)

    def validation_set(self, count: int) -> list[Batch]:
        """``count`` fixed datasets (one per Batch, d and n drawn per dataset), the same
        for every run with this domain and seed; drawn from a stream disjoint from the
        training batches'."""
        rng = np.random.default_rng([self.seed, 2**32 - 1])
        out = []
        for _ in range(count):
            d = int(rng.integers(self.d_range[0], self.d_range[1] + 1))
            n = int(rng.integers(self.n_range[0], self.n_range[1] + 1))
            out.append(self._stack([self.dataset(rng, d, n)], rng))
        return out

    @staticmethod
    def _stack(draws, rng: np.random.Generator) -> Batch:
        # interventional rows make n differ between datasets of one batch: keep a random
        # n_min of each one's rows (the network is invariant to their order)
        n_min = min(ds.n for ds, _ in draws)
        keep = [np.sort(rng.choice(ds.n, n_min, replace=False)) for ds, _ in draws]
        xs = [model_input(ds.x[k], ds.interv_mask[k]) for (ds, _), k in zip(draws, keep)]
        gs = [torch.as_tensor(ds.g_true, dtype=torch.float32) for ds, _ in draws]
        return Batch(x=torch.stack(xs), g=torch.stack(gs), components=[c for _, c in draws])
