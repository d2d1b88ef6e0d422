"""Trace a DiBS-BGe fit on issue 16's d = 46 setting every 25 steps: hard edges of the
particles' graphs, true positives, SHD, the graphs' BGe log marginal likelihood, E[h] and
the gradient norm. One thread.

    python docs/results/dibs-at-size/trace.py '{"estimator": "score_node", "steps": 1500}'

The JSON sets d, seed, steps and any MarginalDiBS keyword (alpha_slope, beta_slope,
graph_prior, estimator, n_grad_samples, latent_dim, sigma_z, h_latent, ...).
"""
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
import _common as C  # noqa: E402

C.set_threads(1)
import torch  # noqa: E402
import torchdibs as td  # noqa: E402
from simulators.base import get as get_sim  # noqa: E402
kw = dict(json.loads(sys.argv[1])) if len(sys.argv) > 1 else {}
steps = kw.pop("steps", 500); seed = kw.pop("seed", 0); d = kw.pop("d", 46)
data = get_sim("linear")(graph="er", edges_per_node=1.5, d=d, n=500, n_heldout=500, standardise=True).simulate(seed=seed)
gt = torch.as_tensor(data.g_true)
model = td.make_model("bge", x=data.x, interv_mask=data.interv_mask, device=torch.device("cpu"), dtype=torch.float32)
args = dict(graph_prior="er", edges_per_node=2.0, n_particles=20, alpha_slope=2.0, h_latent=2.0)
args.update(kw)
dibs = td.MarginalDiBS(model=model, **args)
t0 = time.time()


def cb(s):
    if s.t % 25 == 0 or s.t == steps:
        g = td.latent.limit_graphs(s.z).double()
        p = td.latent.edge_probs(s.z, dibs.alpha(s.t)).double()
        shd = (g != gt).sum((1, 2)).double().mean()
        lm = model.log_marginal_hard(g[None])[0]
        print(f"t={s.t} {time.time()-t0:.0f}s edges={g.sum((1,2)).mean():.1f} soft={p.sum((1,2)).mean():.1f} shd={shd:.1f} tp={(g*gt).sum((1,2)).double().mean():.1f} logml={lm.mean():.1f} {s.last}", flush=True)


res = dibs.fit(steps=steps, seed=seed, callback=cb)
print("true edges", int(gt.sum()), "true logml", float(model.log_marginal_hard(gt.double()[None, None])[0, 0]),
      "empty logml", float(model.log_marginal_hard(torch.zeros(1, 1, d, d, dtype=torch.float64))[0, 0]))
post = dibs.posterior(res, kind="dibs+")
print("dibs+ expected edges", float((post.weights[:, None, None] * post.graphs).sum()))
