"""Fit time with the portable kernels (dagbench/kernels.py: ATen AVX2, MKL_CBWR=AVX2) against
the CPU's native ones, on the same fits, alternating in one run (the machine is shared).

    python bench/cpu_kernels.py --reps 3 --json bench/results/cpu_kernels.json

Each fit is a real job (``python -m dagbench fit``, one thread) on a linear-Gaussian dataset
(d = 20, n = 100); the time is the record's ``fit_s`` (the method alone, no process start).
"native" sets ATEN_CPU_CAPABILITY to this CPU's best (torch.backends.cpu.get_cpu_capability)
and MKL_CBWR=AUTO, which is what a user gets by exporting them.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
METHODS = {"dibs_bge": {"steps": 300, "n_particles": 20},
           "dibs_linear": {"steps": 300, "n_particles": 20},
           "notears": {}}


def fit_seconds(data: Path, method: str, params: dict, env: dict, out: Path) -> float:
    spec = {"id": method, "method": method, "params": params, "bootstrap": 0, "timeout_s": 3600,
            "mem_mb": 0, "threads": 1}
    subprocess.run([sys.executable, "-m", "dagbench", "--threads", "1", "fit", "--spec", json.dumps(spec),
                    "--data", str(data), "--seed", "0", "--out", str(out)], check=True, cwd=ROOT,
                   env=env, capture_output=True)
    record = json.loads(out.read_text())
    assert record["status"] == "ok", record
    return record["fit_s"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    import torch

    native_isa = torch.backends.cpu.get_cpu_capability().lower()
    base = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "MKL_CBWR")}
    envs = {"portable": base, "native": {**base, "ATEN_CPU_CAPABILITY": native_isa, "MKL_CBWR": "AUTO"}}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.npz"
        spec = {"id": "lin", "simulator": "linear", "params": {"d": 20, "n": 100, "n_heldout": 20,
                                                                "edges_per_node": 1.0}}
        subprocess.run([sys.executable, "-m", "dagbench", "simulate", "--spec", json.dumps(spec), "--seed", "0",
                        "--out", str(data)], check=True, cwd=ROOT, capture_output=True)
        times = {m: {k: [] for k in envs} for m in METHODS}
        for rep in range(args.reps):
            for method, params in METHODS.items():
                for kind, env in envs.items():
                    times[method][kind].append(fit_seconds(data, method, params, env, Path(tmp) / "fit.json"))
    rows = {m: {"portable_s": statistics.median(t["portable"]), "native_s": statistics.median(t["native"]),
                "ratio": statistics.median(t["portable"]) / statistics.median(t["native"]), "runs": t}
            for m, t in times.items()}
    result = {"native_isa": native_isa, "reps": args.reps, "torch": torch.__version__, "methods": rows,
              "cpu": next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")}
    for m, r in rows.items():
        print(f"{m}: portable {r['portable_s']:.2f} s, native ({native_isa}) {r['native_s']:.2f} s, "
              f"ratio {r['ratio']:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
