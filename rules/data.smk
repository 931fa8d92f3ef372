# The data set, parsed once and split (rule `data`).


rule data:
    input:
        code("data"),
    output:
        DATA,
    log:
        "results/logs/data.log",
    shell:
        "{PY} -m pnnsat data --dataset {config[dataset]} --out {output}"
        " --validation-size {config[data][validation_size]}"
        " --split-seed {config[data][split_seed]} > {log} 2>&1"
