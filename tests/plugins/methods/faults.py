"""Test-only method plugins that misbehave in every way a real method can.

Found only when DAGBENCH_PLUGIN_DIRS names tests/plugins (the fault-injection tests
set it); never part of a normal run.
"""
import os
import signal
import threading

import numpy as np

from methods.base import GraphPosterior, Method


class Raises(Method):
    name = "fault_raises"

    def fit(self, data, *, seed):
        raise RuntimeError("boom in fit")


class Hangs(Method):
    """Blocks forever inside C (a lock acquired twice), where no Python-level
    timer or signal handler would stop it."""
    name = "fault_hangs"

    def fit(self, data, *, seed):
        lock = threading.Lock()
        lock.acquire()
        lock.acquire()


class ReturnsNaN(Method):
    name = "fault_nan"

    def fit(self, data, *, seed):
        return GraphPosterior(graphs=np.zeros((2, data.d, data.d), dtype=np.int8),
                              weights=np.array([np.nan, 1.0]))


class WrongShape(Method):
    name = "fault_wrong_shape"

    def fit(self, data, *, seed):
        return GraphPosterior(graphs=np.zeros((data.d + 1, data.d + 1), dtype=np.int8))


class Cyclic(Method):
    name = "fault_cyclic"

    def fit(self, data, *, seed):
        g = np.zeros((data.d, data.d), dtype=np.int8)
        g[0, 1] = g[1, 0] = 1
        return GraphPosterior(graphs=g)


class BadProbs(Method):
    name = "fault_bad_probs"

    def fit(self, data, *, seed):
        return GraphPosterior(graphs=np.zeros((data.d, data.d), dtype=np.int8),
                              edge_probs=np.full((data.d, data.d), 1.5))


class MemoryHog(Method):
    """Allocates 100 MB blocks until something gives."""
    name = "fault_memory"

    def fit(self, data, *, seed):
        blocks = []
        for _ in range(1000):
            blocks.append(np.ones(100 * 2**20 // 8))
        return GraphPosterior(graphs=np.zeros((data.d, data.d), dtype=np.int8))


class Crashes(Method):
    """Dies the way a segfaulting C extension does."""
    name = "fault_segfault"

    def fit(self, data, *, seed):
        os.kill(os.getpid(), signal.SIGSEGV)


class Skips(Method):
    name = "fault_skips"

    def skip(self, data):
        return "needs interventional data"


class Sleeps(Method):
    """Sleeps ``seconds``, then returns the empty graph: a fit still running when a test
    cancels its cluster job."""
    name = "fault_sleeps"
    defaults = {"seconds": 20.0}

    def fit(self, data, *, seed):
        import time

        time.sleep(self.params["seconds"])
        return GraphPosterior(np.zeros((1, data.d, data.d), dtype=np.int8), np.ones(1))
