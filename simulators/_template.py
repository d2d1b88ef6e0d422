"""A starting point for a new simulator: copy this file to ``simulators/<your_name>.py``
(or to ``<dir>/simulators/`` of a folder named in DAGBENCH_PLUGIN_DIRS).

Files in simulators/ whose name starts with ``_`` are not discovered, so this one is
never run as is. Once copied (and ``name`` changed), the harness finds the class by
scanning, ``python -m dagbench list simulators`` shows it with its parameters, the
generic tests in tests/test_simulators.py check its datasets against the contract
(``pytest tests/test_simulators.py -k <name>``), and a config entry runs it:

    settings:
      - id: "mine-d{d}"                   # optional; ids name the files and table rows
        simulator: example_linear         # the class's ``name``
        params: {d: 8, interv_nodes: [0, 3]}

Parameters reach the simulator like this: the workflow checks every setting when it
starts (unknown names, wrong types, values outside ``choices``, and ``check_params``),
fills in the defaults and hands each job the full dict, which the harness passes to
the constructor: ``self.params`` in ``generate``. A list given for a parameter whose
default is not a list is a grid axis (``d: [5, 10]`` makes two settings); a parameter
whose default is a list, like ``interv_nodes`` here, takes the list as its value.

What the harness does around ``generate`` (``Simulator.simulate`` in simulators/base.py):

- **rng**: ``generate`` receives one ``numpy.random.Generator``, made by
  ``np.random.default_rng(seed)`` from the job's seed. Draw every random number from it
  (never ``np.random.*``, ``random`` or torch's global generator), so that the same
  parameters and seed give the same dataset bit for bit and different seeds differ; the
  contract tests check both. ``rng.spawn(k)`` gives independent streams, so that e.g.
  changing ``n_heldout`` leaves the graph and the training rows unchanged.
- **Standardisation is the harness's job**, not the simulator's: return data in the
  model's own scale. When the ``standardise`` parameter is true (declare it in
  ``defaults``; without it data are never standardised), every column is scaled to mean 0
  and sd 1 with the statistics of the observational training rows, the same map is
  applied to the held-out rows, ``params_true["weights"]`` and
  ``params_true["noise_scale"]`` are rescaled to match (other ``params_true`` entries are
  left as they are) and ``meta["standardised"]`` is set. Intervention values are
  therefore given in the original scale.
- **meta** gets ``simulator``, ``params``, ``seed`` and library versions added, and the
  workflow adds the setting id; anything you put in ``meta`` must be JSON-able.
- **Checks**: the dataset must pass ``Dataset.problems()`` (shapes, finite values, at
  least 2 training rows, unique node names, no constant or collinear training columns),
  else the dataset of that seed is recorded as ``data_error``.

The Dataset you return (simulators/base.py; ``g[i, j] = 1`` means i -> j):

- ``x`` [n, d] float64, the training rows (required);
- ``x_heldout`` [m, d] float64, m >= 1 held-out rows from the same model, scored by the
  held-out log-likelihood and never shown to methods (required);
- ``g_true`` [d, d] int8 0/1, the true DAG (required; no self-loops, acyclic). When the
  graph is unknown, give zeros and ``meta["graph_known"] = False``: only the held-out
  likelihood is then scored;
- ``interv_mask`` [n, d] bool, True where that row's node was intervened on (hard
  intervention: ``x`` holds the clamped value); None means all False. Methods that
  model interventions (``uses_interventions = True``) get every row, the others only
  the rows without an intervention. ``interv_mask_heldout`` [m, d] likewise for the
  held-out rows: the held-out likelihood leaves out the clamped nodes' terms, and
  ``ll_heldout_interv`` scores the held-out rows that have one;
- ``node_names``: d unique strings (default X0, X1, ...), shown in figures;
- ``params_true``: {name: array}, true parameters where they exist, e.g. ``weights``
  [d, d] (``weights[i, j]`` the coefficient of x_i in x_j's equation, non-zero exactly
  on the edges of ``g_true``) and ``noise_scale`` [d];
- ``meta``: JSON-able extras (edge count, intervention targets, notes ...).

Errors: ``check_params`` returns a list of problems, each naming the parameter; they
stop the workflow when it starts, listed with the config key path, and the
constructor raises a PluginError with them. A dataset that cannot be made for one seed
(data read from elsewhere that turn out bad, a draw that fails) is a
``simulators.base.DataError`` raised in ``generate`` with a message saying what is
wrong: that seed's dataset is recorded as ``data_error`` and every other dataset and
fit goes on. Any other exception is recorded the same way, with its traceback in the
simulate log (it is treated as a bug).

The example is a working simulator, a linear-Gaussian SCM written out in full (the
built-in ``linear`` simulator, on simulators/scm.py, does the same with more options):
an Erdős–Rényi or scale-free DAG, weights ±U(weight_low, weight_high), Gaussian noise,
and optional single-node hard interventions in extra training rows.
"""
from __future__ import annotations

from typing import Any

import numpy as np

# Keep module-level imports light (numpy, the dagbench contracts and helpers): every
# plugin file is imported whenever the plugins are listed. Import torch, pandas, cdt ...
# inside ``generate``.
from dagbench.graphs import topological_order
from simulators.base import Dataset, Simulator, size_problems
from simulators.graphs import GRAPH_KINDS, graph_problems, sample_graph


