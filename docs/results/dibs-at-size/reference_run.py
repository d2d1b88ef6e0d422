"""dibs-lib's MarginalDiBS (the ``dibs_reference`` plugin) on issue 16's d = 46 data: 500
steps, 20 particles, DiBS+; the JSON overrides plugin parameters. Needs the reference extra
(pip install -e '.[reference]'); ~35-50 min on one core.

    python docs/results/dibs-at-size/reference_run.py '{"alpha_slope": 2.0, "h_latent": 2.0}'   # our settings
    python docs/results/dibs-at-size/reference_run.py '{}'                                       # the library's
"""
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
import _common as C  # noqa: E402

C.set_threads(1)
import numpy as np  # noqa: E402
from simulators.base import get as get_sim  # noqa: E402
from methods.base import get  # noqa: E402
kw = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
d = kw.pop("d", 46); seed = kw.pop("seed", 0)
data = get_sim("linear")(graph="er", edges_per_node=1.5, d=d, n=500, n_heldout=500, standardise=True).simulate(seed=seed)
p = dict(steps=500, n_particles=20, posterior="dibs+"); p.update(kw)
m = get("dibs_reference")(**p)
t = time.time(); post = m.fit(data, seed=seed)
gt = data.g_true
E = (post.weights[:, None, None] * post.graphs).sum(0)
print("params", p, "time", time.time() - t)
print("expected edges", E.sum(), "E-SHD", (post.weights * np.abs(post.graphs - gt).sum((1, 2))).sum(), "true", gt.sum())
for gi, w in zip(post.graphs, post.weights):
    print("graph edges", gi.sum(), "tp", (gi * gt).sum(), "w", round(float(w), 3))
