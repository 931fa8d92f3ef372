# Training: the method matrix (`train`), figS1's SAT models at other rho (`train_rho`) and
# figS5's ablations (`train_ablation`), every seed of a job in one process.


SEEDS = [int(s) for s in config["seeds"]]
SEED_ARGS = " ".join(str(s) for s in SEEDS)
# The quick run evaluates on the first test images only; the full run on the whole test split.
TEST_SUBSET_ARG = (
    f"--test-subset {config['data']['test_subset']}" if config["data"].get("test_subset") else ""
)
# Both training rules: every seed in one process (pnnsat.training.train_seeds).
TRAIN_SHELL = (
    "{PY} -m pnnsat train --spec {params.spec:q} --seeds {SEED_ARGS} --data {input.data}"
    " --out {output} --threads {threads} --torch-device {config[torch_device]} > {log} 2>&1"
)


rule train:
    """Every seed of one (platform, method), one after another in one process (one interpreter
    start and data load; seeds finished before an interruption resume from their checkpoints)."""
    input:
        data=DATA,
        code=train_code,
    output:
        [f"{R}/models/{{platform}}/{{method}}/seed{s}.pt" for s in SEEDS],
    log:
        f"{R}/logs/train/{{platform}}/{{method}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{platform}}/{{method}}.tsv"
    params:
        spec=train_spec,
        numerics=NUMERICS,
    threads: config["threads"]
    resources:
        cpu_slots=lambda w, threads: threads,
    priority: lambda w: train_priority(w.platform, w.method)
    shell:
        TRAIN_SHELL


rule train_rho:
    """figS1: SAT at ascent radius `rho` (every other option of platforms.<p>.sat), every seed."""
    input:
        data=DATA,
        code=lambda w: train_code(SimpleNamespace(platform=w.platform, method="sat")),
    output:
        [f"{R}/models/{{platform}}/sat-rho{{rho}}/seed{s}.pt" for s in SEEDS],
    log:
        f"{R}/logs/train/{{platform}}/sat-rho{{rho}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{platform}}/sat-rho{{rho}}.tsv"
    params:
        spec=lambda w: train_spec(
            SimpleNamespace(platform=w.platform, method="sat"),
            {**config["platforms"][w.platform]["sat"], "rho": float(w.rho)},
        ),
        numerics=NUMERICS,
    threads: config["threads"]
    resources:
        cpu_slots=lambda w, threads: threads,
    priority: lambda w: train_priority(w.platform, "sat")
    shell:
        TRAIN_SHELL


rule train_ablation:
    """figS5: one ablation's model of `method`, every seed (its platform block with `set`)."""
    input:
        data=DATA,
        code=lambda w: train_code(SimpleNamespace(platform=ABLATIONS[w.ablation]["platform"],
                                                  method=w.method)),
    output:
        [f"{R}/ablations/{{ablation}}/models/{{method}}/seed{s}.pt" for s in SEEDS],
    log:
        f"{R}/logs/train/ablations/{{ablation}}/{{method}}.log",
    benchmark:
        f"{R}/benchmarks/train/ablations/{{ablation}}/{{method}}.tsv"
    params:
        spec=ablation_spec,
        numerics=NUMERICS,
    threads: config["threads"]
    resources:
        cpu_slots=lambda w, threads: threads,
    priority: lambda w: ablation_priority(w)
    shell:
        TRAIN_SHELL
