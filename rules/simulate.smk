rule simulate:
    """One dataset: a setting's simulator run with one seed."""
    output:
        data=f"{R}/data/{{setting}}/seed{{seed}}.npz",
        meta=f"{R}/data/{{setting}}/seed{{seed}}.json",
    params:
        spec=setting_spec,
    conda:
        ENV
    log:
        f"{R}/logs/simulate/{{setting}}/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/simulate/{{setting}}/seed{{seed}}.tsv"
    threads: 1
    resources:
        **JOB_RESOURCES,
    shell:
        "python -m dagbench --log {log:q} --threads {threads} simulate --spec {params.spec:q} "
        "--seed {wildcards.seed} --out {output.data:q}"
