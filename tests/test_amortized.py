"""The amortized (AVICI) package: network shapes and symmetries, objective, training that
learns, checkpoints and resume after a kill, acyclic sampling, the shipped model."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from amortized.checkpoint import SHIPPED, CheckpointError, load_model, save_model
from amortized.data import Domain, DomainError
from amortized.model import AviciNet, model_input
from amortized.objective import edge_cross_entropy, spectral_radius
from amortized.sampling import acyclic_samples
from amortized.train import TrainError, train
from evaluation.metrics import auroc, is_acyclic

ROOT = Path(__file__).resolve().parent.parent

TINY_DOMAIN = {"d": [4, 6], "n": [30, 40],
               "components": [{"simulator": "linear", "params": {"graph": "er", "edges_per_node": 1.0}}]}


def tiny_spec(**train):
    return {"name": "tiny", "seed": 1, "device": "cpu", "domain": TINY_DOMAIN,
            "model": {"dim": 16, "layers": 1, "heads": 2, "widening": 2},
            "train": {"steps": 120, "batch_size": 8, "lr": 3e-3, "validate_every": 40, "n_validation": 8,
                      "checkpoint_every": 10, "dual_burnin": 60, **train}}


def test_shapes_and_no_self_loops():
    net = AviciNet(dim=16, layers=2, heads=2)
    logits = net(torch.randn(3, 30, 6, 2))
    assert logits.shape == (3, 6, 6)
    assert torch.isneginf(torch.diagonal(logits, dim1=1, dim2=2)).all()
    off = ~torch.eye(6, dtype=torch.bool)
    assert torch.isfinite(logits[:, off]).all()
    with pytest.raises(ValueError, match=r"\[B, n, d, 2\]"):
        net(torch.randn(30, 6, 2))


def test_permuting_variables_permutes_the_output_and_rows_do_not_matter():
    torch.manual_seed(0)
    net = AviciNet(dim=16, layers=2, heads=2).eval()
    x = torch.randn(2, 40, 7, 2)
    perm = torch.randperm(7)
    rows = torch.randperm(40)
    with torch.no_grad():
        out = net(x)
        out_perm = net(x[:, :, perm])
        out_rows = net(x[:, rows])
    # logits'[a, b] of the permuted input is logits[perm[a], perm[b]]
    torch.testing.assert_close(out_perm, out[:, perm][:, :, perm], rtol=0, atol=1e-5)
    torch.testing.assert_close(out_rows, out, rtol=0, atol=1e-5)


def test_model_input_standardises_and_carries_the_interventions():
    x = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]])
    mask = np.array([[0, 1], [0, 0], [0, 0]], dtype=bool)
    z = model_input(x, mask)
    assert z.shape == (3, 2, 2)
    torch.testing.assert_close(z[:, 0, 0], torch.tensor([-1.2247449, 0.0, 1.2247449]))
    assert (z[:, 1, 0] == 0).all()  # a constant column becomes zeros, not NaN
    assert z[0, 1, 1] == 1 and z[..., 1].sum() == 1


def test_spectral_radius_is_zero_on_dags_and_known_on_cycles():
    dag = torch.tensor([[[0.0, 0.9, 0.5], [0, 0, 0.7], [0, 0, 0]]])
    assert spectral_radius(dag, iterations=30).item() == pytest.approx(0.0, abs=1e-6)
    cycle = torch.tensor([[[0.0, 0.5, 0.0], [0, 0, 0.5], [0.5, 0, 0]]])  # rho = (0.5^3)^(1/3)
    assert spectral_radius(cycle, iterations=30).item() == pytest.approx(0.5, rel=1e-4)
    # a dense non-negative matrix (aperiodic): numpy's eigenvalues, and the derivative of
    # the Perron root by central differences
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 1, (5, 5))
    np.fill_diagonal(a, 0)
    p = torch.tensor(a[None], requires_grad=True)
    rho = spectral_radius(p, iterations=100)
    rho.sum().backward()
    assert rho.item() == pytest.approx(max(abs(np.linalg.eigvals(a))), rel=1e-6)
    e = np.zeros((5, 5))
    e[1, 3] = 1e-6
    numeric = (max(abs(np.linalg.eigvals(a + e))) - max(abs(np.linalg.eigvals(a - e)))) / 2e-6
    assert p.grad[0, 1, 3].item() == pytest.approx(numeric, rel=1e-4)


def test_edge_cross_entropy_ignores_the_diagonal():
    logits = torch.zeros(1, 3, 3)
    logits[0].fill_diagonal_(float("-inf"))
    g = torch.zeros(1, 3, 3)
    assert edge_cross_entropy(logits, g).item() == pytest.approx(np.log(2))


def test_acyclic_samples_drop_the_least_probable_edge_of_a_cycle():
    # a 3-cycle 0 -> 1 -> 2 -> 0: 2 -> 0 (the least probable) survives only when the
    # draw lacks 0 -> 1 or 1 -> 2: 0.6 * (1 - 0.9 * 0.8) = 0.168
    p = np.array([[0, 0.9, 0], [0, 0, 0.8], [0.6, 0, 0]])
    graphs, dropped = acyclic_samples(p, 20000, np.random.default_rng(0))
    assert is_acyclic(graphs).all()
    m = graphs.mean(0)
    assert m[0, 1] == pytest.approx(0.9, abs=0.01) and m[1, 2] == pytest.approx(0.8, abs=0.01)
    assert m[2, 0] == pytest.approx(0.168, abs=0.01)
    assert dropped == pytest.approx(0.6 * 0.72 / (0.9 + 0.8 + 0.6), abs=0.01)
    # a 2-cycle at d = 30 among many edges: every sample is still a DAG
    rng = np.random.default_rng(1)
    graphs, _ = acyclic_samples(rng.random((30, 30)) * 0.3, 50, rng)
    assert is_acyclic(graphs).all()


def test_domain_errors_name_the_key():
    with pytest.raises(DomainError, match=r"components\[0\]\.simulator"):
        Domain({**TINY_DOMAIN, "components": [{"simulator": "no_such_sim"}]})
    with pytest.raises(DomainError, match=r"components\[0\]\.params sets \['d'\]"):
        Domain({**TINY_DOMAIN, "components": [{"simulator": "linear", "params": {"d": 5}}]})
    with pytest.raises(DomainError, match="noise"):
        Domain({**TINY_DOMAIN, "components": [{"simulator": "linear", "params": {"noise": ["gaussian", "purple"][1:]}}]})
    with pytest.raises(DomainError, match=r"amortized\.domain\.n"):
        Domain({**TINY_DOMAIN, "n": [40, 30]})


def test_batches_are_a_function_of_seed_and_step():
    dom = Domain(TINY_DOMAIN, seed=3)
    a, b = dom.batch(7, 4), dom.batch(7, 4)
    torch.testing.assert_close(a.x, b.x, rtol=0, atol=0)
    assert not torch.equal(dom.batch(8, 4).g, a.g) or dom.batch(8, 4).x.shape != a.x.shape


def _val_loss(net, val):
    with torch.no_grad():
        return float(np.mean([edge_cross_entropy(net(b.x), b.g).item() for b in val]))


def test_tiny_training_measurably_improves_the_loss(tmp_path):
    spec = tiny_spec()
    val = Domain(TINY_DOMAIN, seed=99).validation_set(32)  # datasets the training never saw
    torch.manual_seed(spec["seed"])
    before = _val_loss(AviciNet(**spec["model"]).eval(), val)   # the initial network train() starts from
    info = train(spec, tmp_path, threads=1, progress=False)
    net, meta = load_model(tmp_path / "model.pt")
    after = _val_loss(net, val)
    assert after < 0.85 * before, (before, after)
    assert meta["info"]["steps"] == 120 and info["datasets_seen"] == 960
    assert (tmp_path / "curve.png").stat().st_size > 1000
    curve = (tmp_path / "curve.csv").read_text().splitlines()
    assert len(curve) == 1 + 3 and curve[0].startswith("step,datasets,wall_s,train_loss,val_loss,val_auroc")


def test_checkpoint_round_trip_and_refusals(tmp_path):
    net = AviciNet(dim=16, layers=1, heads=2).eval()
    save_model(net, tmp_path / "m.pt", spec={"name": "x"}, info={"steps": 0})
    back, meta = load_model(tmp_path / "m.pt")
    x = torch.randn(1, 20, 5, 2)
    with torch.no_grad():
        torch.testing.assert_close(back(x), net(x), rtol=0, atol=0)
    assert meta["spec"] == {"name": "x"}
    (tmp_path / "bad.pt").write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match="bad.pt"):
        load_model(tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_model(tmp_path / "missing.pt")


def test_a_checkpoint_of_other_settings_is_refused(tmp_path):
    train(tiny_spec(), tmp_path, threads=1, progress=False, stop_after=10)
    with pytest.raises(TrainError, match="keys differ: seed"):
        train({**tiny_spec(), "seed": 2}, tmp_path, threads=1, progress=False)
    with pytest.raises(CheckpointError, match="model.pt"):  # the training checkpoint is not a model file
        load_model(tmp_path / "checkpoint.pt")


def test_resume_after_a_kill_continues_the_same_run(tmp_path):
    """A training process killed with SIGKILL mid-run, rerun with the same command,
    ends with the weights an unbroken run has."""
    spec = tiny_spec(steps=400, checkpoint_every=20, validate_every=400)
    unbroken = tmp_path / "unbroken"
    train(spec, unbroken, threads=1, progress=False)

    import json
    killed = tmp_path / "killed"
    cmd = [sys.executable, "-m", "amortized.train", json.dumps(spec), "--out", str(killed), "--threads", "1",
           "--quiet"]
    proc = subprocess.Popen(cmd, cwd=ROOT)
    deadline = time.time() + 120
    while not (killed / "checkpoint.pt").exists() and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (killed / "checkpoint.pt").exists() and not (killed / "model.pt").exists()
    step_at_kill = torch.load(killed / "checkpoint.pt", weights_only=False)["step"]
    assert 0 < step_at_kill < 400
    done = subprocess.run(cmd[:-1], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"resuming tiny at step {step_at_kill} of 400" in done.stdout
    # the curve too, including the training loss averaged across the kill
    assert (killed / "curve.csv").read_text().split(",")[:8] == (unbroken / "curve.csv").read_text().split(",")[:8]
    a, _ = load_model(unbroken / "model.pt")
    b, _ = load_model(killed / "model.pt")
    for (name, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        torch.testing.assert_close(va, vb, rtol=0, atol=1e-6, msg=name)


@pytest.mark.skipif(not SHIPPED.exists(), reason="the shipped model is not there")
def test_shipped_model_beats_chance_on_in_distribution_data():
    """On data like its training data the shipped model ranks edges well above chance (mean
    AUROC 0.70 over these 8 datasets; an untrained network gives ~0.5) and orients them:
    the transposed answer scores below chance (0.43)."""
    from methods.base import get
    from simulators.base import get as get_sim

    method = get("amortized")()
    aucs, transposed = [], []
    for seed in range(8):
        data = get_sim("linear")(d=12, n=150, graph="er", edges_per_node=1.0, noise_scale=0.2,
                                 noise_scale_high=2.0).simulate(seed=seed)
        post = method.fit(data, seed=0)
        assert is_acyclic(post.graphs).all()
        aucs.append(auroc(post.marginals(), data.g_true))
        transposed.append(auroc(post.marginals().T, data.g_true))
    assert np.mean(aucs) > 0.65, aucs
    assert np.mean(transposed) < 0.5, transposed


def test_train_amortized_is_a_workflow_target(tmp_path):
    """`snakemake train_amortized` with an amortized block trains and writes the model,
    curve and figure, and says nothing of a failure; a wrong key in the block stops the
    run naming it."""
    from workflow_helpers import run_snakemake

    base = {"seeds": 1, "methods": [{"method": "empty"}],
            "settings": [{"id": "s", "simulator": "linear", "params": {"d": 6, "n": 20}}]}
    config = {**base, "amortized": tiny_spec(steps=20, validate_every=10, n_validation=4)}
    proc = run_snakemake(tmp_path, config, "train_amortized")
    folder = tmp_path / "results" / "amortized" / "tiny"
    for name in ("model.pt", "curve.csv", "curve.png", "train_info.json", "checkpoint.pt"):
        assert (folder / name).is_file(), (name, proc.stderr[-3000:])
    load_model(folder / "model.pt")
    assert "the run stopped" not in proc.stdout + proc.stderr
    (tmp_path / "bad").mkdir()
    bad = {**base, "amortized": {**tiny_spec(), "train": {"stpes": 5}}}
    proc = run_snakemake(tmp_path / "bad", bad, "train_amortized", "-n", check=False)
    assert proc.returncode != 0
    assert "amortized.train has unknown keys ['stpes']" in proc.stderr + proc.stdout
    bad = {**base, "amortized": {**tiny_spec(), "model": {"dim": 16, "heads": 3}}}
    proc = run_snakemake(tmp_path / "bad", bad, "train_amortized", "-n", check=False)
    assert "amortized.model.dim = 16 must be divisible by amortized.model.heads = 3" in proc.stderr + proc.stdout
