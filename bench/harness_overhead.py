"""Fixed cost of the harness: per job, inside a Snakemake run, and planning a large study.

(a) ``direct``: one ``python -m dagbench simulate``, ``fit`` (the ``empty`` method) and
    ``evaluate`` on a d = 5 dataset (process start, imports, plugin lookup, load, save),
    each timed ``--reps`` times, interleaved with two peers: a bare ``python -c pass``
    and ``python -c "import numpy"``; once as the environment is and once with Python's
    bytecode cache in a temporary folder (where PYTHONDONTWRITEBYTECODE=1 is set, every
    job compiles dagbench's modules). Also where the import time of each step goes
    (``python -X importtime``) and whether torch, cdt, causal-learn, scipy, sklearn ...
    are imported at all.
(b) ``snakemake``: ``snakemake --cores 2 aggregate`` on a fresh folder for a config of one
    d = 5 setting, N seeds and the ``empty`` method (N simulate + N fit + N evaluate jobs
    and the score table), at two sizes; the cost per job is the slope between them
    (wall and CPU), so Snakemake's start-up and the score table drop out. Peer: a bare
    Snakefile of the same shape whose jobs run ``touch``.
(c) ``planning``: ``snakemake all -n --quiet`` (the plan: the DAG of jobs) and
    ``snakemake all -n`` (the plan and every job listed) of a generated config with
    15,254 jobs (10 settings x 25 seeds x 30 variants of ``empty`` and ``random_dag``:
    250 simulations, 7,500 fits, 7,500 evaluations, 4 table and figure jobs), wall and
    CPU; peers: ``snakemake --version`` (the start-up alone) and the bare Snakefile of
    the same shape with the same flags.

Timings on a shared machine are noisy: every figure is the median and the min of the
reps, and each part times its peers in the same run, interleaved.

    python bench/harness_overhead.py --json bench/results/harness_overhead.json  # all, ~8 min
    python bench/harness_overhead.py --quick              # fewer reps and smaller runs, ~2 min
    python bench/harness_overhead.py --parts direct --json bench/results/harness_overhead.json
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# the jobs import this tree's packages whatever folder they run in (an editable install
# may point elsewhere)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)

HEAVY = ("torch", "cdt", "causallearn", "jax", "castle", "sklearn", "scipy", "pandas", "networkx",
         "matplotlib", "snakemake")
PARTS = ("direct", "snakemake", "planning")
SETTING = {"id": "lin-d5", "simulator": "linear",
           "params": {"graph": "er", "edges_per_node": 1.0, "d": 5, "n": 50, "n_heldout": 100}}


def timed(cmd: list[str], **kw) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and its children) of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:6])} ... failed ({proc.returncode}):\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def stats(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "n": len(values)}


# ------------------------------------------------------------------------------ (a) direct

def part_direct(reps: int, tmp: Path, *, bytecode_cache: bool = False) -> dict:
    """Wall of each per-job command and of the peers, interleaved, ``reps`` times each.

    ``bytecode_cache``: with Python's bytecode cache in a folder of its own
    (PYTHONPYCACHEPREFIX, PYTHONDONTWRITEBYTECODE unset, one warm-up run), as an
    ordinary install has it; without, as the environment is (where
    PYTHONDONTWRITEBYTECODE=1, every job compiles dagbench's modules from source)."""
    env = dict(os.environ)
    if bytecode_cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    from dagbench.config import load_plan

    plan = load_plan({"seeds": 1, "settings": [SETTING], "methods": [{"method": "empty"}]})
    import dataclasses
    setting = json.dumps(dataclasses.asdict(plan.settings["lin-d5"]))
    method = json.dumps(dataclasses.asdict(plan.methods["empty"]))
    py = [sys.executable]
    folder = tmp / f"direct{int(bytecode_cache)}"
    data, fit, bench_file = folder / "data.npz", folder / "fit.json", folder / "fit.tsv"
    cmds = {
        "python -c pass": py + ["-c", "pass"],
        "python -c 'import numpy'": py + ["-c", "import numpy"],
        "simulate": py + ["-m", "dagbench", "--threads", "1", "simulate", "--spec", setting, "--seed", "0",
                          "--out", str(data)],
        "fit": py + ["-m", "dagbench", "--threads", "1", "fit", "--spec", method, "--data", str(data),
                     "--seed", "0", "--out", str(fit)],
        "evaluate": py + ["-m", "dagbench", "--threads", "1", "evaluate", "--data", str(data), "--fit",
                          str(fit), "--benchmark", str(bench_file), "--setting", setting, "--method",
                          method, "--out", str(folder / "score.json")],
    }
    folder.mkdir(parents=True, exist_ok=True)
    bench_file.write_text("s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
                          "0.5\t0:00:00\t100\t200\t90\t95\t0\t0\t50\t0.4\n")
    walls: dict[str, list[float]] = {k: [] for k in cmds}
    for name in ("simulate", "fit", "evaluate"):  # once before timing: outputs to read, bytecode to cache
        subprocess.run(cmds[name], check=True, cwd=ROOT, capture_output=True, env=env)
    for _ in range(reps):
        for name, cmd in cmds.items():
            walls[name].append(timed(cmd, cwd=ROOT, env=env)[0])
    out = {f"{name}_wall_s": stats(w) for name, w in walls.items()}
    bare = out["python -c pass_wall_s"]["median"]
    out["ratio_to_bare_python"] = {k: out[f"{k}_wall_s"]["median"] / bare for k in ("simulate", "fit", "evaluate")}

    imports = {}
    for step in ("fit", "evaluate", "simulate"):
        r = subprocess.run([sys.executable, "-X", "importtime", *cmds[step][1:]], cwd=ROOT, capture_output=True,
                           text=True, env=env)
        cum: dict[str, int] = {}
        for line in r.stderr.splitlines():
            m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
            if m and len(m.group(3)) <= 1:  # top-level imports only
                cum[m.group(4)] = cum.get(m.group(4), 0) + int(m.group(2))
        present = [h for h in HEAVY if any(re.search(rf"\| +{h}(\.|$)", ln) for ln in r.stderr.splitlines())]
        top = sorted(cum.items(), key=lambda kv: -kv[1])[:8]
        imports[step] = {"total_s": sum(cum.values()) / 1e6, "top_s": {k: v / 1e6 for k, v in top},
                         "heavy_imported": present}
    out["imports"] = imports
    return out


# ------------------------------------------------------------------------ (b) snakemake run

BARE_SNAKEFILE = '''
SETTINGS = config["bare_settings"]
SEEDS = list(range(config["bare_seeds"]))
METHODS = config["bare_methods"]
JOBS = [(s, k, m) for s in SETTINGS for k in SEEDS for m in METHODS]

rule all:
    input: "res/tables/scores.csv"

rule simulate:
    output: data="res/data/{setting}/seed{seed}.npz", meta="res/data/{setting}/seed{seed}.json"
    shell: "touch {output}"

rule fit:
    input: data="res/data/{setting}/seed{seed}.npz"
    output: record="res/fits/{setting}/seed{seed}/{method}.json", arrays="res/fits/{setting}/seed{seed}/{method}.npz"
    shell: "touch {output}"

rule evaluate:
    input: data="res/data/{setting}/seed{seed}.npz", record="res/fits/{setting}/seed{seed}/{method}.json"
    output: "res/scores/{setting}/seed{seed}/{method}.json"
    shell: "touch {output}"

rule aggregate:
    input: [f"res/scores/{s}/seed{k}/{m}.json" for s, k, m in JOBS]
    output: "res/tables/scores.csv"
    shell: "touch {output}"
'''


def snakemake(*args: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", *args]


def run_config(tmp: Path, name: str, config: dict) -> Path:
    import yaml

    folder = tmp / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    return folder


def part_snakemake(sizes: list[int], reps: int, tmp: Path) -> dict:
    """Wall and CPU of ``snakemake --cores 2 aggregate`` with N seeds of ``empty`` (3N
    jobs + the table), at each size, ``reps`` times; the per-job cost is the slope."""
    bare_dir = tmp / "bare"
    bare_dir.mkdir(parents=True, exist_ok=True)
    (bare_dir / "Snakefile").write_text(BARE_SNAKEFILE)
    runs: dict[str, dict[int, list[tuple[float, float]]]] = {"dagbench": {}, "bare": {}}
    for _ in range(reps):
        for n in sizes:
            cfg = {"seeds": n, "settings": [SETTING], "methods": [{"method": "empty"}], "results": "res"}
            folder = run_config(tmp, f"run{n}", cfg)
            runs["dagbench"].setdefault(n, []).append(timed(snakemake(
                "-s", str(ROOT / "Snakefile"), "--directory", str(folder), "--configfile",
                str(folder / "config.yaml"), "--cores", "2", "aggregate"), cwd=ROOT))
            shutil.rmtree(bare_dir / "res", ignore_errors=True)
            shutil.rmtree(bare_dir / ".snakemake", ignore_errors=True)
            runs["bare"].setdefault(n, []).append(timed(snakemake(
                "-s", str(bare_dir / "Snakefile"), "--directory", str(bare_dir), "--cores", "2", "--config",
                f"bare_seeds={n}", "bare_settings=[lin-d5]", "bare_methods=[empty]"), cwd=bare_dir))
    out: dict = {"sizes_seeds": sizes, "jobs": {n: 3 * n + 1 for n in sizes}}
    lo, hi = min(sizes), max(sizes)
    for which, by_n in runs.items():
        res = {}
        for n, vals in by_n.items():
            res[f"N={n}"] = {"wall_s": stats([w for w, _ in vals]), "cpu_s": stats([c for _, c in vals])}
        # per job: slope between the sizes, rep by rep (the same rep's runs are neighbours in time)
        dj = 3 * (hi - lo)
        res["per_job_wall_s"] = stats([(b[0] - a[0]) / dj for a, b in zip(by_n[lo], by_n[hi])])
        res["per_job_cpu_s"] = stats([(b[1] - a[1]) / dj for a, b in zip(by_n[lo], by_n[hi])])
        res[f"wall_per_job_at_N={hi}_s"] = stats([w / (3 * hi + 1) for w, _ in by_n[hi]])
        out[which] = res
    return out


# ----------------------------------------------------------------------------- (c) planning

def scale_config(settings: int = 10, seeds: int = 25, variants: int = 30) -> dict:
    """A config of settings x seeds x variants fits of cheap methods: ``empty`` and
    ``random_dag`` with n_samples 1 .. variants - 1 (a grid axis)."""
    ds = [5 + 5 * i for i in range(settings // 2)]
    return {"seeds": seeds, "results": "res",
            "settings": [{"id": "er{edges_per_node:g}-lin-d{d}", "simulator": "linear",
                          "params": {"d": ds, "edges_per_node": [1.0, 2.0][:max(1, settings // len(ds))],
                                     "n": 100, "n_heldout": 100}}],
            "methods": [{"method": "empty"},
                        {"method": "random_dag", "params": {"n_samples": list(range(1, variants))}}]}


def part_planning(reps: int, tmp: Path, seeds: int) -> dict:
    import yaml

    cfg = scale_config(seeds=seeds)
    folder = run_config(tmp, "plan", cfg)
    bare_dir = tmp / "bare_plan"
    bare_dir.mkdir(parents=True, exist_ok=True)
    (bare_dir / "Snakefile").write_text(BARE_SNAKEFILE)
    from dagbench.config import load_plan
    plan = load_plan(yaml.safe_load((folder / "config.yaml").read_text()))
    n_jobs = len(plan.jobs())
    bare_cfg = bare_dir / "config.yaml"
    bare_cfg.write_text(yaml.safe_dump({"bare_settings": list(plan.settings), "bare_seeds": len(plan.seeds),
                                        "bare_methods": list(plan.methods)}))
    ours = ["all", "-s", str(ROOT / "Snakefile"), "--directory", str(folder), "--configfile",
            str(folder / "config.yaml"), "-n"]
    bare = ["all", "-s", str(bare_dir / "Snakefile"), "--directory", str(bare_dir), "--configfile",
            str(bare_cfg), "-n"]
    cmds = {  # (the target first: --quiet and --configfile take every word after them)
        "snakemake --version": snakemake("--version"),
        "dagbench -n --quiet": snakemake(*ours, "--quiet"),
        "bare -n --quiet": snakemake(*bare, "--quiet"),
        "dagbench -n": snakemake(*ours),
        "bare -n": snakemake(*bare),
    }
    runs: dict[str, list[tuple[float, float]]] = {k: [] for k in cmds}
    for _ in range(reps):
        for name, cmd in cmds.items():
            runs[name].append(timed(cmd, cwd=ROOT))
    out: dict = {"fits": n_jobs, "jobs": n_jobs * 2 + len(plan.settings) * len(plan.seeds) + 4,
                 "config": cfg}
    for name, vals in runs.items():
        out[name] = {"wall_s": stats([w for w, _ in vals]), "cpu_s": stats([c for _, c in vals])}
    # Snakemake's start-up idles where the SLURM plugin's `scontrol show config` waits for
    # a controller that does not answer (SLURM clients installed, no controller running:
    # 10 s here); wall minus that idle time is what a machine without it would see
    idle = out["snakemake --version"]["wall_s"]["median"] - out["snakemake --version"]["cpu_s"]["median"]
    out["startup_idle_s"] = idle
    for name in cmds:
        if name != "snakemake --version":
            out[name]["wall_minus_startup_idle_s"] = out[name]["wall_s"]["median"] - idle
    return out


def summary(out: dict) -> str:
    """The headline numbers, one line each (median / min)."""
    lines = []
    for part, what in (("direct", "direct"), ("direct_bytecode_cached", "direct, bytecode cached")):
        if part not in out:
            continue
        d = out[part]
        bare = d["python -c pass_wall_s"]
        lines.append(f"{what}, per job [s]: bare python {bare['median']:.3f} / {bare['min']:.3f}; "
                     + "; ".join(f"{k} {d[f'{k}_wall_s']['median']:.3f} / {d[f'{k}_wall_s']['min']:.3f} "
                                 f"(x{d['ratio_to_bare_python'][k]:.1f})" for k in ("simulate", "fit", "evaluate")))
    if "snakemake" in out:
        s = out["snakemake"]
        lines.append("in a Snakemake run, per job (slope) [s]: "
                     f"dagbench wall {s['dagbench']['per_job_wall_s']['median']:.3f} / "
                     f"{s['dagbench']['per_job_wall_s']['min']:.3f}, CPU {s['dagbench']['per_job_cpu_s']['median']:.3f}; "
                     f"bare `touch` jobs wall {s['bare']['per_job_wall_s']['median']:.3f}, "
                     f"CPU {s['bare']['per_job_cpu_s']['median']:.3f}")
    if "planning" in out:
        p = out["planning"]
        lines.append(f"planning {p['jobs']} jobs [s] (wall / CPU / wall less {p['startup_idle_s']:.1f} s idle start-up): "
                     + "; ".join(f"{k} {p[k]['wall_s']['median']:.1f} / {p[k]['cpu_s']['median']:.1f} / "
                                 f"{p[k]['wall_minus_startup_idle_s']:.1f}"
                                 for k in ("dagbench -n --quiet", "bare -n --quiet", "dagbench -n", "bare -n")))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    ap.add_argument("--reps", type=int, default=5, help="reps of each direct command (default 5)")
    ap.add_argument("--run-reps", type=int, default=2, help="reps of each Snakemake run and plan (default 2)")
    ap.add_argument("--sizes", type=int, nargs=2, default=[4, 16], help="seeds of the two Snakemake runs")
    ap.add_argument("--plan-seeds", type=int, default=25, help="seeds of the planning config (25: 15,254 jobs)")
    ap.add_argument("--quick", action="store_true", help="--reps 2 --run-reps 1 --sizes 2 8 --plan-seeds 5")
    ap.add_argument("--json", help="write the results here (e.g. bench/results/harness_overhead.json)")
    ap.add_argument("--label", default="", help="a note stored with the results (e.g. 'before')")
    a = ap.parse_args(argv)
    if a.quick:
        a.reps, a.run_reps, a.sizes, a.plan_seeds = 2, 1, [2, 8], 5
    tmp = Path(tempfile.mkdtemp(prefix="dagbench_overhead_"))
    out: dict = {}
    try:
        if "direct" in a.parts:
            out["direct"] = part_direct(a.reps, tmp)
            print(json.dumps({"direct": out["direct"]}, indent=1), flush=True)
            out["direct_bytecode_cached"] = part_direct(a.reps, tmp, bytecode_cache=True)
            print(json.dumps({"direct_bytecode_cached": out["direct_bytecode_cached"]}, indent=1), flush=True)
        if "snakemake" in a.parts:
            out["snakemake"] = part_snakemake(sorted(a.sizes), a.run_reps, tmp)
            print(json.dumps({"snakemake": out["snakemake"]}, indent=1), flush=True)
        if "planning" in a.parts:
            out["planning"] = part_planning(a.run_reps, tmp, a.plan_seeds)
            print(json.dumps({"planning": {k: v for k, v in out["planning"].items() if k != "config"}},
                             indent=1), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(summary(out))
    if a.json:
        import platform

        machine = {"python": platform.python_version(), "cores": os.cpu_count(),
                   "load_average_at_end": os.getloadavg()}
        for mod in ("numpy", "scipy", "sklearn", "snakemake"):
            try:
                machine[mod] = __import__(mod).__version__
            except Exception:  # noqa: BLE001 - a missing peer is only not reported
                machine[mod] = None
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps({"args": vars(a), "label": a.label, "machine": machine, **out},
                                           indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
