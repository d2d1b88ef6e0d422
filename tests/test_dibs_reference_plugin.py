"""The ``dibs_reference`` plugin (dibs-lib's MarginalDiBS with BGe, for side-by-side studies).

Without dibs-lib / jax (the CI default) the plugin must decline with the install command;
with them (``pip install -e '.[reference]'``) it must run the library and return a merged,
normalised posterior under the same graph prior as ``dibs_bge``.
"""
from __future__ import annotations

import numpy as np
import pytest

from methods.base import get
from methods.dibs_reference import INSTALL, library_edges_per_node, reference_installed
from simulators.base import Dataset
from torchdibs.priors import ErdosRenyiPrior


def _chain_data(n=60, seed=0) -> Dataset:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    x[:, 1] += 2.0 * x[:, 0]
    x[:, 2] -= 1.5 * x[:, 1]
    g = np.zeros((3, 3), dtype=np.int8)
    g[0, 1] = g[1, 2] = 1
    return Dataset(x=x, x_heldout=x[:10], g_true=g)


@pytest.mark.skipif(reference_installed(), reason="dibs-lib is installed here")
def test_without_dibs_lib_the_plugin_declines_with_the_install_command():
    reason = get("dibs_reference")().skip(_chain_data())
    assert reason == INSTALL and "pip install" in reason and "[reference]" in reason


@pytest.mark.parametrize("d", [2, 3, 4, 5, 10, 20])
def test_the_library_prior_gets_our_edge_probability(d):
    ours = ErdosRenyiPrior(n_vars=d, edges_per_node=2.0).p
    e = library_edges_per_node(d, 2.0)
    assert e * d / (d * (d - 1) / 2) == pytest.approx(ours)
    if reference_installed():
        from dibs.models import ErdosReniDAGDistribution

        assert ErdosReniDAGDistribution(n_vars=d, n_edges_per_node=e).p == pytest.approx(ours)


@pytest.mark.skipif(not reference_installed(), reason="needs dibs-lib and jax (the 'reference' extra)")
@pytest.mark.parametrize("posterior", ["dibs", "dibs+"])
def test_the_reference_runs_and_returns_a_merged_normalised_posterior(posterior):
    data = _chain_data()
    method = get("dibs_reference")(steps=200, n_particles=8, n_grad_samples=16, n_acyclic_samples=8,
                                   chunk=50, posterior=posterior)
    assert method.skip(data) is None
    post = method.fit(data, seed=0)
    assert post.problems(3) == []
    flat = post.graphs.reshape(len(post.graphs), -1)
    assert len(np.unique(flat, axis=0)) == len(flat)          # identical graphs merged
    assert post.weights.sum() == pytest.approx(1.0)
    assert post.info["steps"] == 200 and post.info["seconds"] > 0 and post.info["compile_seconds"] > 0
    # a strong chain 0 -> 1 -> 2: the skeleton's two edges carry most of the mass
    m = post.marginals()
    assert m[0, 1] + m[1, 0] > 0.5 and m[1, 2] + m[2, 1] > 0.5
    again = get("dibs_reference")(**method.params).fit(data, seed=0)
    np.testing.assert_array_equal(again.graphs, post.graphs)
