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


rule all:
    input:
        rules.aggregate.output,
        rules.statistics.output,
        rules.plot.output,
    default_target: True


# Fits never fail a job, so their problems are said here, at the end of the output.
onsuccess:
    print_run_summary(R, PLAN.jobs(), ok=True)


onerror:
    print_run_summary(R, PLAN.jobs(), ok=False)
