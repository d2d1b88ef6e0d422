# The score table, input of the statistics and plot jobs by its path: naming it
# `rules.aggregate.output.csv` there made Snakemake hash the plot job's list of every fit
# record once per record while planning (quadratic: 19 of 97 profiled seconds at 7,500 fits).
SCORES_CSV = f"{R}/tables/scores.csv"


rule aggregate:
    """The long-format score table, the summary (mean ± s.e.), markdown and HTML, and the
    configuration as run (every parameter resolved). The configuration is written by the
    same job, after the tables, so that results/ never holds the tables of one run beside
    the configuration of another (a run that fails before this job changes neither)."""
    input:
        all_jobs(f"{R}/scores/{{setting}}/seed{{seed}}/{{method}}.json"),
    output:
        csv=report(SCORES_CSV, category="Tables", caption="../report/scores.rst"),
        summary=f"{R}/tables/summary.md",
        summary_html=report(f"{R}/tables/summary.html", category="Tables", caption="../report/summary.rst"),
        config=report(f"{R}/config.yaml", category="Configuration", caption="../report/config.rst"),
    params:
        plan=resolved_plan,
        spread=SPREAD_OPTIONS,
    conda:
        ENV
    log:
        f"{R}/logs/aggregate.log",
    benchmark:
        f"{R}/benchmarks/aggregate.tsv"
    threads: 1
    resources:
        **JOB_RESOURCES,
    shell:
        "python -m dagbench --log {log:q} aggregate --scores {input:q} --csv {output.csv:q} "
        "--summary {output.summary:q} --summary-html {output.summary_html:q} "
        "--resolved-config {output.config:q} --resolved-config-text {params.plan:q} {params.spread}"


rule statistics:
    """Paired Wilcoxon tests per setting (Holm-corrected), Friedman ranks and critical-
    difference diagrams across settings, one LaTeX table per metric
    (evaluation/statistics.py)."""
    input:
        table=SCORES_CSV,
    output:
        tables=[report(f"{R}/tables/{name}", category="Statistical tests",
                       caption=f"../report/statistics/{name.split('.')[0]}.rst")
                if name in ("pairwise.html", "ranks.html") else f"{R}/tables/{name}"
                for name in statistics_table_names(STAT_METRICS)],
        figures=[report(f"{R}/figures/{name}", category="Statistical tests",
                        caption="../report/statistics/cd.rst")
                 if name.endswith(".png") else f"{R}/figures/{name}"
                 for name in statistics_figure_names(STAT_METRICS)],
    params:
        tables=lambda wildcards, output: os.path.dirname(output.tables[0]),
        figures=lambda wildcards, output: os.path.dirname(output.figures[0]),
        metrics=" ".join(STAT_METRICS),
        highlight=" ".join(PLAN.highlight),
        spread=SPREAD_OPTIONS,
        alpha=ST.alpha,
    conda:
        ENV
    log:
        f"{R}/logs/statistics.log",
    benchmark:
        f"{R}/benchmarks/statistics.tsv"
    threads: 1
    resources:
        **JOB_RESOURCES,
    shell:
        "MPLBACKEND=Agg python -m dagbench --log {log:q} statistics --table {input.table:q} "
        "--tables-dir {params.tables:q} --figures-dir {params.figures:q} --alpha {params.alpha} "
        "--metrics {params.metrics} --highlight {params.highlight} {params.spread}"


rule plot:
    """Comparison figures (PNG and PDF): one per metric, ROC curves, reliability diagrams,
    runtime, accuracy against runtime, adjacency heatmaps (evaluation.plots.figure_names)."""
    input:
        table=SCORES_CSV,
        fits=all_jobs(f"{R}/fits/{{setting}}/seed{{seed}}/{{method}}.json"),
    output:
        # each figure its own caption (report/figures/<figure>.rst): a caption is rendered
        # per file, but Snakemake gives it only the job, not the file it belongs to. (No
        # labels: the report would then list the labels instead of the file names.)
        [report(f"{R}/figures/{name}", category="Figures", caption=f"../report/figures/{name[:-4]}.rst")
         if name.endswith(".png") else f"{R}/figures/{name}" for name in figure_names()],
    params:
        outdir=lambda wildcards, output: os.path.dirname(output[0]),
        highlight=" ".join(PLAN.highlight),
    conda:
        ENV
    log:
        f"{R}/logs/plot.log",
    benchmark:
        f"{R}/benchmarks/plot.tsv"
    threads: 1
    resources:
        **JOB_RESOURCES,
    shell:
        "MPLBACKEND=Agg python -m dagbench --log {log:q} plot --table {input.table:q} "
        "--outdir {params.outdir:q} --highlight {params.highlight}"
