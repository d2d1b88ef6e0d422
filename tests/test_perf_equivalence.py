"""The optimised (closed-form) gradient paths give the same gradients as the plain
autograd ones, with the same random draws; and NOTEARS's numpy objective matches
autograd. Each test compares two computations, so a wrong closed form fails it."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import torchdibs as td
from torchdibs.allocator import keep_freed_memory
from torchdibs.estimators import GumbelReparam, grad_theta
from torchdibs.latent import logistic_from_uniform, soft_graphs_from_scores, soft_graphs_from_uniform
from torchdibs.priors import grad_log_prior_z, grad_log_prior_z_autograd, make_graph_prior
from torchdibs.svgd import _JointLogF, grad_theta_closed_form


def _close(a, b, rtol):
    scale = b.abs().max().clamp(min=1e-30)
    assert float((a - b).abs().max() / scale) < rtol, float((a - b).abs().max() / scale)


@pytest.mark.parametrize("tau", [1.0, 0.7])
@pytest.mark.parametrize("prior", ["er", "sf"])
@pytest.mark.parametrize("dtype,rtol", [(torch.float64, 1e-10), (torch.float32, 1e-4)])
def test_prior_gradient_closed_form_matches_autograd(prior, dtype, rtol, tau):
    d = 7
    z = 0.4 * torch.randn(5, d, d, 2, generator=torch.Generator().manual_seed(0), dtype=dtype)
    kw = dict(alpha=2.5, beta=3.0, tau=tau, sigma_z=0.3, graph_prior=make_graph_prior(prior, n_vars=d),
              n_acyclic_samples=16)
    ga, ha = grad_log_prior_z(z, generator=torch.Generator().manual_seed(3), **kw)
    gb, hb = grad_log_prior_z_autograd(z, generator=torch.Generator().manual_seed(3), **kw)
    _close(ga, gb, rtol)
    _close(ha, hb, rtol)
    # and the acyclicity part matters: without it (β = 0) the gradient differs
    g0, _ = grad_log_prior_z(z, generator=torch.Generator().manual_seed(3), **{**kw, "beta": 0.0})
    assert float((g0 - gb).abs().max()) > 1e-3


@pytest.mark.parametrize("tau", [1.0, 0.7])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_soft_graphs_from_uniform_match_the_logistic_path(tau, dtype):
    # scores from 0 to far past the float32 range of exp, and uniforms including 0 and ~1
    P, S, d = 3, 400, 5
    s = torch.linspace(-3.0, 3.0, P * d * d, dtype=dtype).reshape(P, d, d)
    u = torch.rand(P, S, d, d, generator=torch.Generator().manual_seed(0), dtype=dtype)
    u[0, 0] = 0.0
    u[1, 0] = 1 - torch.finfo(dtype).eps
    for alpha in (0.0, 1.0, 50.0, 2000.0):
        want = soft_graphs_from_scores(s, alpha, logistic_from_uniform(u), tau)
        got = soft_graphs_from_uniform(s, alpha, u.clone(), tau)
        assert torch.isfinite(got).all(), alpha
        assert float((got - want).abs().max()) < 1e-6, alpha
        assert float(got.diagonal(dim1=-2, dim2=-1).abs().max()) == 0.0


def test_allocator_keeps_freed_memory_on_glibc():
    import ctypes.util
    if ctypes.util.find_library("c") is None or not hasattr(ctypes.CDLL(ctypes.util.find_library("c")), "mallopt"):
        pytest.skip("no glibc mallopt here")
    assert keep_freed_memory() is True
    assert keep_freed_memory() is True  # idempotent


@pytest.mark.parametrize("interv", [False, True])
def test_linear_log_joint_grad_matches_autograd(interv):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 6))
    mask = rng.random((60, 6)) < 0.2 if interv else None
    m = td.LinearGaussian(x=x, interv_mask=mask, dtype=torch.float64, obs_noise=0.3, sigma_edge=1.5,
                          mean_edge=0.2)
    g = torch.rand(3, 9, 6, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    th = torch.randn(3, 36, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    g_, th_ = g.clone().requires_grad_(True), th.clone().requires_grad_(True)
    lf = m.log_joint(g_, th_)
    dg, dth = torch.autograd.grad(lf.sum(), (g_, th_))
    v, dg2 = m.log_joint_grad(g, th, wrt="g")
    v2, dth2 = m.log_joint_grad(g, th, wrt="theta")
    _close(v, lf.detach(), 1e-12)
    _close(v2, lf.detach(), 1e-12)
    _close(dg2, dg, 1e-10)
    _close(dth2.sum(1).reshape(3, 36), dth, 1e-10)
    with pytest.raises(ValueError):
        m.log_joint_grad(g, th, wrt="x")


def _softmax_grads_by_autograd(m, g, th, factor):
    """What ``log_joint_softmax_grad`` must return, from autograd: the Gumbel sum
    Σ_s softmax_s(lf) factor_s ⊙ ∂lf_s/∂g_s and the Θ gradient of Σ_p logsumexp_s lf."""
    g_, th_ = g.clone().requires_grad_(True), th.clone().requires_grad_(True)
    lf = m.log_joint(g_, th_)  # [P, S]
    (dg,) = torch.autograd.grad(lf.sum(), g_, retain_graph=True)  # per sample: lf[p, s] needs g[p, s] only
    w = torch.softmax(lf.detach(), 1)
    (dth,) = torch.autograd.grad(torch.logsumexp(lf, 1).sum(), th_)
    return lf.detach(), torch.einsum("ps,psij->pij", w, dg * factor), dth


@pytest.mark.parametrize("model", ["linear", "mlp"])
@pytest.mark.parametrize("interv", [False, True])
@pytest.mark.parametrize("chunk", [1 << 21, 1000, 1])  # one block; a few samples per block; one each
@pytest.mark.parametrize("spread", ["wide", "flat"])
def test_log_joint_softmax_grad_matches_autograd(model, interv, chunk, spread):
    """The blocked closed form equals autograd: with log-likelihoods hundreds of nats apart
    ('wide': the MLP skips the backward pass of samples without weight) and with every
    sample the same graph ('flat': equal weights, every sample counts)."""
    rng = np.random.default_rng(0)
    P, S, d, n = 3, 9, 5, 30
    x = rng.normal(size=(n, d))
    mask = rng.random((n, d)) < 0.2 if interv else None
    if model == "mlp":
        m = td.MLPGaussian(x=x, interv_mask=mask, hidden=3, obs_noise=0.4, sigma_param=2.0, dtype=torch.float64)
    else:
        m = td.LinearGaussian(x=x, interv_mask=mask, dtype=torch.float64, obs_noise=0.3, sigma_edge=1.5,
                              mean_edge=0.2)
    m.chunk_elements = chunk
    th = torch.as_tensor(rng.normal(size=(P, m.n_theta)))
    g = torch.as_tensor(rng.random((P, S, d, d))) * (1 - torch.eye(d, dtype=torch.float64))
    g[:, :3] = (g[:, :3] > 0.5).double()  # hard graphs too
    if spread == "flat":
        g[:] = g[:, :1]
    spread_nats = m.log_joint(g, th).max(1).values - m.log_joint(g, th).min(1).values
    assert float(spread_nats.max()) > 100 if spread == "wide" else float(spread_nats.max()) < 1e-9
    factor = torch.as_tensor(rng.random((P, S, d, d)))
    want_v, want_g, want_th = _softmax_grads_by_autograd(m, g, th, factor)
    value, got_g = m.log_joint_softmax_grad(g, th, wrt="g", factor=factor)
    _close(value, want_v, 1e-12)
    _close(got_g, want_g, 1e-11)
    _, got_g1 = m.log_joint_softmax_grad(g, th, wrt="g")  # no factor: the gradient of Σ logsumexp
    g_ = g.clone().requires_grad_(True)
    (want_g1,) = torch.autograd.grad(torch.logsumexp(m.log_joint(g_, th), 1).sum(), g_)
    _close(got_g1, want_g1.sum(1), 1e-11)
    value, got_th = m.log_joint_softmax_grad(g, th, wrt="theta")
    assert got_th.shape == (P, m.n_theta)
    _close(value, want_v, 1e-12)
    _close(got_th, want_th, 1e-11)
    with pytest.raises(ValueError, match="wrt"):
        m.log_joint_softmax_grad(g, th, wrt="x")
    bad = th.clone()
    bad[0] = float("nan")  # a diverged particle: NaN in its gradient, the others untouched
    _, got_nan = m.log_joint_softmax_grad(g, bad, wrt="theta")
    assert torch.isnan(got_nan[0]).all() and torch.equal(got_nan[1:], got_th[1:])
    with pytest.raises(ValueError, match="factor"):
        m.log_joint_softmax_grad(g, th, wrt="theta", factor=factor)


@pytest.mark.parametrize("model", ["linear", "mlp"])
@pytest.mark.parametrize("dtype,rtol", [(torch.float64, 1e-10), (torch.float32, 1e-4)])
def test_joint_estimators_closed_form_match_autograd(dtype, rtol, model):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 5))
    m = td.make_model(model, x=x, dtype=dtype, hidden=3)
    z = 0.5 * torch.randn(4, 5, 5, 2, generator=torch.Generator().manual_seed(0), dtype=dtype)
    th = m.init_theta(4, torch.Generator().manual_seed(1))
    # Θ gradient: closed form vs autograd, same hard draws
    a = grad_theta_closed_form(z, th, m, alpha=1.5, n_samples=32, generator=torch.Generator().manual_seed(5))
    b = grad_theta(z, th, m.log_joint, alpha=1.5, n_samples=32, generator=torch.Generator().manual_seed(5))
    _close(a, b, rtol)
    # Z gradient (Gumbel): log f with softmax_grad vs a plain callable
    fused = _JointLogF(m, th)
    assert fused.softmax_grad is not None

    def plain(g, *, hard):
        return m.log_joint(g, th)

    est = GumbelReparam(tau=0.8)
    ga = est.grad_z(z, fused, alpha=1.5, n_samples=32, generator=torch.Generator().manual_seed(6))
    gb = est.grad_z(z, plain, alpha=1.5, n_samples=32, generator=torch.Generator().manual_seed(6))
    _close(ga, gb, rtol)
    assert float(ga.abs().max()) > 0


def test_joint_log_f_without_closed_form_falls_back():
    class OnlyLogJoint:  # a joint model that offers no log_joint_softmax_grad
        def __init__(self, model):
            self.log_joint = model.log_joint

    m = td.MLPGaussian(x=np.random.default_rng(0).normal(size=(20, 3)), hidden=2)
    theta = m.init_theta(2, torch.Generator().manual_seed(0))
    assert _JointLogF(OnlyLogJoint(m), theta).softmax_grad is None
    assert _JointLogF(m, theta).softmax_grad is not None


@pytest.mark.parametrize("model", ["linear", "mlp"])
def test_dibs_steps_match_plain_paths(monkeypatch, model):
    """Ten SVGD steps of JointDiBS (float64) with the optimised paths equal those with
    the plain autograd paths switched back in."""
    import torchdibs.svgd as svgd

    x = np.random.default_rng(2).normal(size=(40, 5))

    def run():
        m = td.make_model(model, x=x, dtype=torch.float64, hidden=3)
        dibs = td.JointDiBS(model=m, n_particles=4, n_grad_samples=16, n_acyclic_samples=8,
                            alpha_slope=0.5, dtype=torch.float64)
        res = dibs.fit(steps=10, seed=0, progress=False)
        return res.z, res.theta

    z1, t1 = run()
    monkeypatch.setattr(svgd, "grad_log_prior_z", grad_log_prior_z_autograd)
    monkeypatch.setattr(svgd, "grad_theta_closed_form",
                        lambda z, th, model, **kw: grad_theta(z, th, model.log_joint, **kw))
    monkeypatch.setattr(svgd._JointLogF, "softmax_grad", None)
    z2, t2 = run()
    _close(z1, z2, 1e-9)
    _close(t1, t2, 1e-9)


def test_notears_closed_form_objective_matches_autograd():
    from methods.notears import notears_objective

    rng = np.random.default_rng(0)
    d = 6
    x = rng.normal(size=(200, d))
    S = x.T @ x / 200
    w = np.abs(rng.normal(size=2 * d * d)) * 0.3
    f, h = notears_objective(torch.from_numpy(S), 0.1, 10.0, 0.5)
    value, grad = f(w)
    wt = torch.tensor(w, requires_grad=True)
    W = (wt[:d * d] - wt[d * d:]).view(d, d)
    R = torch.eye(d, dtype=torch.float64) - W
    ht = torch.trace(torch.linalg.matrix_exp(W * W)) - d
    ref = 0.5 * torch.trace(R.T @ torch.from_numpy(S) @ R) + 5.0 * ht ** 2 + 0.5 * ht + 0.1 * wt.sum()
    ref.backward()
    assert abs(value - ref.item()) < 1e-9 * abs(ref.item())
    np.testing.assert_allclose(grad, wt.grad.numpy(), rtol=1e-9, atol=1e-10)
    assert abs(h(w) - ht.item()) < 1e-12
    # the returned gradient is not overwritten by a later call
    f(w * 2)
    np.testing.assert_allclose(grad, wt.grad.numpy(), rtol=1e-9, atol=1e-10)
