"""Issue 16's run through the dibs_bge plugin (d = 46, 500 steps, 20 particles, DiBS+) with
the paper's estimator and with the default 'auto' (score_node at this d): expected edges,
E-SHD, AUROC.

    python docs/results/dibs-at-size/issue_run.py      # ~4 min
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
import _common as C  # noqa: E402

C.set_threads(1)
from simulators.base import get as get_sim  # noqa: E402
from methods.base import get  # noqa: E402
from evaluation.metrics import auroc, edge_marginals, expected_shd  # noqa: E402
data = get_sim("linear")(graph="er", edges_per_node=1.5, d=46, n=500, n_heldout=500, standardise=True).simulate(seed=0)
for est in ("score", "auto"):
    t = time.time()
    post = get("dibs_bge")(steps=500, n_particles=20, posterior="dibs+", estimator=est).fit(data, seed=0)
    em = edge_marginals(post.graphs, post.weights)
    print(est, post.info["estimator"], "expected edges", round(float(em.sum()), 1), "E-SHD", expected_shd(post.graphs, post.weights, data.g_true)[0],
          "AUROC", round(auroc(em, data.g_true), 3), "s", round(time.time() - t), flush=True)
