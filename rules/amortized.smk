# Training the amortized (AVICI) model on dagbench's simulators (amortized/train.py):
#
#   snakemake --cores 2 train_amortized --configfile config/amortized.yaml
#
# Outputs go to <results>/amortized/<name>/. The step checkpoint there (checkpoint.pt) is
# deliberately not a declared output, so Snakemake never deletes it: rerunning the same
# command after a kill resumes from it (add --rerun-incomplete if Snakemake asks for it).
if "amortized" in config:  # (imports torch: only then, to keep planning other runs fast)
    from amortized.data import Domain, DomainError
    from amortized.train import TrainError, resolve_spec

    try:
        AMORTIZED = resolve_spec(config["amortized"])
        Domain(AMORTIZED.get("domain"))  # checks the block now, naming the bad key
    except (TrainError, DomainError) as exc:
        print(f"dagbench: {exc}", file=sys.stderr)
        sys.exit(1)
else:
    AMORTIZED = None

AMORTIZED_DIR = f"{R}/amortized/{AMORTIZED['name'] if AMORTIZED else 'model'}"


rule train_amortized:
    """Train the amortized model the config's `amortized` block describes (resumable)."""
    output:
        model=f"{AMORTIZED_DIR}/model.pt",
        curve=f"{AMORTIZED_DIR}/curve.csv",
        figure=f"{AMORTIZED_DIR}/curve.png",
        info=f"{AMORTIZED_DIR}/train_info.json",
    params:
        spec=json.dumps(AMORTIZED) if AMORTIZED else "",
        folder=lambda wildcards, output: os.path.dirname(output.model),
    conda:
        ENV
    log:
        f"{AMORTIZED_DIR}/train.log",  # the progress bar and validation lines, also on the terminal
    threads: (AMORTIZED or {}).get("threads", 2)
    resources:
        runtime=24 * 60,
        **JOB_SCHEDULER,
    shell:
        ("python -m amortized.train {params.spec:q} --out {params.folder:q} --threads {threads} 2>&1 | tee {log:q}"
         if AMORTIZED else
         "echo 'dagbench: train_amortized needs an amortized block in the config: "
         "--configfile config/amortized.yaml' >&2; exit 1")
