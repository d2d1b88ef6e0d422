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
        rules.resolved_config.output,
        rules.aggregate.output,
        rules.plot.output,
    default_target: True
