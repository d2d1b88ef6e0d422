"""Test-only simulator plugin that cannot make the dataset of some seeds.

Found only when DAGBENCH_PLUGIN_DIRS names tests/plugins (the data-failure tests set
it); never part of a normal run. It is the linear simulator, except on the seeds in
``fail_seeds``: there it raises a plain RuntimeError (``fault: raises``), as a buggy
simulator would, or returns a dataset with a NaN (``fault: nan``), which the harness's
dataset checks refuse, or ends the job's process at once (``fault: exit``, as the OOM
killer or a full disk would): the one fault that fails the simulate job itself.
"""
import os

import numpy as np

from simulators.linear import LinearSimulator


class FlakySimulator(LinearSimulator):
    name = "fault_flaky_seed"
    defaults = {**LinearSimulator.defaults, "fail_seeds": [1], "fault": "raises"}
    choices = {**LinearSimulator.choices, "fault": ("raises", "nan", "exit")}

    def simulate(self, *, seed):
        if seed in self.params["fail_seeds"] and self.params["fault"] == "exit":
            os._exit(3)
        if seed in self.params["fail_seeds"] and self.params["fault"] == "raises":
            raise RuntimeError(f"boom in simulate (seed {seed})")
        ds = super().simulate(seed=seed)
        if seed in self.params["fail_seeds"]:
            ds.x[0, 0] = np.nan
        return ds
