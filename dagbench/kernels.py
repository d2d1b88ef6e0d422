"""The same floating-point kernels on every x86-64 machine, so that fits repeat across CPUs.

Why: DiBS (SVGD over many steps) amplifies differences in the last bit of a sum into other
graphs, and the last bits depend on which SIMD kernels run. torch picks its own kernels by
the CPU's instruction set (ATen's "CPU capability": AVX2 or AVX-512 on today's x86-64) and
so does Intel MKL, torch's BLAS on x86-64. Measured on an AVX-512 machine (`dibs_linear`,
d = 10, 300 steps, one thread): forcing ATen to AVX2, or MKL to AVX2, each changed the
particles' graphs and moved the edge marginals by up to 0.09; that is the size of the
README's DiBS differences between two machines with the same package versions.

What: before torch or numpy load, every job (``python -m dagbench``) sets
``ATEN_CPU_CAPABILITY=avx2`` (torch's documented override of its kernel choice) and
``MKL_CBWR=AVX2`` (MKL's Conditional Numerical Reproducibility: the AVX2 code path on
any CPU that has AVX2), unless the user set them. With both, an AVX-512 machine and an
AVX2-only one give bit-identical DiBS fits (tests/test_reproducibility.py). Cost: AVX-512
kernels are not used (a few per cent of fit time here).

Not covered, and said in the README: CPUs without AVX2, other architectures (ARM, e.g.
Apple silicon: other kernels altogether), other versions of torch, MKL or numpy (whose
OpenBLAS picks kernels by CPU too; it is not pinned, as forcing an OpenBLAS core type the
CPU lacks crashes; our numpy paths are short and their results did not differ), GPUs, and
a different number of threads per fit (reductions split differently).
"""
from __future__ import annotations

import os
import platform

PINNED = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2"}


def has_avx2() -> bool:
    """Whether this is a Linux x86-64 CPU that reports AVX2 (``/proc/cpuinfo`` flags)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and " avx2" in line for line in f)
    except OSError:  # not Linux: leave the kernels to the libraries
        return False


def pin_cpu_kernels() -> dict[str, str]:
    """Set :data:`PINNED` in ``os.environ`` where the user has not set them, on CPUs with
    AVX2; returns what was set. Must run before torch or numpy are imported (both read
    these variables once, when they load)."""
    if not has_avx2():
        return {}
    set_now = {k: v for k, v in PINNED.items() if k not in os.environ}
    os.environ.update(set_now)
    return set_now
