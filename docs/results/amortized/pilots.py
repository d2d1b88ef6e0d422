"""600-step pilots of the network's head and pooling at d = 5-8 (linear-Gaussian, ER, n 50-100).

    python docs/results/amortized/pilots.py VARIANT [LR] [DIM] [LAYERS]

VARIANT: dot (amortized/model.py as shipped: logit = u.v / sqrt(dim) + b), cosine (the
reference code's head: unit-norm u, v times a learned temperature exp(t), t = 0 at start),
mean (dot, but mean- instead of max-pooling over observations), mlpembed (dot, with a
two-layer MLP instead of one linear layer embedding each cell). Writes
docs/results/amortized/pilots/<variant>-lr<LR>-d<DIM>l<LAYERS>.csv (the training curve);
validation is 32 fixed datasets of the same domain.
"""
import sys
import time
from pathlib import Path

import torch
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

import amortized.model as M  # noqa: E402
from amortized.train import train  # noqa: E402

variant = sys.argv[1]
lr = float(sys.argv[2]) if len(sys.argv) > 2 else 1e-3
dim = int(sys.argv[3]) if len(sys.argv) > 3 else 32
layers = int(sys.argv[4]) if len(sys.argv) > 4 else 2

_init, _embed = M.AviciNet.__init__, M.AviciNet.embed_variables


def __init__(self, **kw):
    _init(self, **kw)
    if variant == "cosine":
        self.log_temp = nn.Parameter(torch.zeros(()))
    if variant == "mlpembed":
        self.embed = nn.Sequential(nn.Linear(2, self.kwargs["dim"]), nn.ReLU(),
                                   nn.Linear(self.kwargs["dim"], self.kwargs["dim"]))


def forward(self, x):
    if variant == "mean":
        z = self.embed(x)
        for block in self.blocks:
            z = block(z).transpose(1, 2)
        e = self.norm_out(z).mean(dim=1)
    else:
        e = self.embed_variables(x)
    u, v = self.u(e), self.v(e)
    if variant == "cosine":
        u, v = nn.functional.normalize(u, dim=-1), nn.functional.normalize(v, dim=-1)
        logits = torch.einsum("bik,bjk->bij", u, v) * self.log_temp.exp() + self.logit_bias
    else:
        logits = torch.einsum("bik,bjk->bij", u, v) / u.shape[-1] ** 0.5 + self.logit_bias
    return logits.masked_fill(torch.eye(logits.shape[-1], dtype=torch.bool), float("-inf"))


M.AviciNet.__init__, M.AviciNet.forward = __init__, forward

domain = {"d": [5, 8], "n": [50, 100], "components": [
    {"simulator": "linear", "params": {"graph": "er", "edges_per_node": 1.0, "noise_scale": 0.2,
                                       "noise_scale_high": 2.0}}]}
name = f"{variant}-lr{lr:g}-d{dim}l{layers}"
spec = {"name": name, "seed": 0, "device": "cpu", "domain": domain, "model": {"dim": dim, "layers": layers},
        "train": {"steps": 600, "batch_size": 8, "lr": lr, "validate_every": 100, "n_validation": 32,
                  "checkpoint_every": 10_000, "dual_lr": 0.0}}
out = Path("/tmp") / f"amortized-pilot-{name}"
t0 = time.perf_counter()
train(spec, out, threads=2, progress=False)
(HERE / "pilots").mkdir(exist_ok=True)
curve = (out / "curve.csv").read_text()
(HERE / "pilots" / f"{name}.csv").write_text(curve)
print(name, f"{time.perf_counter() - t0:.0f} s")
print(curve)
