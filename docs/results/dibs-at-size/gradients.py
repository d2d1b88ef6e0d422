"""Gradient balance of DiBS-BGe on issue 16's d = 46 setting after T steps (default 25):
the score estimator's per-edge signal on true edges vs non-edges, its effective sample
size, and the norms of the likelihood and prior gradients.

    python docs/results/dibs-at-size/gradients.py 25
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
import _common as C  # noqa: E402

C.set_threads(1)
import torch, torchdibs as td
from simulators.base import get as get_sim
from torchdibs.latent import edge_probs, sample_graphs
d = 46
data = get_sim("linear")(graph="er", edges_per_node=1.5, d=d, n=500, n_heldout=500, standardise=True).simulate(seed=0)
gt = torch.as_tensor(data.g_true).double()
model = td.make_model("bge", x=data.x, interv_mask=None, device=torch.device("cpu"), dtype=torch.float32)
dibs = td.MarginalDiBS(model=model, n_particles=20)
gen = dibs.make_generator(0)
st = dibs.init_state(gen)
for t in range(int(sys.argv[1]) if len(sys.argv) > 1 else 25):
    st = dibs.step(st, gen)
z = st.z; a = dibs.alpha(st.t)
p = edge_probs(z, a).double()
for S in (128, 1024):
    g = sample_graphs(p, S, gen).double()  # [P,S,d,d]
    lf = model.log_marginal_hard(g)  # [P,S]
    w = torch.softmax(lf, 1)
    es = (w[..., None, None] * (g - p[:, None])).sum(1)  # [P,d,d] d/ds up to alpha
    off = ~torch.eye(d, dtype=bool)
    tru = es[:, gt.bool()]; non = es[:, (~gt.bool()) & off]
    print(f"S={S} t={st.t} alpha={a} ess={(1/(w**2).sum(1)).mean():.2f} lf spread={(lf.max(1).values-lf.min(1).values).mean():.0f}",
          f"edge-grad true mean {tru.mean():.4f} nonedge mean {non.mean():.4f} sd {es.std():.4f}", flush=True)
    # the prior's pull in edge-score space for comparison
# gradient magnitudes in Z space
gl = dibs.estimator.grad_z(z, dibs.log_f(None), alpha=a, n_samples=128, generator=gen)
gp, h = td.priors.grad_log_prior_z(z, alpha=a, beta=dibs.beta(st.t), tau=1.0, sigma_z=dibs.sigma_z, graph_prior=dibs.graph_prior, n_acyclic_samples=32, generator=gen)
print("norm lik", gl.norm().item(), "norm prior total", gp.norm().item(), "z-gauss part", (z / dibs.sigma_z**2).norm().item())
