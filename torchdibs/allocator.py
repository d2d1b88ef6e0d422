"""Keep freed memory in the process so DiBS's per-step temporaries are reused.

Every SVGD step allocates and frees dozens of multi-megabyte tensors (e.g. [P, S, d, d]
with P·S·d² ≈ 1 M floats at d = 20). glibc serves blocks above its mmap threshold with
fresh ``mmap`` pages and returns them on free, so every step pays page faults on memory
it just released: at d = 20 that is about a third of the joint-linear step time. Raising
the mmap and trim thresholds keeps those blocks on the heap for reuse. Peak memory is
unchanged; the process just does not hand freed memory back to the OS until it exits.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3  # glibc's mallopt parameters
_done = False


def keep_freed_memory() -> bool:
    """Raise glibc's mmap/trim thresholds once per process (a no-op off glibc Linux, or
    with ``TORCHDIBS_KEEP_MALLOC=1`` in the environment). Returns whether it applied."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux") or os.environ.get("TORCHDIBS_KEEP_MALLOC") == "1":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other libcs have no mallopt
        return False
    ok = (mallopt(_M_MMAP_THRESHOLD, 1 << 30) == 1) & (mallopt(_M_TRIM_THRESHOLD, (1 << 31) - 1) == 1) \
        & (mallopt(_M_TOP_PAD, 64 << 20) == 1)
    _done = bool(ok)
    return _done
