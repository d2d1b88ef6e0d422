"""Amortized (AVICI) model: inference time per dataset and training throughput.

    python bench/amortized.py [--threads 1] [--reps 10] [--json bench/results/amortized.json]
                              [--figure bench/amortized_inference.png] [--device cpu|cuda]

Inference: one forward pass of the shipped model (amortized/weights/; a fresh network of the
same architecture when it is absent: the time does not depend on the weights) on a linear-
Gaussian dataset, median of ``--reps`` runs, at d in {10, 20, 50, 100} and n in {100, 1000};
also the whole plugin fit (forward pass + 100 acyclic DAG samples). The peers, timed in the
same run on the same d = 20, n = 100 data: causal-learn's GES (BIC) and PC (Fisher-z), the
fastest classical learners dagbench runs. Training: seconds per optimiser step (batch of 8
datasets drawn from config/amortized.yaml's domain at d = 20, n = 100, forward + backward +
Adam) and datasets per second. With ``--device cuda`` (a GPU machine) the same on the GPU.
"""
from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time
from pathlib import Path

from _common import ROOT, set_threads


def _median_time(fn, reps: int) -> float:
    fn()  # warm-up (allocations, lazy imports)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", default=str(ROOT / "bench" / "results" / "amortized.json"))
    ap.add_argument("--figure", default=str(ROOT / "bench" / "amortized_inference.png"))
    args = ap.parse_args()
    set_threads(args.threads)

    import numpy as np
    import torch
    import yaml

    from amortized.checkpoint import SHIPPED, load_model
    from amortized.data import Domain
    from amortized.model import AviciNet, model_input
    from amortized.objective import edge_cross_entropy, spectral_radius
    from methods.base import get
    from simulators.base import get as get_sim

    device = torch.device(args.device)
    spec = yaml.safe_load((ROOT / "config" / "amortized.yaml").read_text())["amortized"]
    if SHIPPED.exists():
        t0 = time.perf_counter()
        net, _ = load_model(SHIPPED, device=device)
        load_s = time.perf_counter() - t0
        weights = "shipped"
    else:
        net, load_s, weights = AviciNet(**spec["model"]).to(device).eval(), float("nan"), "untrained (no shipped model)"

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    rows = []
    for n in (100, 1000):
        for d in (10, 20, 50, 100):
            data = get_sim("linear")(d=d, n=n, graph="er", edges_per_node=1.0).simulate(seed=0)
            x = model_input(data.x, data.interv_mask)[None].to(device)

            def forward():
                with torch.no_grad():
                    net(x)
                sync()

            rows.append({"d": d, "n": n, "forward_s": _median_time(forward, args.reps)})
            print(rows[-1], flush=True)

    data = get_sim("linear")(d=20, n=100, graph="er", edges_per_node=1.0).simulate(seed=0)
    plugin = get("amortized")()
    plugin.threads = args.threads
    plugin_s = _median_time(lambda: plugin.fit(data, seed=0), args.reps)
    peers = {}
    for name in ("ges", "pc"):
        m = get(name)()
        m.threads = args.threads
        peers[name] = _median_time(lambda m=m: m.fit(data, seed=0), max(3, args.reps // 3))
    print({"plugin_fit_s": plugin_s, **{f"{k}_fit_s": v for k, v in peers.items()}}, flush=True)

    # training throughput: the shipped architecture from scratch, the shipped domain
    train_net = AviciNet(**spec["model"]).to(device)
    opt = torch.optim.Adam(train_net.parameters(), lr=1e-4)
    dom = Domain({**spec["domain"], "d": [20, 20], "n": [100, 100]}, seed=0)
    batches = itertools.cycle([dom.batch(s, 8) for s in range(6)])

    def step():
        b = next(batches)
        logits = train_net(b.x.to(device))
        loss = edge_cross_entropy(logits, b.g.to(device)) + 0.01 * spectral_radius(torch.sigmoid(logits)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sync()

    step_s = _median_time(step, args.reps)
    t0 = time.perf_counter()
    for s in range(10):
        dom.batch(100 + s, 8)
    sim_s = (time.perf_counter() - t0) / 10

    out = {"command": f"python bench/amortized.py --threads {args.threads} --reps {args.reps} --device {args.device}",
           "device": str(device), "threads": args.threads, "weights": weights, "load_s": load_s,
           "model": spec["model"], "parameters": sum(p.numel() for p in net.parameters()),
           "inference": rows, "plugin_fit_d20_n100_s": plugin_s,
           "peers_fit_d20_n100_s": peers,
           "train_step_batch8_d20_n100_s": step_s, "train_datasets_per_s": 8 / step_s,
           "simulate_batch8_d20_n100_s": sim_s,
           "train_datasets_per_s_with_simulation": 8 / (step_s + sim_s),
           "versions": {"torch": str(torch.__version__), "numpy": np.__version__}}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k != "inference"}, indent=2))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for n, marker in ((100, "o"), (1000, "s")):
        pts = [r for r in rows if r["n"] == n]
        ax.plot([r["d"] for r in pts], [r["forward_s"] for r in pts], marker=marker, label=f"amortized forward, n = {n}")
    for (name, t), marker in zip(peers.items(), ("^", "v")):
        ax.plot([20], [t], marker=marker, linestyle="none", label=f"{name.upper()} fit, n = 100")
    ax.plot([20], [plugin_s], marker="*", markersize=10, linestyle="none", label="amortized plugin fit, n = 100")
    ax.set(xscale="log", yscale="log", xlabel="d (variables)", ylabel="seconds (median)",
           title=f"AVICI inference, {args.threads} thread(s), {device.type}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.figure, dpi=110)


if __name__ == "__main__":
    main()
