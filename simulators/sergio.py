"""Single-cell gene expression guided by a gene regulatory network: SERGIO
(Dibaeinia & Sinha 2020, Cell Systems 11:252), through its authors' package
``sergio-scsim`` (SERGIO v2, module ``SERGIO``), on the DAG models of
simulators/graphs.py, with knockout interventions as in AVICI.

Model (SERGIO's). Each gene j's mRNA concentration follows the chemical Langevin
equation dx_j = (P_j - lambda x_j) dt + noise_s (sqrt(P_j) dW + sqrt(lambda x_j) dW'),
where a master regulator (a gene without parents) has a basal production rate
P_j = b_j(c) per cell type c, and any other gene
P_j = sum_{i in pa(j)} H_ij(x_i), with H_ij(x) = K_ij x^h / (x^h + h_ij^h) for an
activation (K_ij > 0) and |K_ij| (1 - x^h / (x^h + h_ij^h)) for a repression; the
half-responses h_ij are set by SERGIO to the regulator's mean steady-state
concentration over cell types. Cells of each cell type are draws from the steady-state
trajectory (SERGIO v2's defaults: 50 burn-in steps of dt = 0.01, then a cell every
10 steps on average). Technical noise, optional (``tech_noise``), is SERGIO's: outlier
genes, library-size effects and dropouts, with the parameter sets of the SERGIO paper
(supplement) as AVICI lists them (``avici/synthetic/sergio/noise_config.yaml``; one
set drawn per dataset where a platform has several); ``counts`` then draws Poisson UMI
counts.

Parameters and defaults. The mechanism defaults are AVICI's shipped gene domain
(``avici/config/examples/gene-ecoli.yaml``, the "gene-ecoli" domain of
``avici.simulate_data``): 10 cell types, decay lambda = 1, noise_s = 1, basal rates
b ~ U(1, 3), |K_ij| ~ U(1, 5), each regulator i activating with probability
p_i ~ Beta(0.5, 0.5) (K_ij > 0 with probability p_i, else < 0), Hill coefficient 2.
Technical noise is off by default (``tech_noise: none``, ``counts: false``: the clean
expression levels) because the dataset checks refuse genes that dropouts leave
constant (all zero) on a small training set; AVICI's gene domain uses
``illumina``, ``drop-seq`` or ``smart-seq`` with counts. The graph is any model of
simulators/graphs.py (default ``sf_out``, heavy-tailed out-degree: regulators are the
hubs, AVICI's scale-free family for gene networks).

Not offered: the E. coli regulatory subnetworks of AVICI (RegulonDB) are not in this
package. What it ships, ``SERGIO/GRN/ref/EcoliNet.v1.txt``, is EcoliNet v1, a
co-functional gene network (95,520 links among 4,099 genes, every link oriented from
the lower to the higher b-number, so not regulator -> target), and its loader
``grn_from_Ecoli`` reads it by a path relative to the working directory and keeps the
links among uniformly sampled genes, which leaves a few-dozen-gene sample almost
without edges.

Interventions: knockouts, as AVICI's. ``n_interv_nodes`` genes are each knocked out
in ``n_interv_rows`` extra training cells (SERGIO run with the gene's production set
to 0 and everything else, half-responses included, as in the wild type; the gene's
expression is then 0, ``interv_mask`` True on it); with ``heldout_interventional`` the
held-out rows add knockouts of ``n_heldout_interv_nodes`` other genes. Training and
held-out rows come from separate SERGIO runs of the same network and parameters.

Randomness: SERGIO draws from numpy's global generator; every run here seeds it from
the dataset's generator and restores its previous state afterwards. params_true: none
(the Hill-function parameters are not linear ones); ``meta`` records the number of
cell types and the technical-noise parameters drawn.
"""
from __future__ import annotations

import contextlib
import math
from typing import Any

import numpy as np

