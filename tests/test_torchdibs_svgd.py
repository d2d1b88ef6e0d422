"""torchdibs: the SVGD step, kernel, optimisers and reproducibility."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import torchdibs as td
from torchdibs.svgd import Adam, RMSProp, clip_per_particle, rbf_kernel, svgd_direction

torch.set_num_threads(1)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _data(n=30, d=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    x[:, 1] += 2 * x[:, 0]
    x[:, 3] -= x[:, 2]
    return x


def _rmsprop_by_hand(x, grads, lr, decay=0.9, eps=1e-8):
    v = torch.zeros_like(x)
    for g in grads:
        v = decay * v + (1 - decay) * g * g
        x = x + lr * g / torch.sqrt(v + eps)
    return x


@pytest.mark.parametrize("joint", [False, True])
def test_single_particle_svgd_step_is_an_rmsprop_ascent_step(joint):
    x = _data()
    if joint:
        dibs = td.JointDiBS(model=td.LinearGaussian(x=x), n_particles=1, lr=0.01)
    else:
        dibs = td.MarginalDiBS(model=td.BGe(x=x), n_particles=1, lr=0.01)
    state = dibs.init_state(_gen(0))
    state.t = 3  # α, β > 0
    z0, th0 = state.z.clone(), None if state.theta is None else state.theta.clone()
    grads_z, grads_t = [], []
    for k in range(2):  # two steps: also checks the running average of squared gradients
        gz, gt, _ = dibs.grad_log_posterior(state.z, state.theta, state.t, _gen(10 + k))
        grads_z.append(gz)
        grads_t.append(gt)
        state = dibs.step(state, _gen(10 + k))  # same randomness as the gradient above
    assert torch.allclose(state.z, _rmsprop_by_hand(z0, grads_z, 0.01), rtol=1e-5, atol=1e-6)
    assert not torch.allclose(state.z, z0)
    if joint:
        assert torch.allclose(state.theta, _rmsprop_by_hand(th0, grads_t, 0.01), rtol=1e-5, atol=1e-6)


def test_svgd_direction_matches_autograd_of_the_kernel():
    P, D, h = 4, 6, 3.0
    x = torch.randn(P, D, generator=_gen(1), dtype=torch.float64)
    grad = torch.randn(P, D, generator=_gen(2), dtype=torch.float64)
    k = rbf_kernel(x, h)
    phi = svgd_direction(x, grad, k, k, h)

    def kern(a, b):
        return torch.exp(-((a - b) ** 2).sum() / h)

    want = torch.zeros_like(x)
    for i in range(P):
        for j in range(P):
            xj = x[j].clone().requires_grad_(True)
            kv = kern(xj, x[i])
            (dk,) = torch.autograd.grad(kv, xj)
            want[i] += kv.detach() * grad[j] + dk
    assert torch.allclose(phi, want / P)
    # kernel values
    assert k[0, 1].item() == pytest.approx(torch.exp(-((x[0] - x[1]) ** 2).sum() / h).item())
    assert torch.allclose(k.diagonal(), torch.ones(P, dtype=torch.float64))


def test_repulsion_pushes_identical_gradient_particles_apart():
    x = torch.tensor([[0.0, 0.0], [0.1, 0.0]], dtype=torch.float64)
    grad = torch.zeros_like(x)
    k = rbf_kernel(x, 1.0)
    phi = svgd_direction(x, grad, k, k, 1.0)
    assert phi[0, 0] < 0 < phi[1, 0]


def test_adam_and_clipping():
    x = torch.zeros(3)
    opt = Adam(lr=0.1)
    x1 = opt.ascend(x, torch.tensor([1.0, -2.0, 0.0]))
    assert torch.allclose(x1, torch.tensor([0.1, -0.1, 0.0]), atol=1e-6)  # first Adam step: lr·sign
    g = torch.tensor([[3.0, 4.0], [0.3, 0.4]])
    c = clip_per_particle(g, 1.0)
    assert torch.allclose(c[0], torch.tensor([0.6, 0.8])) and torch.allclose(c[1], g[1])
    assert torch.equal(clip_per_particle(g, 0.0), g)
    r = RMSProp(lr=0.1)
    assert torch.allclose(r.ascend(torch.zeros(1), torch.tensor([2.0])),
                          torch.tensor([0.1 * 2.0 / (0.1 * 4.0 + 1e-8) ** 0.5]))
    # ε sits inside the root: visible for tiny directions (outside it, the step would be ~3x larger)
    r = RMSProp(lr=1.0)
    step = r.ascend(torch.zeros(1, dtype=torch.float64), torch.tensor([1e-4], dtype=torch.float64))
    assert step.item() == pytest.approx(1e-4 / (0.1 * 1e-8 + 1e-8) ** 0.5, rel=1e-9)


def _fit(seed, model="bge", **kw):
    return td.fit_dibs(_data(), model=model, steps=15, n_particles=4, seed=seed, progress=False,
                       n_grad_samples=16, n_acyclic_samples=4, **kw)


@pytest.mark.parametrize("model", ["bge", "linear", "mlp"])
def test_one_seed_gives_a_reproducible_run(model):
    a, b, c = _fit(0, model), _fit(0, model), _fit(1, model)
    assert np.array_equal(a.graphs, b.graphs) and np.array_equal(a.weights, b.weights)
    if a.theta is not None:
        assert np.array_equal(a.theta, b.theta)
        assert not np.array_equal(a.theta, c.theta)


def test_float64_and_posterior_kinds():
    post = _fit(0, dtype="float64", posterior="dibs+")
    assert post.kind == "dibs+" and abs(post.weights.sum() - 1) < 1e-12
    assert post.info["dtype"] == "float64"
    emp = _fit(0, dtype="float64")
    # empirical weights are counts over merged identical graphs
    assert np.allclose(emp.weights * 4, np.round(emp.weights * 4))
    assert len({g.tobytes() for g in emp.graphs}) == len(emp.graphs)
