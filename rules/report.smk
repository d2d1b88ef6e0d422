rule aggregate:
    """The long-format score table and the markdown summary (mean ± s.e.)."""
    input:
        all_jobs(f"{R}/scores/{{setting}}/seed{{seed}}/{{method}}.json"),
    output:
        csv=f"{R}/tables/scores.csv",
        summary=f"{R}/tables/summary.md",
    conda:
        ENV
    log:
        f"{R}/logs/aggregate.log",
    benchmark:
        f"{R}/benchmarks/aggregate.tsv"
    shell:
        "python -m dagbench aggregate --scores {input:q} --csv {output.csv:q} "
        "--summary {output.summary:q} > {log:q} 2>&1"


rule plot:
    """Comparison figures: one per metric, ROC curves, runtime."""
    input:
        table=rules.aggregate.output.csv,
        fits=all_jobs(f"{R}/fits/{{setting}}/seed{{seed}}/{{method}}.json"),
    output:
        [f"{R}/figures/{m}.png" for m in METRICS],
        f"{R}/figures/roc.png",
        f"{R}/figures/runtime.png",
    params:
        outdir=lambda wildcards, output: os.path.dirname(output[0]),
    conda:
        ENV
    log:
        f"{R}/logs/plot.log",
    benchmark:
        f"{R}/benchmarks/plot.tsv"
    shell:
        "MPLBACKEND=Agg python -m dagbench plot --table {input.table:q} "
        "--outdir {params.outdir:q} > {log:q} 2>&1"
