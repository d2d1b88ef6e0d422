"""The empty graph: the floor every table is read against."""
from __future__ import annotations

import numpy as np

from methods.base import GraphPosterior, Method
from simulators.base import Dataset


class Empty(Method):
    """Predicts no edges. Its SHD is the number of true edges; its held-out likelihood
    is that of independent Gaussians (evaluation's least-squares fit with no parents).
    Takes no parameters; ``seed`` is unused."""

    name = "empty"
    defaults: dict = {}

    def fit(self, data: Dataset, *, seed: int) -> GraphPosterior:
        d = data.d
        return GraphPosterior(graphs=np.zeros((1, d, d), dtype=np.int8), weights=np.ones(1),
                              info={"n_edges": 0})