from simulators.base import DataError, Dataset, Simulator, size_problems
from simulators.graphs import GRAPH_DEFAULTS, GRAPH_KINDS, graph_problems, sample_graph
from simulators.scm import INTERV_DEFAULTS, interv_problems, interv_targets

#: technical-noise parameter sets per platform (SERGIO paper supplement, as in AVICI's
#: noise_config.yaml); where a platform has several, one is drawn per dataset
TECH_NOISE = {
    "10x-chromium": [dict(outlier_prob=0.01, outlier_mean=3.0, outlier_scale=1.0, lib_size_mean=6.0,
                          lib_size_scale=0.3, dropout_shape=8.0, dropout_percentile=74),
                     dict(outlier_prob=0.01, outlier_mean=3.0, outlier_scale=1.0, lib_size_mean=6.0,
                          lib_size_scale=0.4, dropout_shape=8.0, dropout_percentile=82),
                     dict(outlier_prob=0.01, outlier_mean=5.0, outlier_scale=1.0, lib_size_mean=4.5,
                          lib_size_scale=0.7, dropout_shape=8.0, dropout_percentile=45)],
    "illumina": [dict(outlier_prob=0.01, outlier_mean=0.8, outlier_scale=1.0, lib_size_mean=7.0,
                      lib_size_scale=0.4, dropout_shape=8.0, dropout_percentile=80)],
    "drop-seq": [dict(outlier_prob=0.01, outlier_mean=3.0, outlier_scale=1.0, lib_size_mean=4.4,
                      lib_size_scale=0.8, dropout_shape=8.0, dropout_percentile=85)],
    "smart-seq": [dict(outlier_prob=0.01, outlier_mean=4.5, outlier_scale=1.0, lib_size_mean=10.8,
                       lib_size_scale=0.55, dropout_shape=2.0, dropout_percentile=92)],
}

# SERGIO v2's simulate() defaults
SAFETY_ITER, SCALE_ITER, DT = 50, 10, 0.01


