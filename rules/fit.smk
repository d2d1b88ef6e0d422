rule fit:
    """One method on one dataset. Succeeds whatever the method does: the record's status
    says ok, failed, timeout or skipped. The arrays (.npz beside it, with its SHA-256 in
    the record) are an output too, so that a deleted one is remade and --forcerun can
    name it; they hold arrays only when ok. Fails only for the machine's problems (a
    damaged dataset, a full disk), which are then not recorded as the method's."""
    input:
        data=rules.simulate.output.data,
    output:
        record=f"{R}/fits/{{setting}}/seed{{seed}}/{{method}}.json",
        arrays=f"{R}/fits/{{setting}}/seed{{seed}}/{{method}}.npz",
    params:
        spec=method_spec,
    conda:
        ENV
    log:
        f"{R}/logs/fit/{{setting}}/seed{{seed}}/{{method}}.log",
    benchmark:
        f"{R}/benchmarks/fit/{{setting}}/seed{{seed}}/{{method}}.tsv"
    threads: per_method(lambda method: method.threads)
    resources:
        runtime=per_method(PLAN.cluster.fit_runtime_min),
        mem_mb=per_method(PLAN.cluster.fit_mem_mb),
        **JOB_SCHEDULER,
    shell:
        "python -m dagbench --log {log:q} --threads {threads} fit --spec {params.spec:q} --data {input.data:q} "
        "--seed {wildcards.seed} --out {output.record:q}"