class ExampleLinear(Simulator):
    """One line saying what the simulator makes (shown when plugins are listed).

    Say here what the model is, what each parameter means, and what ``params_true``
    holds. Linear-Gaussian SCM: x_j = sum_i w_ij x_i + noise_sd * N(0, 1), in a
    topological order of a random DAG; nodes in ``interv_nodes`` are each clamped to
    ``interv_value`` in ``n_interv_rows`` extra training rows.

    Parameters:
        d, n, n_heldout: nodes, observational training rows, held-out rows.
        graph, edges_per_node: the DAG model ('er', 'sf', or another of simulators.graphs) and its density.
        weight_low, weight_high: |w_ij| ~ U(weight_low, weight_high), random sign.
        noise_sd: the noise sd of every node.
        interv_nodes: 0-based indices of the nodes intervened on ([] = observational).
        n_interv_rows, interv_value: rows per intervened node, the clamped value.
        standardise: scale every column to mean 0, sd 1 (done by the harness).
    """

    # The name used in the config (``simulator: example_linear``); must be unique among
    # all simulators, built-in and in DAGBENCH_PLUGIN_DIRS folders.
    name = "example_linear"
    # Every parameter with its default; the default's type is the parameter's type (an
    # int default accepts only ints, a float default accepts ints too, a list default
    # takes a list, a None default accepts anything). Declare d, n, n_heldout (the
    # contract tests shrink them) and standardise.
    defaults = {
        "d": 10,
        "n": 100,
        "n_heldout": 100,
        "graph": "er",
        "edges_per_node": 1.0,
        "weight_low": 0.5,
        "weight_high": 2.0,
        "noise_sd": 1.0,
        "interv_nodes": [],
        "n_interv_rows": 50,
        "interv_value": 2.0,
        "standardise": True,
    }
    # Allowed values of a parameter, checked with the types.
    choices = {"graph": GRAPH_KINDS}

    @classmethod
    def check_params(cls, p: dict[str, Any]) -> list[str]:
        """Range checks on the full parameter dict (defaults filled in): a list of
        problems, each naming the parameter (empty when all is well)."""
        out = size_problems(p)                      # d >= 2, n >= 2, n_heldout >= 1
        out += graph_problems(p["graph"], p["d"], p["edges_per_node"])
        if not 0 < p["weight_low"] <= p["weight_high"]:
            out.append(f"parameters 'weight_low' = {p['weight_low']} and 'weight_high' = "
                       f"{p['weight_high']} must satisfy 0 < weight_low <= weight_high")
        if not p["noise_sd"] > 0:
            out.append(f"parameter 'noise_sd' = {p['noise_sd']} must be > 0")
        nodes = p["interv_nodes"]
        bad = [j for j in nodes if isinstance(j, bool) or not isinstance(j, int) or not 0 <= j < p["d"]]
        if bad:
            out.append(f"parameter 'interv_nodes' = {nodes}: {bad} are not node indices "
                       f"0 .. d - 1 = {p['d'] - 1}")
        elif len(set(nodes)) != len(nodes):
            out.append(f"parameter 'interv_nodes' = {nodes} names a node twice")
        if nodes and p["n_interv_rows"] < 1:
            out.append(f"parameter 'n_interv_rows' = {p['n_interv_rows']} must be >= 1")
        if not np.isfinite(p["interv_value"]):
            out.append(f"parameter 'interv_value' = {p['interv_value']} must be finite")
        return out

    def generate(self, rng: np.random.Generator) -> Dataset:
        """The dataset in the model's own scale (the harness standardises it)."""
        p = self.params
        d = p["d"]
        # independent streams: changing n or n_heldout leaves the graph and weights alone
        r_graph, r_weights, r_train, r_held = rng.spawn(4)

        g = sample_graph(p["graph"], d, p["edges_per_node"], r_graph)       # [d, d] int8 DAG
        mag = r_weights.uniform(p["weight_low"], p["weight_high"], size=(d, d))
        sign = r_weights.choice([-1.0, 1.0], size=(d, d))
        w = g * sign * mag                                                    # [d, d], 0 off the graph
        order = topological_order(g)                                          # parents before children

        def sample(m: int, r: np.random.Generator, clamp: int | None = None) -> np.ndarray:
            """[m, d] rows by ancestral sampling; node ``clamp`` set to interv_value."""
            x = np.zeros((m, d))
            for j in order:
                if j == clamp:
                    x[:, j] = p["interv_value"]
                else:
                    x[:, j] = x @ w[:, j] + p["noise_sd"] * r.standard_normal(m)
            return x

        # training rows: n observational rows, then n_interv_rows per intervened node
        blocks = [sample(p["n"], r_train)]
        masks = [np.zeros((p["n"], d), dtype=bool)]
        for j in p["interv_nodes"]:
            blocks.append(sample(p["n_interv_rows"], r_train, clamp=j))
            mask = np.zeros((p["n_interv_rows"], d), dtype=bool)
            mask[:, j] = True                                                 # this row's clamped node
            masks.append(mask)
        x, interv_mask = np.concatenate(blocks), np.concatenate(masks)       # [n + k * n_interv_rows, d]

        # held-out rows: observational here (interv_mask_heldout None = all False); for
        # interventional held-out rows, sample them clamped and pass their mask likewise
        x_heldout = sample(p["n_heldout"], r_held)                            # [n_heldout, d]

        # A dataset that cannot be made for this seed is a DataError with a message saying
        # why (the seed's dataset is then recorded as data_error, the others go on), e.g.:
        #     if <the drawn data are unusable>:
        #         raise DataError(f"example_linear: ... (d = {d})")
        return Dataset(
            x=x, x_heldout=x_heldout, g_true=g, interv_mask=interv_mask,
            node_names=[f"X{j}" for j in range(d)],
            params_true={"weights": w, "noise_scale": np.full(d, float(p["noise_sd"]))},
            meta={"n_edges": int(g.sum()), "interv_nodes": list(p["interv_nodes"])},
        )
