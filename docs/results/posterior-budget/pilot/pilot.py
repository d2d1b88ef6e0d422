"""pilot: edge MAE vs exact for equal-time configs of ours."""
import time, numpy as np, sys, os, json
ROOT = __import__('pathlib').Path(__file__).resolve().parents[4]; sys.path.insert(0, str(ROOT)); sys.path.insert(0, str(ROOT / 'bench'))
import _common as C
C.set_threads(1)
from methods.base import get
from simulators.base import Dataset
from dagposterior.dags import graphs_to_codes
from evaluation.posterior_quality import exact_reference
from dagbench.graphs import is_dag
configs = json.loads(sys.argv[1]); datasets = json.loads(sys.argv[2])
for (d, n, seed) in datasets:
    x,g,W = C.linear_gaussian_data(d,n,seed=seed,edges_per_node=1.0)
    x=(x-x.mean(0))/x.std(0)
    data=Dataset(x=x,x_heldout=x[:10],g_true=g)
    ex = exact_reference(x, None, graph_prior="er", edges_per_node=2.0)
    pm = ex.edge_marginals()
    for cfg in configs:
        name = cfg.pop("method", "dibs_bge")
        m=get(name)(**cfg); cfg["method"]=name
        t=time.perf_counter(); r=m.fit(data,seed=seed); wall=time.perf_counter()-t
        gs, w = r.graphs, r.weights
        ok = np.array([is_dag(gg) for gg in gs])
        gs, w = gs[ok], w[ok]/w[ok].sum()
        q = np.einsum("k,kij->ij", w, gs.astype(float))
        off=~np.eye(d,dtype=bool)
        mae = float(np.abs(q-pm)[off].mean())
        idx = np.searchsorted(ex.codes, graphs_to_codes(gs))
        cover = float(ex.weights[np.unique(idx)].sum())
        print(json.dumps(dict(d=d,n=n,seed=seed,cfg=cfg,mae=round(mae,4),cover=round(cover,3),n_dag=int(ok.sum()),n_graphs=len(ok),fit_s=round(r.info.get("seconds",wall),1),wall=round(wall,1))), flush=True)
