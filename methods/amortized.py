"""The amortized (AVICI) method plugin; its class docstring says what it does."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from methods.base import GraphPosterior, Method
from simulators.base import Dataset

_CACHE: dict = {}  # (resolved path, mtime) -> (net, meta): one load per process


class Amortized(Method):
    """AVICI: edge probabilities from one forward pass of a network trained on simulated data.

    Amortized structure learning: an AVICI network (Lorch et al., NeurIPS 2022) trained on
    dagbench's own simulators (package amortized/).

    Inference is one forward pass: the dataset (z-scored columns, intervention indicator as a
    second channel) goes in, edge probabilities q(i -> j | D) come out; nothing is fitted to the
    dataset. The answer is those edge probabilities (scored by AUROC / AUPRC) and ``n_samples``
    DAGs drawn from them, each a Bernoulli draw made acyclic by dropping, in order of increasing
    probability, edges that close a cycle (amortized/sampling.py); ``info['frac_dropped']`` is
    the fraction of drawn edges so dropped. With no weights of its own, the held-out likelihood
    refits linear-Gaussian weights per sample (evaluation's least squares).

    The network knows only the data families it was trained on: the shipped model
    (amortized/weights/README.md) saw linear-Gaussian and RFF data with d <= 20, n <= 200.
    Anything else is out of distribution (docs/results/amortized/ measures how far it carries).

    Parameters:
        checkpoint: path of a model.pt written by ``snakemake train_amortized`` (relative to the
            folder Snakemake runs in); empty = the shipped model.
        n_samples: DAG samples drawn from the edge probabilities.
    """

    name = "amortized"
    defaults = {"checkpoint": "", "n_samples": 100}
    uses_interventions = True

    @classmethod
    def check_params(cls, params):
        out = []
        if params["n_samples"] < 1:
            out.append(f"parameter 'n_samples' = {params['n_samples']} must be >= 1")
        path = params["checkpoint"]
        if path and not Path(path).is_file():
            out.append(f"parameter 'checkpoint' = {path!r}: no such file (train one with "
                       "`snakemake --cores 2 train_amortized --configfile config/amortized.yaml`, "
                       "or leave it empty for the shipped model)")
        return out

    def fit(self, data: Dataset, *, seed: int) -> GraphPosterior:
        import torch

        from amortized.checkpoint import SHIPPED, load_model
        from amortized.model import model_input
        from amortized.sampling import acyclic_samples

        path = Path(self.params["checkpoint"] or SHIPPED).resolve()
        key = (str(path), path.stat().st_mtime_ns if path.exists() else None)
        if key not in _CACHE:
            _CACHE[key] = load_model(path)
        net, meta = _CACHE[key]
        prev = torch.get_num_threads()
        torch.set_num_threads(max(1, int(self.threads or 1)))
        try:
            with torch.no_grad():
                logits = net(model_input(data.x, data.interv_mask)[None])[0]
            probs = torch.sigmoid(logits).double().numpy()
        finally:
            torch.set_num_threads(prev)
        np.fill_diagonal(probs, 0.0)
        graphs, frac_dropped = acyclic_samples(probs, int(self.params["n_samples"]), np.random.default_rng(seed))
        trained = meta.get("spec", {}).get("domain", {})
        return GraphPosterior(graphs=graphs, edge_probs=probs,
                              info={"checkpoint": str(path), "frac_dropped": frac_dropped,
                                    "trained_d": trained.get("d"), "trained_n": trained.get("n"),
                                    "expected_edges": float(probs.sum())})
