# dagbench: simulate datasets, fit structure learners, score them, tabulate and plot.
# The rules live in rules/; this file only wires them together.
from snakemake.utils import min_version

min_version("8.0")


configfile: "config/config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/simulate.smk"
include: "rules/fit.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"
include: "rules/amortized.smk"


# Run by the main Snakemake process, never submitted to a cluster: the target, and the
# score table (it only merges small JSON files).
localrules:
    all,
    aggregate,


rule all:
    input:
        rules.aggregate.output,
        rules.statistics.output,
        rules.plot.output,
    default_target: True


# One run at a time per results folder (dagbench/run_lock.py). onstart runs only in the
# main process of a run with jobs to do: not under -n, --report, --lint or --unlock.
onstart:
    lock_results_folder(R)
    warn_about_cluster_limits()


# Fits never fail a job, so their problems are said here, at the end of the output.
onsuccess:
    unlock_results_folder()
    print_run_summary(R, PLAN.jobs(), ok=True)


onerror:
    unlock_results_folder()
    print_run_summary(R, PLAN.jobs(), ok=False)
