"""Fixed cost of one harness job: ``python -m dagbench fit`` of the ``empty`` method on a
small dataset (process start, imports, plugin discovery, load, save), and where the
import time goes (``python -X importtime``): the heaviest top-level packages, and whether
torch, cdt or causal-learn are imported at all.

    python bench/harness_overhead.py            # 5 runs, ~15 s
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

HEAVY = ("torch", "cdt", "causallearn", "jax", "castle", "sklearn", "scipy", "pandas", "networkx",
         "matplotlib", "snakemake")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="--reps 2")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    if a.quick:
        a.reps = 2
    from simulators.base import Dataset

    tmp = Path(tempfile.mkdtemp(prefix="dagbench_overhead_"))
    x, g, _ = C.linear_gaussian_data(5, 100, seed=0)
    Dataset(x=x, x_heldout=x[:20], g_true=g).save(tmp / "data.npz")
    spec = json.dumps({"id": "empty", "method": "empty", "params": {}})
    cmd = [sys.executable, "-m", "dagbench", "--threads", "1", "fit", "--spec", spec, "--data",
           str(tmp / "data.npz"), "--seed", "0", "--out", str(tmp / "fit.json")]
    walls = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=C.ROOT, capture_output=True)
        walls.append(time.perf_counter() - t0)
    bare = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - t0)
    r = subprocess.run([sys.executable, "-X", "importtime", *cmd[1:]], cwd=C.ROOT, capture_output=True, text=True)
    cum: dict[str, int] = {}
    for line in r.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m and len(m.group(3)) <= 1:  # top-level imports only
            top = m.group(4)
            cum[top] = cum.get(top, 0) + int(m.group(2))
    present = {h: any(re.search(rf"\| +{h}(\.|$)", ln) for ln in r.stderr.splitlines()) for h in HEAVY}
    top = sorted(cum.items(), key=lambda kv: -kv[1])[:12]
    out = {"job_wall_s_median": statistics.median(walls), "job_wall_s_min": min(walls),
           "python_start_s_median": statistics.median(bare),
           "imports_total_s": sum(cum.values()) / 1e6,
           "top_imports_s": {k: v / 1e6 for k, v in top}, "heavy_imported": present}
    print(json.dumps(out, indent=1))
    if a.json:
        Path(a.json).write_text(json.dumps({"args": vars(a), "machine": C.machine(), **out}, indent=1))


if __name__ == "__main__":
    main()
