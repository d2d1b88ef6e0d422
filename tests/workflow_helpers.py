"""Running the real Snakefile from tests."""
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
FAULT_PLUGINS = ROOT / "tests" / "plugins"  # tests/plugins/methods/faults.py
TIMING_COLUMNS = ["fit_s", "wall_s", "max_rss_mb"]


def snakemake_cmd(workdir: Path, config: dict, *args: str) -> list[str]:
    cfg = workdir / "config.yaml"
    cfg.write_text(yaml.safe_dump(config))
    return [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
            "--configfile", str(cfg), "--cores", "2", *args]


def run_snakemake(workdir: Path, config: dict, *args: str, check=True, env=None) -> subprocess.CompletedProcess:
    proc = subprocess.run(snakemake_cmd(workdir, config, *args), capture_output=True, text=True,
                          timeout=900, env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc
