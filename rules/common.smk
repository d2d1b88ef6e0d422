# Config validation and the helpers every rule uses. The whole config is checked here,
# when the workflow is parsed, so a misspelt method, simulator or parameter stops the
# run before any job starts, with one message listing every problem.
import dataclasses
import inspect
import json
import math
import os
import sys

sys.path.insert(0, workflow.basedir)  # the plugins and the dagbench package live beside the Snakefile

from dagbench.config import ConfigError, load_plan, load_yaml
from dagbench.run_summary import print_run_summary
from evaluation.plots import figure_names
from evaluation.posterior_quality import POSTERIOR_KEYS
from evaluation.statistics import METRICS as COMPARED_METRICS
from evaluation.statistics import figure_names as statistics_figure_names
from evaluation.statistics import table_names as statistics_table_names

# A config file is trusted like this Snakefile: Snakemake evaluates the Python of a YTE
# template (`__use_yte__: true`) while it loads the file, before any line here runs, so
# no check here could stop it. What is checked is that the values make a valid plan.
try:
    PLAN = load_plan(config)
except ConfigError as exc:  # the message lists every problem; a traceback would add nothing
    print(f"dagbench: {exc}", file=sys.stderr)
    sys.exit(1)

R = PLAN.results  # the results folder

_not_run = [name for name in PLAN.highlight if name not in {m.method for m in PLAN.methods.values()}]
# --configfile extends config/config.yaml, whose highlight list names methods a user's own
# config may not run: warn only when a config file given on the command line sets it.
_default_config = os.path.join(workflow.basedir, "config", "config.yaml")
_user_sets_highlight = any(
    os.path.abspath(str(path)) != os.path.abspath(_default_config) and "highlight" in load_yaml(path)
    for path in workflow.configfiles
)
if _not_run and _user_sets_highlight:  # allowed (one list can serve several configs), but likely a slip
    print(f"dagbench: warning: highlight names {', '.join(_not_run)}, which this config does not run; "
          "nothing will be emphasised for them", file=sys.stderr)
ENV = "../envs/dagbench.yaml"  # software of every rule (used with --sdm conda)

# What each job asks a cluster scheduler for (the config's `cluster` block; a local run
# ignores it): partition and account only where given, so that a profile's
# default-resources still apply; fit jobs add their method's limits (dagbench/config.py).
JOB_SCHEDULER = PLAN.cluster.scheduler()
JOB_RESOURCES = {"runtime": PLAN.cluster.runtime_min, "mem_mb": PLAN.cluster.mem_mb, **JOB_SCHEDULER}


wildcard_constraints:
    setting=r"[^/]+",
    method=r"[^/]+",
    seed=r"\d+",


# Metrics compared by the statistics job: the exact-posterior ones only where a setting has them.
STAT_METRICS = [m for m in COMPARED_METRICS
                if m not in POSTERIOR_KEYS or any(s.exact_posterior for s in PLAN.settings.values())]
ST = PLAN.statistics
SPREAD_OPTIONS = f"--spread {ST.spread} --resamples {ST.bootstrap_resamples} --confidence {ST.confidence}"


_RUN_LOCK = []  # the results folder lock this run holds (taken in onstart, dropped at the end)


def lock_results_folder(results):
    """Take the results folder's lock, or stop the run naming the run that holds it."""
    from dagbench.run_lock import ResultsFolderBusy, acquire

    try:
        _RUN_LOCK.append(acquire(results))
    except ResultsFolderBusy as exc:
        print(f"dagbench: {exc}", file=sys.stderr)
        sys.exit(1)  # the message says it all (as for a config error)


def warn_about_cluster_limits():
    """On SLURM: warn when a job of this run could ask for more CPUs than any node has."""
    from dagbench.cluster import cores_problem, largest_node_cpus

    plugin = workflow.executor_plugin
    if plugin is None or getattr(plugin, "name", "") != "slurm":
        return
    max_threads = max((m.threads for m in PLAN.methods.values()), default=1)
    problem = cores_problem(workflow._cores, max_threads, largest_node_cpus())
    if problem:
        print(f"dagbench: warning: {problem}", file=sys.stderr)


def unlock_results_folder():
    while _RUN_LOCK:
        _RUN_LOCK.pop().release()


def signature_kept(func):
    """``func`` with its signature computed once and kept (``__signature__``, which
    ``inspect.signature`` returns as it is): Snakemake inspects the signature of a params
    or resources function every time it calls it, several times per job while it plans
    (10 us each, about 1.4 s for 15,000 jobs)."""
    func.__signature__ = inspect.signature(func)
    return func


# Each setting's and method variant's JSON, made once: Snakemake evaluates the params
# functions below for every job while it plans (15,000 jobs: 5 s of JSON, redone per job).
SETTING_JSON = {sid: json.dumps(dataclasses.asdict(spec), sort_keys=True) for sid, spec in PLAN.settings.items()}
METHOD_JSON = {mid: json.dumps(dataclasses.asdict(spec), sort_keys=True) for mid, spec in PLAN.methods.items()}


@signature_kept
def setting_spec(wildcards):
    """The setting as JSON for the job's command line (id, simulator, params)."""
    return SETTING_JSON[wildcards.setting]


@signature_kept
def method_spec(wildcards):
    """The method variant as JSON (id, method, params, bootstrap and resource limits)."""
    return METHOD_JSON[wildcards.method]


def per_method(value_of):
    """What a fit job asks for (threads, runtime, mem_mb), ``value_of(method spec)``: a
    constant when every method variant of the plan asks the same (the usual case),
    else a function of the job's wildcards. Snakemake calls such functions for every
    job while it plans, inspecting their signatures each time: three per fit job cost
    about 2 s of planning 15,000 jobs."""
    values = {value_of(spec) for spec in PLAN.methods.values()}
    if len(values) == 1:
        return values.pop()
    return signature_kept(lambda wildcards: value_of(PLAN.methods[wildcards.method]))


def all_jobs(pattern):
    """``pattern`` filled in for every (setting, seed, method) the plan fits."""
    return [pattern.format(setting=s, seed=k, method=m) for s, k, m in PLAN.jobs()]


def resolved_plan(wildcards=None):
    """The plan as YAML text: what the run actually uses, defaults included."""
    import yaml

    plan = dataclasses.asdict(PLAN)
    plan["settings"] = list(plan["settings"].values())
    plan["methods"] = list(plan["methods"].values())
    return yaml.safe_dump(plan, sort_keys=False)
