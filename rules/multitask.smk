# fig6: beyond classification. Reconstruction (autoencoder) and generation (VAE) networks whose
# physical layers are MRR weight banks, trained offline by the `multitask.methods`, the digital
# classifier that defines the Frechet distance, and each task's metric vs thermal drift (the
# classification task reads the method matrix's MRR models). Settings, paths and the figure's
# metadata: rules/specs.smk (MT, TASKS, task_model).

def task_spec(w):
    """The TaskSpec (JSON, without its seed) of (w.task, w.method): the MRR block's hardware and
    the method's options, the task's network and multitask.training."""
    block = config["platforms"]["mrr"]
    return json.dumps({
        "task": w.task,
        "method": w.method,
        "platform_config": {k: block[k] for k in ("physics", "device") if k in block},
        "method_config": block.get(w.method, {}),
        "network": MT[w.task],
        "train_subset": config["data"].get("train_subset"),
        "validation_subset": config["data"].get("validation_subset"),
        **MT["training"],
    }, sort_keys=True)


rule train_task:
    """fig6: the `task` network of one method, every seed in one process."""
    input:
        data=DATA,
        code=lambda w: code("multitask/training", method_module(w.method)),
    output:
        [f"{MT_DIR}/models/{{task}}/{{method}}/seed{s}.pt" for s in SEEDS],
    log:
        f"{R}/logs/train/multitask/{{task}}/{{method}}.log",
    benchmark:
        f"{R}/benchmarks/train/multitask/{{task}}/{{method}}.tsv"
    wildcard_constraints:
        task="|".join(TRAINED_TASKS),
    params:
        spec=task_spec,
        numerics=NUMERICS,
    threads: config["threads"]
    resources:
        cpu_slots=lambda w, threads: threads,
    priority: lambda w: train_priority("mrr", w.method) // 4
    shell:
        "{PY} -m pnnsat train-task --spec {params.spec:q} --seeds {SEED_ARGS} --data {input.data}"
        " --out {output} --threads {threads} > {log} 2>&1"


rule feature_classifier:
    """fig6: the digital classifier whose features define the Frechet distance."""
    input:
        data=DATA,
        code=code("multitask/training"),
    output:
        FEATURE_CLASSIFIER,
    log:
        f"{R}/logs/train/multitask/feature_classifier.log",
    params:
        epochs=lambda w: MT["frechet"]["classifier_epochs"],
        subset=(f"--train-subset {config['data']['train_subset']}"
                if config["data"].get("train_subset") else ""),
        numerics=NUMERICS,
    threads: config["threads"]
    resources:
        cpu_slots=lambda w, threads: threads,
    shell:
        "{PY} -m pnnsat feature-classifier --data {input.data} --out {output}"
        " --epochs {params.epochs} {params.subset} --threads {threads} > {log} 2>&1"


rule evaluate_task:
    """fig6: one task's metric vs thermal drift for every model of it, twin and device A."""
    input:
        models=lambda w: [task_model(w.task, m, s) for m in MT["methods"] for s in SEEDS],
        classifier=lambda w: [FEATURE_CLASSIFIER] if w.task == "generation" else [],
        data=DATA,
        code=code("multitask/evaluation", "training", platform_module("mrr")),
    output:
        f"{MT_DIR}/eval/{{task}}.csv",
    log:
        f"{R}/logs/eval/multitask/{{task}}.log",
    benchmark:
        f"{R}/benchmarks/eval/multitask/{{task}}.tsv"
    wildcard_constraints:
        task="|".join(TASKS),
    params:
        grid=lambda w: json.dumps(MT["delta_T_K"]),
        classifier=lambda w, input: f"--classifier {input.classifier[0]}" if input.classifier else "",
        samples=lambda w: MT["frechet"]["samples"],
        test_subset=TEST_SUBSET_ARG,
    threads: config["threads"]
    resources:
        cpu_slots=lambda w, threads: threads,
    shell:
        "{PY} -m pnnsat evaluate-task --task {wildcards.task} --models {input.models}"
        " --data {input.data} --delta-T-K {params.grid:q} --out {output} {params.classifier}"
        " --samples {params.samples} {params.test_subset} --threads {threads} > {log} 2>&1"


rule gather_multitask:
    input:
        [f"{MT_DIR}/eval/{t}.csv" for t in TASKS],
    output:
        f"{R}/tables/multitask.csv",
    log:
        f"{R}/logs/gather/multitask.log",
    shell:
        "{PY} -m pnnsat gather --out {output} {input} > {log} 2>&1"


rule task_examples:
    """fig6: the example images (first test images, seed-0 reconstructions and samples at each
    multitask.examples_K) as a table, so the figure reads no model file."""
    input:
        models=[task_model(t, m, SEEDS[0]) for t in TRAINED_TASKS for m in MT.get("methods", [])],
        data=DATA,
        code=code("multitask/evaluation", "multitask/training"),
    output:
        f"{R}/tables/multitask_examples.csv",
    log:
        f"{R}/logs/eval/multitask/examples.log",
    params:
        grid=lambda w: json.dumps(MT["examples_K"]),
    threads: config["threads"]
    resources:
        cpu_slots=lambda w, threads: threads,
    shell:
        "{PY} -m pnnsat task-examples --models {input.models} --data {input.data}"
        " --delta-T-K {params.grid:q} --out {output} --threads {threads} > {log} 2>&1"
