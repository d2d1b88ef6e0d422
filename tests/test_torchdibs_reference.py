"""torchdibs against the JAX reference (dibs-lib) for the joint linear-Gaussian model.

Feeds both implementations the same particles and the same random draws (the reference's
own jax draws: hard graphs for ∇_Θ, Logistic noise for the Gumbel-softmax ∇_Z and for the
acyclicity gradient) and compares, in float64, every piece of one SVGD step: log p(Θ, D | G),
the likelihood and prior gradients, the SVGD directions of Z and Θ, the DiBS+ scores and
the held-out density. Skipped when dibs-lib / jax are not installed (the ``reference``
extra); bench/joint_linear_vs_reference.py compares whole runs.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

dibs_lib = pytest.importorskip("dibs")
jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402
from jax import random  # noqa: E402

import torchdibs as td  # noqa: E402
import torchdibs.estimators as est_mod  # noqa: E402
import torchdibs.priors as priors_mod  # noqa: E402
import torchdibs.svgd as svgd_mod  # noqa: E402
from torchdibs.svgd import rbf_kernel, svgd_direction  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module", autouse=True)
def _x64():
    prev = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", prev)


def _data(n=40, d=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * np.sqrt(0.1)
    x[:, 1] += 1.5 * x[:, 0]
    x[:, 3] -= 0.8 * x[:, 1]
    x[:, 5] += x[:, 3] + 0.7 * x[:, 2]
    return x


def _reference(x, *, P_alpha=0.2, S=16, S_acyc=8):
    from dibs.inference import JointDiBS
    from dibs.models import ErdosReniDAGDistribution, LinearGaussian

    d = x.shape[1]
    gm = ErdosReniDAGDistribution(n_vars=d, n_edges_per_node=1)  # p = 0.4 (our prior caps p at 0.5)
    lik = LinearGaussian(n_vars=d, obs_noise=0.1, mean_edge=0.0, sig_edge=1.0, min_edge=0.5)
    ref = JointDiBS(x=jnp.asarray(x), graph_model=gm, likelihood_model=lik,
                    kernel_param={"h_latent": 5.0, "h_theta": 500.0}, alpha_linear=P_alpha, beta_linear=1.0,
                    tau=1.0, n_grad_mc_samples=S, n_acyclicity_mc_samples=S_acyc, grad_estimator_z="reparam")
    ref.latent_prior_std = 1.0 / np.sqrt(d)  # set by JointDiBS.sample; k = d
    return ref, gm, lik


def _ours(x, *, S=16, S_acyc=8):
    model = td.LinearGaussian(x=x, obs_noise=0.1, dtype=torch.float64)
    dibs = td.JointDiBS(model=model, n_particles=4, graph_prior="er", edges_per_node=1.0, alpha_slope=0.2,
                        beta_slope=1.0, tau=1.0, h_latent=5.0, h_theta=500.0, n_grad_samples=S,
                        n_acyclic_samples=S_acyc, estimator="gumbel", dtype=torch.float64)
    return model, dibs


def _t(a) -> torch.Tensor:
    return torch.as_tensor(np.array(a), dtype=torch.float64)


def test_log_joint_and_heldout_density_equal_the_reference():
    x = _data()
    d = x.shape[1]
    ref, gm, lik = _reference(x)
    model, dibs = _ours(x)
    rng = np.random.default_rng(1)
    g_soft = rng.uniform(size=(3, d, d)) * (1 - np.eye(d))
    g_hard = (rng.uniform(size=(3, d, d)) < 0.3) * (1 - np.eye(d))
    theta = rng.normal(size=(3, d, d))
    for g in (g_soft, g_hard):
        want = [float(lik.interventional_log_joint_prob(jnp.asarray(g[k]), jnp.asarray(theta[k]), jnp.asarray(x),
                                                        jnp.zeros_like(jnp.asarray(x)), None)) for k in range(3)]
        got = model.log_joint(_t(g)[:, None], _t(theta).reshape(3, -1))[:, 0]
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10)
        got2, _ = model.log_joint_softmax_grad(_t(g)[:, None], _t(theta).reshape(3, -1))
        np.testing.assert_allclose(got2[:, 0].numpy(), want, rtol=1e-9)
    # held-out density per row (what the harness scores) = the reference's log likelihood
    x_ho = _data(seed=5)
    rows = model.log_density_rows(x_ho, None, _t(g_hard), _t(theta).reshape(3, -1)).sum(-1)
    want = [float(lik.log_likelihood(x=jnp.asarray(x_ho), theta=jnp.asarray(theta[k]), g=jnp.asarray(g_hard[k]),
                                     interv_targets=jnp.zeros_like(jnp.asarray(x_ho)))) for k in range(3)]
    np.testing.assert_allclose(rows.numpy(), want, rtol=1e-10)
    # graph prior: the same soft ER prior (DiBS+ adds it to the joint)
    np.testing.assert_allclose(dibs.graph_prior.log_prob(_t(g_soft)).numpy(),
                               [float(gm.unnormalized_log_prob_soft(soft_g=jnp.asarray(g))) for g in g_soft],
                               rtol=1e-12)


@pytest.mark.parametrize("t", [1, 40])
def test_one_svgd_step_equals_the_reference_given_the_same_draws(monkeypatch, t):
    """Gradients of Θ and Z (likelihood + prior) and both SVGD directions, with the
    reference's random draws injected into ours."""
    x = _data()
    d, P, S, S_acyc = x.shape[1], 4, 16, 8
    ref, _, lik = _reference(x, S=S, S_acyc=S_acyc)
    model, dibs = _ours(x, S=S, S_acyc=S_acyc)

    key = random.PRNGKey(3)
    key, k1, k2 = random.split(key, 3)
    z = random.normal(k1, (P, d, d, 2)) / np.sqrt(d)
    theta = lik.sample_parameters(key=k2, n_particles=P, n_vars=d)

    # the reference's step, piece by piece, with the key splits of JointDiBS._svgd_step
    key, *sk_theta = random.split(key, P + 1)
    dtheta_ref = ref.eltwise_grad_theta_likelihood(z, theta, t, jnp.array(sk_theta))
    key, *sk_z = random.split(key, P + 1)
    dz_lik_ref, _ = ref.eltwise_grad_z_likelihood(z, theta, jnp.zeros(P), t, jnp.array(sk_z))
    key, *sk_prior = random.split(key, P + 1)
    dz_prior_ref = ref.eltwise_grad_latent_prior(z, jnp.array(sk_prior), t)
    dz_ref = dz_prior_ref + dz_lik_ref
    kxx = ref._f_kernel_mat(z, theta, z, theta)
    phi_z_ref = -ref._parallel_update_z(z, theta, kxx, z, theta, dz_ref)
    phi_theta_ref = -ref._parallel_update_theta(z, theta, kxx, z, theta, dtheta_ref)

    # the same draws, as torchdibs consumes them
    g_draws = np.stack([np.asarray(ref.sample_g(ref.edge_probs(z[p], t), sk_theta[p], S)) for p in range(P)])
    eps_z = np.stack([np.asarray(random.logistic(random.split(sk_z[p])[1], (S, d, d))) for p in range(P)])
    eps_h = np.stack([np.asarray(random.logistic(sk_prior[p], (S_acyc, d, d))) for p in range(P)])
    sig = lambda e: torch.sigmoid(_t(e))  # uniforms whose logit is the Logistic draw  # noqa: E731
    monkeypatch.setattr(svgd_mod, "sample_graphs", lambda probs, n, gen: _t(g_draws))
    monkeypatch.setattr(est_mod, "uniform_draws", lambda shape, gen, **kw: sig(eps_z))
    monkeypatch.setattr(priors_mod, "uniform_draws", lambda shape, gen, **kw: sig(eps_h))

    zt, tht = _t(z), _t(theta).reshape(P, -1)
    gz, gth, _ = dibs.grad_log_posterior(zt, tht, t, torch.Generator().manual_seed(0))
    np.testing.assert_allclose(gth.reshape(P, d, d).numpy(), np.asarray(dtheta_ref), rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(gz.numpy(), np.asarray(dz_ref), rtol=1e-6, atol=1e-6)

    zf, gzf = zt.reshape(P, -1), gz.reshape(P, -1)
    k_z, k_t = rbf_kernel(zf, dibs.h_latent), rbf_kernel(tht, dibs.h_theta)
    np.testing.assert_allclose((k_z + k_t).numpy(), np.asarray(kxx), rtol=1e-12)
    phi_t = svgd_direction(tht, gth, k_z + k_t, k_t, dibs.h_theta)
    phi_z = svgd_direction(zf, gzf, k_z + k_t, k_z, dibs.h_latent)
    np.testing.assert_allclose(phi_t.reshape(P, d, d).numpy(), np.asarray(phi_theta_ref), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(phi_z.reshape(z.shape).numpy(), np.asarray(phi_z_ref), rtol=1e-6, atol=1e-7)


def test_rmsprop_equals_jax_example_libraries_rmsprop():
    """The reference's optimiser (``jax.example_libraries.optimizers.rmsprop``, fed −φ)."""
    from jax.example_libraries import optimizers

    rng = np.random.default_rng(0)
    x0 = rng.normal(size=(3, 5))
    phis = [rng.normal(size=(3, 5)) * 10 ** k for k in (-3, 0, 2, -1)]
    opt_init, opt_update, get_params = optimizers.rmsprop(0.005)
    state = opt_init(jnp.asarray(x0))
    ours, x = svgd_mod.RMSProp(lr=0.005), _t(x0)
    for i, phi in enumerate(phis):
        state = opt_update(i, -jnp.asarray(phi), state)
        x = ours.ascend(x, _t(phi))
    np.testing.assert_allclose(x.numpy(), np.asarray(get_params(state)), rtol=1e-12)