@contextlib.contextmanager
def seeded_global_numpy(seed: int):
    """numpy's global generator seeded with ``seed`` inside, its old state restored after."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


class _Network:
    """One drawn regulatory network: graph g [d, d], interaction strengths k [d, d]
    (0 off the graph), Hill coefficient, decay, basal rates b [d, n_types]; builds
    SERGIO GRNs for the wild type and for knockouts (half-responses fixed to the wild
    type's) and runs them."""

    def __init__(self, g, k, hill, decay, b, noise_s):
        self.g, self.k, self.hill, self.decay, self.b, self.noise_s = g, k, hill, decay, b, noise_s
        self.d, self.n_types = b.shape
        self.half = None  # {(i, j): h_ij}, from the wild type's steady state

    def _grn(self, ko: int | None):
        from SERGIO.GRN import GRN
        from SERGIO.GRN._components import Gene, SingleInteraction
        from SERGIO.MR import mrProfile

        grn = GRN()
        for j in range(self.d):  # every gene, also those without edges
            grn._add_gene(Gene(name=f"G{j}", decay=self.decay))
        for i, j in zip(*np.nonzero(self.g)):
            if j == ko:
                continue  # a knocked-out gene loses its regulation and is produced at rate 0
            h = None if self.half is None else self.half[(int(i), int(j))]
            grn.add_interaction(SingleInteraction(reg=[Gene(name=f"G{i}", decay=self.decay)],
                                                  tar=Gene(name=f"G{j}", decay=self.decay),
                                                  k=float(self.k[i, j]), h=h, n=self.hill))
        grn.setMRs()
        mrs = sorted(grn.get_mrs(), key=lambda s: int(s[1:]))
        profile = mrProfile(MR_names=mrs, n_types=self.n_types)
        for name in mrs:
            j = int(name[1:])
            profile.profile[name] = np.zeros(self.n_types) if j == ko else self.b[j].copy()
        profile.init_ = True
        grn.init(profile, update_half_resp=self.half is None)
        if self.half is None:
            self.half = {}
            for inter in grn.attr_["interactions"].values():
                self.half[(int(inter.reg_[0].name_[1:]), int(inter.tar_.name_[1:]))] = float(inter.h_)
        return grn

    def cells(self, m: int, ko: int | None, seed: int, noise: dict | None, counts: bool,
              rng: np.random.Generator) -> np.ndarray:
        """[m, d] expression of m cells (types in turn, shuffled), gene ``ko`` knocked out."""
        from SERGIO import sergio

        if self.half is None and ko is not None:
            self._grn(None)  # the wild type fixes the half-responses
        per_type = math.ceil(m / self.n_types)
        with seeded_global_numpy(seed):
            grn = self._grn(ko)
            sim = sergio(grn)
            sim.simulate(nCells=per_type, noise_s=self.noise_s, safety_iter=SAFETY_ITER,
                         scale_iter=SCALE_ITER, dt=DT)
            expr = sim.getSimExpr().loc[[f"G{j}" for j in range(self.d)]].to_numpy(dtype=np.float64)  # [d, cells]
            if noise is not None or counts:
                from SERGIO.Noise import scNoise

                q = noise or {}
                expr = scNoise()._add_noise(
                    expr, prob_o=q.get("outlier_prob"), mean_o=q.get("outlier_mean"),
                    scale_o=q.get("outlier_scale"), mean_l=q.get("lib_size_mean"),
                    scale_l=q.get("lib_size_scale"), shape_d=q.get("dropout_shape"),
                    perc_d=q.get("dropout_percentile"), to_count=counts).astype(np.float64)
        x = expr.T[rng.permutation(expr.shape[1])[:m]]  # [m, d]
        if ko is not None:
            x[:, ko] = 0.0  # exactly 0 already; outlier or library factors keep it so
        return x


class Sergio(Simulator):
    """Single-cell expression from SERGIO (sergio-scsim) on a random regulatory DAG,
    with gene knockouts; see the module docstring."""

    name = "sergio"
    defaults = {
        "d": 20,                        # genes
        "n": 100,                       # wild-type training cells
        "n_heldout": 100,               # wild-type held-out cells
        "graph": "sf_out",              # any model of simulators/graphs.py
        "edges_per_node": 2.0,          # ER, SBM: expected edges / node; SF: edges per added node
        **GRAPH_DEFAULTS,               # sf_power, ws_dim, ws_nei, ws_rewire, sbm_blocks, sbm_damp, grg_radius
        "n_cell_types": 10,             # cell types (master-regulator production profiles)
        "decay": 1.0,                   # mRNA decay rate lambda of every gene
        "noise_s": 1.0,                 # intrinsic (Langevin) noise scale
        "b_low": 1.0,                   # master-regulator basal rates ~ U(b_low, b_high)
        "b_high": 3.0,
        "k_low": 1.0,                   # |interaction strength| ~ U(k_low, k_high)
        "k_high": 5.0,
        "k_sign_a": 0.5,                # activation probability per regulator ~ Beta(a, b)
        "k_sign_b": 0.5,
        "hill": 2.0,                    # Hill coefficient
        "tech_noise": "none",           # 'none' or a platform of TECH_NOISE
        "counts": False,                # Poisson UMI counts of the (noisy) expression
        "standardise": True,            # scale columns to mean 0, sd 1 (training statistics)
        "n_interv_nodes": INTERV_DEFAULTS["n_interv_nodes"],        # genes knocked out in training
        "n_interv_rows": INTERV_DEFAULTS["n_interv_rows"],          # cells per knockout
        "heldout_interventional": INTERV_DEFAULTS["heldout_interventional"],  # held-out knockouts
        "n_heldout_interv_nodes": INTERV_DEFAULTS["n_heldout_interv_nodes"],  # of this many other genes
    }
    choices = {"graph": GRAPH_KINDS, "tech_noise": ("none", *TECH_NOISE)}

    @classmethod
    def check_params(cls, p: dict[str, Any]) -> list[str]:
        out = size_problems(p)
        out += graph_problems(p["graph"], p["d"], p["edges_per_node"], **{k: p[k] for k in GRAPH_DEFAULTS})
        if p["n_cell_types"] < 1:
            out.append(f"parameter 'n_cell_types' = {p['n_cell_types']} must be >= 1")
        for key in ("decay", "hill", "k_sign_a", "k_sign_b"):
            if not p[key] > 0:
                out.append(f"parameter '{key}' = {p[key]} must be > 0")
        if not p["noise_s"] >= 0:
            out.append(f"parameter 'noise_s' = {p['noise_s']} must be >= 0")
        for what in ("b", "k"):
            lo, hi = p[f"{what}_low"], p[f"{what}_high"]
            if not lo > 0:
                out.append(f"parameter '{what}_low' = {lo} must be > 0")
            if not hi >= lo:
                out.append(f"parameter '{what}_high' = {hi} must be >= {what}_low = {lo}")
        out += interv_problems(p, p["d"])
        return out

    def generate(self, rng: np.random.Generator) -> Dataset:
        p = self.params
        d = p["d"]
        r_graph, r_mech, r_interv, r_train, r_held = rng.spawn(5)
        g = sample_graph(p["graph"], d, p["edges_per_node"], r_graph,
                         **{k: p[k] for k in GRAPH_DEFAULTS})                     # [d, d]
        p_act = r_mech.beta(p["k_sign_a"], p["k_sign_b"], size=d)               # [d] per regulator
        sign = np.where(r_mech.random((d, d)) < p_act[:, None], 1.0, -1.0)
        k = g * sign * r_mech.uniform(p["k_low"], p["k_high"], size=(d, d))     # [d, d]
        b = r_mech.uniform(p["b_low"], p["b_high"], size=(d, p["n_cell_types"]))  # [d, types]
        noise = None
        if p["tech_noise"] != "none":
            options = TECH_NOISE[p["tech_noise"]]
            noise = options[int(r_mech.integers(len(options)))]
        net = _Network(g, k, p["hill"], p["decay"], b, p["noise_s"])
        train_nodes, held_nodes = interv_targets(p, d, r_interv)

        def rows(n_obs, nodes, r):
            blocks = [net.cells(n_obs, None, int(r.integers(2**32)), noise, p["counts"], r)]
            masks = [np.zeros((n_obs, d), dtype=bool)]
            for j in nodes:
                blocks.append(net.cells(p["n_interv_rows"], j, int(r.integers(2**32)), noise, p["counts"], r))
                mk = np.zeros((p["n_interv_rows"], d), dtype=bool)
                mk[:, j] = True
                masks.append(mk)
            return np.concatenate(blocks), np.concatenate(masks)

        x, mask = rows(p["n"], train_nodes, r_train)
        x_h, mask_h = rows(p["n_heldout"], held_nodes, r_held)
        for what, arr in (("training", x), ("held-out", x_h)):
            if not np.all(np.isfinite(arr)):
                raise DataError(f"sergio: SERGIO returned non-finite {what} expression "
                                f"(a cell with no expression at all under the library-size effect?)")
        from importlib.metadata import version

        meta = {"n_edges": int(g.sum()), "n_cell_types": p["n_cell_types"],
                "tech_noise_params": noise, "interv_nodes": train_nodes,
                "heldout_interv_nodes": held_nodes, "interventions": "knockout",
                "source": f"sergio-scsim {version('sergio-scsim')}"}
        return Dataset(x=x, x_heldout=x_h, g_true=g, interv_mask=mask, interv_mask_heldout=mask_h,
                       node_names=[f"G{j}" for j in range(d)], meta=meta)
