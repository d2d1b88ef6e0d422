"""Training an AVICI model on a Domain of dagbench simulators, resumable.

``train(spec, out_dir)`` is what the workflow's ``train_amortized`` rule runs (through
``python -m amortized.train``). It writes into ``out_dir``:

    checkpoint.pt    everything needed to resume (weights, optimiser, dual variable, torch
                     RNG state, step, curve so far), rewritten atomically every
                     ``checkpoint_every`` steps (a temporary file renamed over the old one:
                     a kill leaves the previous checkpoint whole);
    curve.csv        one row per validation: step, datasets seen, wall seconds, training
                     loss (mean since the last row), validation loss, AUROC, SHD at 0.5,
                     mean spectral radius, dual variable λ;
    model.pt         the final weights (``amortized.checkpoint``), written last: its presence
                     means training finished;
    curve.png        the training curve; train_info.json: wall time, throughput, versions.

Rerunning after a kill resumes from checkpoint.pt; the data of each step is a pure function
of (seed, step) (amortized/data.py) and the torch RNG state is restored, so a resumed run
continues the same trajectory. A checkpoint made with a different model, domain, seed,
batch size or learning rate is refused with the keys that differ; more ``steps`` than
before is allowed (training continues).

Optimiser: Adam with global gradient-norm clipping, linear warm-up then cosine decay to a
tenth of ``lr`` (the reference uses LAMB at a constant rate; LAMB is not in torch, and the
decay helps a run this short; ``optimiser`` in train_info.json says which ran).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from amortized.checkpoint import save_model
from amortized.data import Domain
from amortized.model import AviciNet
from amortized.objective import DualAscent, edge_cross_entropy, spectral_radius

#: defaults of the ``amortized.train`` block (config/amortized.yaml documents each)
TRAIN_DEFAULTS = {
    "steps": 2000, "batch_size": 8, "lr": 3e-4, "warmup": 200, "grad_clip": 1.0,
    "dual_lr": 1e-2, "dual_every": 50, "dual_burnin": 0.25,
    "validate_every": 200, "n_validation": 32, "checkpoint_every": 100,
}
MODEL_DEFAULTS = {
    "dim": 32, "layers": 3, "heads": 4, "widening": 4, "dropout": 0.0, "logit_bias_init": -3.0}
#: the format tag of checkpoint.pt (a model file's is amortized.checkpoint.FORMAT)
TRAINING_FORMAT = "dagbench-amortized-training/1"
#: the ``train`` keys that must match for a checkpoint to be resumed (besides model, domain
#: and seed); ``steps`` may grow
RESUME_KEYS = ("batch_size", "lr", "warmup", "grad_clip", "dual_lr", "dual_every")


class TrainError(ValueError):
    """The training spec is wrong or a checkpoint does not match it; the message names the key or file."""


def resolve_spec(spec: dict) -> dict:
    """The ``amortized`` config block with every default filled in, checked.
    Raises TrainError naming the key."""
    spec = dict(spec or {})
    unknown = set(spec) - {"name", "seed", "device", "threads", "domain", "model", "train"}
    if unknown:
        raise TrainError(f"amortized has unknown keys {sorted(unknown)} "
                         "(allowed: name, seed, device, threads, domain, model, train)")
    for block, defaults in (("model", MODEL_DEFAULTS), ("train", TRAIN_DEFAULTS)):
        given = dict(spec.get(block) or {})
        bad = set(given) - set(defaults)
        if bad:
            raise TrainError(f"amortized.{block} has unknown keys {sorted(bad)} (allowed: {', '.join(defaults)})")
        spec[block] = {**defaults, **given}
    for key, value in spec["train"].items():
        zero_ok = key in ("dual_lr", "dual_burnin")  # 0: no acyclicity term / dual steps from the start
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (value == 0 and not zero_ok):
            raise TrainError(f"amortized.train.{key} = {value!r} must be a {'non-negative' if zero_ok else 'positive'} "
                             "number")
    if spec["model"]["dim"] % spec["model"]["heads"]:
        raise TrainError(f"amortized.model.dim = {spec['model']['dim']} must be divisible by "
                         f"amortized.model.heads = {spec['model']['heads']}")
    if "domain" not in spec:
        raise TrainError("amortized.domain is missing: the training distribution (d, n, components; "
                         "see config/amortized.yaml)")
    spec.setdefault("name", "model")
    spec.setdefault("seed", 0)
    spec.setdefault("device", "auto")
    if spec["device"] not in ("auto", "cpu") and not str(spec["device"]).startswith("cuda"):
        raise TrainError(f"amortized.device = {spec['device']!r} must be auto, cpu or cuda[:k]")
    return spec


def learning_rate(step: int, steps: int, peak: float, warmup: int) -> float:
    """Linear warm-up over ``warmup`` steps to ``peak``, then cosine decay to peak / 10 at
    ``steps``. A function of the step alone, so resuming needs no scheduler state."""
    if step <= warmup:
        return peak * step / max(warmup, 1)
    frac = min(1.0, (step - warmup) / max(steps - warmup, 1))
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))


def _device(name: str) -> torch.device:
    """torchdibs.resolve_device, its error naming the config key."""
    from torchdibs import resolve_device

    try:
        return resolve_device(name)
    except RuntimeError as exc:
        raise TrainError(f"amortized.device = {name!r}: {exc} (use auto or cpu)") from None


def validate(net: AviciNet, val, device) -> dict:
    """Mean edge cross-entropy, AUROC and SHD (edges where p > 0.5) over the validation
    set (evaluation.metrics's definitions)."""
    from evaluation.metrics import auroc, shd

    net.eval()
    losses, aucs, shds = [], [], []
    with torch.no_grad():
        for b in val:
            logits = net(b.x.to(device))
            losses.append(edge_cross_entropy(logits, b.g.to(device)).item())
            p = torch.sigmoid(logits)[0].cpu().double().numpy()
            g = b.g[0].numpy().astype(np.int8)
            a = auroc(p, g)
            if math.isfinite(a):
                aucs.append(a)
            shds.append(shd((p > 0.5).astype(np.int8), g))
    net.train()
    return {"val_loss": float(np.mean(losses)), "val_auroc": float(np.mean(aucs)) if aucs else float("nan"),
            "val_shd": float(np.mean(shds))}


def _identity(spec: dict) -> dict:
    t = spec["train"]
    return {"model": spec["model"], "domain": spec["domain"], "seed": spec["seed"],
            **{k: t[k] for k in RESUME_KEYS}}


def train(spec: dict, out_dir: str | Path, *, threads: int = 1, progress: bool = True,
          stop_after: int | None = None) -> dict:
    """Train (or resume) the model the ``amortized`` block ``spec`` describes, into
    ``out_dir`` (files listed in the module docstring). ``stop_after``: return after this
    many steps of this call without writing model.pt (tests use it to stand in for a kill).
    Returns train_info (also written to train_info.json when training finishes).

    Raises TrainError for a bad spec or a checkpoint that belongs to another spec,
    DomainError (amortized.data) for a bad domain block."""
    from dagbench.io import atomic_path, atomic_write_json, atomic_write_text

    spec = resolve_spec(spec)
    tcfg = spec["train"]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(threads)
    device = _device(spec["device"])
    domain = Domain(spec["domain"], seed=spec["seed"])

    torch.manual_seed(spec["seed"])
    net = AviciNet(**spec["model"]).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=tcfg["lr"])
    steps = int(tcfg["steps"])
    burnin = tcfg["dual_burnin"]
    dual = DualAscent(tcfg["dual_lr"], int(tcfg["dual_every"]),
                      int(burnin * steps) if burnin < 1 else int(burnin))
    start, curve, wall_before = 0, [], 0.0
    resumed_losses: list[float] = []  # training losses since the last validation row, kept across a resume

    ckpt_path = out / "checkpoint.pt"
    if ckpt_path.exists():
        state = torch.load(ckpt_path, map_location=device, weights_only=False)
        if state.get("format") != TRAINING_FORMAT:
            raise TrainError(f"{ckpt_path} is not a dagbench amortized training checkpoint; remove it to start over")
        differ = sorted(k for k, v in _identity(spec).items() if state["identity"].get(k) != v)
        if differ:
            raise TrainError(f"{ckpt_path} was made with other settings (these amortized keys differ: {', '.join(differ)}); "
                             "remove that folder to train from scratch, or restore the settings to resume")
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimiser"])
        dual.load(state["dual"])
        torch.set_rng_state(state["torch_rng"])
        start, curve, wall_before = state["step"], state["curve"], state["wall_s"]
        resumed_losses = list(state.get("run_losses", []))
        if progress:
            print(f"amortized: resuming {spec['name']} at step {start} of {steps} from {ckpt_path}", flush=True)

    val = domain.validation_set(int(tcfg["n_validation"]))
    t0 = time.perf_counter()
    run_losses: list[float] = resumed_losses
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=steps, initial=start, desc=f"train {spec['name']}", unit="step",
                   dynamic_ncols=True, file=sys.stdout)

    def wall() -> float:
        return wall_before + time.perf_counter() - t0

    def save_checkpoint(step: int) -> None:
        state = {"format": TRAINING_FORMAT, "identity": _identity(spec), "model": net.state_dict(),
                 "optimiser": opt.state_dict(), "dual": dual.state(), "torch_rng": torch.get_rng_state(),
                 "step": step, "curve": curve, "wall_s": wall(), "run_losses": list(run_losses)}
        with atomic_path(ckpt_path) as tmp:
            torch.save(state, tmp)

    step = start
    for step in range(start + 1, steps + 1):
        for group in opt.param_groups:
            group["lr"] = learning_rate(step, steps, tcfg["lr"], int(tcfg["warmup"]))
        batch = domain.batch(step, int(tcfg["batch_size"]))
        logits = net(batch.x.to(device))
        loss = edge_cross_entropy(logits, batch.g.to(device))
        rho = spectral_radius(torch.sigmoid(logits)).mean()
        opt.zero_grad(set_to_none=True)
        (loss + dual.penalty(rho)).backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), tcfg["grad_clip"])
        opt.step()
        dual.update(step, rho.item())
        run_losses.append(loss.item())
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.4f}", lam=f"{dual.lam:.3g}", refresh=False)
        if step % int(tcfg["validate_every"]) == 0 or step == steps:
            row = {"step": step, "datasets": step * int(tcfg["batch_size"]), "wall_s": round(wall(), 2),
                   "train_loss": float(np.mean(run_losses)), **validate(net, val, device),
                   "rho": dual.rho_avg, "lambda": dual.lam}
            curve.append(row)
            run_losses = []
            if bar is not None:
                bar.write(f"step {step}: train loss {row['train_loss']:.4f}, validation loss {row['val_loss']:.4f}, "
                          f"AUROC {row['val_auroc']:.3f}, SHD {row['val_shd']:.1f}, λ {dual.lam:.3g}")
        if step % int(tcfg["checkpoint_every"]) == 0 or step == steps:
            save_checkpoint(step)
        if stop_after is not None and step - start >= stop_after:
            if bar is not None:
                bar.close()
            return {"stopped_at": step}
    if bar is not None:
        bar.close()

    import pandas as pd
    frame = pd.DataFrame(curve)
    atomic_write_text(out / "curve.csv", frame.to_csv(index=False))
    grew = dual.lam > 0  # the multiplier moved at all (dual_lr > 0 and a dual step after the burn-in)
    _plot_curve(frame, out / "curve.png", spec["name"],
                dual_from=dual.burnin * int(tcfg["batch_size"]) if grew else None)
    info = {"name": spec["name"], "steps": steps, "datasets_seen": steps * int(tcfg["batch_size"]),
            "wall_s": round(wall(), 1), "datasets_per_s": round(steps * int(tcfg["batch_size"]) / max(wall(), 1e-9), 2),
            "device": str(device), "threads": threads, "optimiser": "Adam, global-norm clipping, warm-up + cosine decay",
            "parameters": sum(p.numel() for p in net.parameters()),
            "final": curve[-1] if curve else {},
            "versions": {"python": sys.version.split()[0], "torch": str(torch.__version__), "numpy": str(np.__version__)},
            "spec": spec}
    atomic_write_json(out / "train_info.json", info)
    save_model(net, out / "model.pt", spec=spec, info={k: info[k] for k in ("steps", "datasets_seen", "wall_s",
                                                                            "final", "versions")})
    return info


