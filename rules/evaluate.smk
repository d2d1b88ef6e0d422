rule evaluate:
    """Scores of one fit: graph metrics, held-out likelihood, cost."""
    input:
        data=rules.simulate.output.data,
        record=rules.fit.output.record,
        benchmark=f"{R}/benchmarks/fit/{{setting}}/seed{{seed}}/{{method}}.tsv",
    output:
        f"{R}/scores/{{setting}}/seed{{seed}}/{{method}}.json",
    params:
        setting=setting_spec,
        method=method_spec,
    conda:
        ENV
    log:
        f"{R}/logs/evaluate/{{setting}}/seed{{seed}}/{{method}}.log",
    benchmark:
        f"{R}/benchmarks/evaluate/{{setting}}/seed{{seed}}/{{method}}.tsv"
    threads: 1
    resources:
        **JOB_RESOURCES,
    shell:
        "python -m dagbench --log {log:q} --threads {threads} evaluate --data {input.data:q} --fit {input.record:q} "
        "--benchmark {input.benchmark:q} --setting {params.setting:q} --method {params.method:q} "
        "--out {output:q}"
