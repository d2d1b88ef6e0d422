rule fit:
    """One method on one dataset. Always succeeds: the record's status says ok, failed,
    timeout or skipped, and the arrays (.npz beside it) exist only when ok."""
    input:
        data=rules.simulate.output.data,
    output:
        record=f"{R}/fits/{{setting}}/seed{{seed}}/{{method}}.json",
    params:
        spec=method_spec,
    conda:
        ENV
    log:
        f"{R}/logs/fit/{{setting}}/seed{{seed}}/{{method}}.log",
    benchmark:
        f"{R}/benchmarks/fit/{{setting}}/seed{{seed}}/{{method}}.tsv"
    threads: lambda wildcards: PLAN.methods[wildcards.method].threads
    resources:
        runtime=lambda wildcards: math.ceil(PLAN.methods[wildcards.method].timeout_s / 60) + 1,
    shell:
        "python -m dagbench --log {log:q} --threads {threads} fit --spec {params.spec:q} --data {input.data:q} "
        "--seed {wildcards.seed} --out {output.record:q}"