def _plot_curve(frame, path: Path, name: str, dual_from: int | None = None) -> None:
    """Training and validation loss and validation AUROC against datasets seen (matplotlib);
    a dotted line where the acyclicity multiplier starts to grow (``dual_from``, in datasets)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from dagbench.io import atomic_path

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
    if len(frame):
        k = frame["datasets"] / 1000
        ax1.plot(k, frame["train_loss"], label="training")
        ax1.plot(k, frame["val_loss"], label="validation")
        ax2.plot(k, frame["val_auroc"], color="C2")
    for ax in (ax1, ax2):
        if dual_from is not None:
            ax.axvline(dual_from / 1000, color="grey", linestyle=":", label="acyclicity multiplier grows")
    ax1.set(xlabel="datasets seen (thousands)", ylabel="edge cross-entropy [nats / edge]", title=name)
    ax1.legend(fontsize=8)
    low = min(0.5, float(frame["val_auroc"].min()) - 0.05) if len(frame) and frame["val_auroc"].notna().any() else 0.5
    ax2.set(xlabel="datasets seen (thousands)", ylabel="validation AUROC", ylim=(low, 1.0))
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m amortized.train",
                                     description="Train an AVICI model on dagbench simulators (resumable).")
    parser.add_argument("spec", help="the amortized config block as JSON, or a path to a YAML/JSON file holding it "
                                     "(a file with a top-level 'amortized' key is read from that key)")
    parser.add_argument("--out", required=True, help="output folder (checkpoint.pt, model.pt, curve.csv ...)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if os.path.exists(args.spec):
        import yaml
        spec = yaml.safe_load(Path(args.spec).read_text())
        spec = spec.get("amortized", spec) if isinstance(spec, dict) else spec
    else:
        spec = json.loads(args.spec)
    try:
        train(spec, args.out, threads=args.threads, progress=not args.quiet)
    except ValueError as exc:
        print(f"dagbench: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
