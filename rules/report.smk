rule aggregate:
    """The long-format score table, the summary (mean ± s.e.), markdown and HTML, and the
    configuration as run (every parameter resolved). The configuration is written by the
    same job, after the tables, so that results/ never holds the tables of one run beside
    the configuration of another (a run that fails before this job changes neither)."""
    input:
        all_jobs(f"{R}/scores/{{setting}}/seed{{seed}}/{{method}}.json"),
    output:
        csv=report(f"{R}/tables/scores.csv", category="Tables", caption="../report/scores.rst"),
        summary=f"{R}/tables/summary.md",
        summary_html=report(f"{R}/tables/summary.html", category="Tables", caption="../report/summary.rst"),
        config=report(f"{R}/config.yaml", category="Configuration", caption="../report/config.rst"),
    params:
        plan=resolved_plan,
    conda:
        ENV
    log:
        f"{R}/logs/aggregate.log",
    benchmark:
        f"{R}/benchmarks/aggregate.tsv"
    shell:
        "python -m dagbench --log {log:q} aggregate --scores {input:q} --csv {output.csv:q} "
        "--summary {output.summary:q} --summary-html {output.summary_html:q} "
        "--resolved-config {output.config:q} --resolved-config-text {params.plan:q}"


rule plot:
    """Comparison figures (PNG and PDF): one per metric, ROC curves, reliability diagrams,
    runtime, accuracy against runtime, adjacency heatmaps (evaluation.plots.figure_names)."""
    input:
        table=rules.aggregate.output.csv,
        fits=all_jobs(f"{R}/fits/{{setting}}/seed{{seed}}/{{method}}.json"),
    output:
        # each figure its own caption (report/figures/<figure>.rst): a caption is rendered
        # per file, but Snakemake gives it only the job, not the file it belongs to
        [report(f"{R}/figures/{name}", category="Figures", caption=f"../report/figures/{name[:-4]}.rst",
                labels={"figure": name[:-4]})
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
    shell:
        "MPLBACKEND=Agg python -m dagbench --log {log:q} plot --table {input.table:q} "
        "--outdir {params.outdir:q} --highlight {params.highlight}"
