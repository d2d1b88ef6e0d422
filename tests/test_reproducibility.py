"""DiBS fits repeat bit for bit across x86-64 CPUs with and without AVX-512
(dagbench/kernels.py): simulated on an AVX-512 machine by restricting MKL to AVX2, as
an AVX2-only CPU would."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from dagbench.kernels import PINNED, has_avx2
from workflow_helpers import ROOT


def _cpu_has_avx512() -> bool:
    try:
        return " avx512f" in open("/proc/cpuinfo").read()
    except OSError:
        return False


needs_avx512 = pytest.mark.skipif(not (has_avx2() and _cpu_has_avx512()),
                                  reason="an AVX-512 CPU is needed to compare its kernels with AVX2's")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp("repro") / "data.npz"
    spec = {"id": "lin", "simulator": "linear", "params": {"d": 8, "n": 100, "n_heldout": 20,
                                                            "edges_per_node": 1.0}}
    subprocess.run([sys.executable, "-m", "dagbench", "simulate", "--spec", json.dumps(spec),
                    "--seed", "0", "--out", str(path)], check=True, cwd=ROOT, capture_output=True)
    return path


def _fit(dataset, out, **env) -> dict[str, np.ndarray]:
    spec = {"id": "dibs_linear", "method": "dibs_linear", "params": {"steps": 300, "n_particles": 10},
            "bootstrap": 0, "timeout_s": 600, "mem_mb": 0, "threads": 1}
    clean = {k: v for k, v in os.environ.items() if k not in PINNED and k != "MKL_ENABLE_INSTRUCTIONS"}
    subprocess.run([sys.executable, "-m", "dagbench", "--threads", "1", "fit", "--spec", json.dumps(spec),
                    "--data", str(dataset), "--seed", "0", "--out", str(out)],
                   check=True, cwd=ROOT, capture_output=True, env={**clean, **env})
    assert json.loads(out.read_text())["status"] == "ok"
    with np.load(out.with_suffix(".npz")) as z:
        return {k: z[k] for k in z.files}


@needs_avx512
def test_dibs_fits_are_identical_on_avx512_and_avx2_cpus(dataset, tmp_path):
    here = _fit(dataset, tmp_path / "avx512.json")
    avx2_cpu = _fit(dataset, tmp_path / "avx2.json", MKL_ENABLE_INSTRUCTIONS="AVX2")
    for key in here:
        assert np.array_equal(here[key], avx2_cpu[key]), key


@needs_avx512
def test_without_the_pin_the_two_cpus_differ(dataset, tmp_path):
    """The control: the native kernels (the user's explicit choice) do differ, so the test
    above compares something that can differ."""
    native = {"ATEN_CPU_CAPABILITY": "avx512", "MKL_CBWR": "AUTO"}
    here = _fit(dataset, tmp_path / "avx512.json", **native)
    avx2_cpu = _fit(dataset, tmp_path / "avx2.json", ATEN_CPU_CAPABILITY="avx2", MKL_CBWR="AUTO",
                    MKL_ENABLE_INSTRUCTIONS="AVX2")
    assert not all(np.array_equal(here[k], avx2_cpu[k]) for k in here)


def test_the_pin_leaves_a_users_own_setting_alone(monkeypatch):
    from dagbench.kernels import pin_cpu_kernels

    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "default")
    monkeypatch.delenv("MKL_CBWR", raising=False)
    set_now = pin_cpu_kernels()
    assert os.environ["ATEN_CPU_CAPABILITY"] == "default"
    if has_avx2():
        assert set_now == {"MKL_CBWR": "AVX2"} and os.environ["MKL_CBWR"] == "AVX2"
    else:
        assert set_now == {}
