# Evaluation: per-model tables (`evaluate`), gathered per run (`gather`); sharpness, the rho
# sweep and the ablations' tables.


rule evaluate_ablation:
    """figS5: the nominal, drift and fresh-chip tables of one ablation's models, labelled."""
    input:
        model=rules.train_ablation.output,
        data=DATA,
        code=lambda w: evaluate_code(SimpleNamespace(platform=ABLATIONS[w.ablation]["platform"])),
    output:
        [f"{R}/ablations/{{ablation}}/eval/{{method}}/seed{s}/{t}.csv" for s in SEEDS
         for t in ABLATION_TABLES],
    log:
        f"{R}/logs/eval/ablations/{{ablation}}/{{method}}.log",
    params:
        sweeps=lambda w: json.dumps({k: ablation_block(w.ablation)[k] for k in SWEEP_KEYS},
                                    sort_keys=True),
        test_subset=TEST_SUBSET_ARG,
    threads: config["threads"]
    resources:
        cpu_slots=lambda w, threads: threads,
    shell:
        "{PY} -m pnnsat evaluate --model {input.model} --data {input.data}"
        " --sweeps {params.sweeps:q} --out {output} --threads {threads} {params.test_subset}"
        " --label ablation={wildcards.ablation} --torch-device {config[torch_device]} > {log} 2>&1"


rule gather_ablation:
    input:
        lambda w: [f"{R}/ablations/{a}/eval/{m}/seed{s}/{w.atable}.csv" for a, m in ABLATION_RUNS
                   for s in SEEDS],
    output:
        f"{R}/tables/ablation_{{atable}}.csv",
    wildcard_constraints:
        atable="|".join(ABLATION_TABLES),
    log:
        f"{R}/logs/gather/ablation_{{atable}}.log",
    shell:
        "{PY} -m pnnsat gather --out {output} {input} > {log} 2>&1"


rule rho_sweep:
    """figS1: accuracy (twin, device A, fresh chips) and lambda_max of bp and every SAT-at-rho
    model of one platform, in one process."""
    input:
        models=rho_sweep_models,
        data=DATA,
        code=lambda w: code("rho_sweep", "training", method_module("sat"), platform_module(w.platform)),
    output:
        f"{R}/eval/{{platform}}/rho_sweep.csv",
    log:
        f"{R}/logs/eval/{{platform}}.rho_sweep.log",
    benchmark:
        f"{R}/benchmarks/eval/{{platform}}/rho_sweep.tsv"
    params:
        fresh=lambda w: json.dumps(
            {k: config["platforms"][w.platform]["cross_device"][k] for k in ("devices", "first_seed")}
        ),
        s=lambda w: config["sharpness"],
        test_subset=TEST_SUBSET_ARG,
    threads: config["threads"]
    resources:
        cpu_slots=lambda w, threads: threads,
    shell:
        "{PY} -m pnnsat rho-sweep --models {input.models} --data {input.data} --out {output}"
        " --fresh {params.fresh:q} --images {params.s[images]} --tolerance {params.s[tolerance]} --max-hvps {params.s[max_hvps]}"
        " --threads {threads} {params.test_subset} > {log} 2>&1"


rule evaluate:
    """Every table of every seed of one (platform, method), in one process; outputs are listed
    seed by seed, as `pnnsat evaluate --out` expects them."""
    input:
        model=rules.train.output,
        data=DATA,
        code=evaluate_code,
    output:
        [f"{R}/eval/{{platform}}/{{method}}/seed{s}/{t}.csv" for s in SEEDS for t in MODEL_TABLES],
    log:
        f"{R}/logs/eval/{{platform}}/{{method}}.log",
    benchmark:
        f"{R}/benchmarks/eval/{{platform}}/{{method}}.tsv"
    params:
        sweeps=lambda w: json.dumps(
            {k: config["platforms"][w.platform][k] for k in SWEEP_KEYS}, sort_keys=True
        ),
        test_subset=TEST_SUBSET_ARG,
    threads: config["threads"]
    resources:
        cpu_slots=lambda w, threads: threads,
    shell:
        "{PY} -m pnnsat evaluate --model {input.model} --data {input.data}"
        " --sweeps {params.sweeps:q} --out {output} --threads {threads} {params.test_subset}"
        " --torch-device {config[torch_device]} > {log} 2>&1"


rule gather:
    input:
        lambda w: [f"{R}/eval/{p}/{m}/seed{s}/{w.table}.csv" for p, m, s in RUNS],
    output:
        f"{R}/tables/{{table}}.csv",
    log:
        f"{R}/logs/gather/{{table}}.log",
    shell:
        "{PY} -m pnnsat gather --out {output} {input} > {log} 2>&1"


rule sharpness:
    """Hessian sharpness of every model of one platform (one process: model loading and data
    once), and 2-D landscapes of bp and sat."""
    input:
        models=lambda w: [
            f"{R}/models/{w.platform}/{m}/seed{s}.pt" for m in config["methods"] for s in config["seeds"]
        ],
        data=DATA,
        code=lambda w: code("sharpness", "training", platform_module(w.platform)),
    output:
        sharpness=f"{R}/eval/{{platform}}/sharpness.csv",
        landscape=f"{R}/eval/{{platform}}/landscape.csv",
    log:
        f"{R}/logs/eval/{{platform}}.sharpness.log",
    benchmark:
        f"{R}/benchmarks/eval/{{platform}}/sharpness.tsv"
    params:
        s=lambda w: config["sharpness"],
    threads: config["threads"]
    resources:
        cpu_slots=lambda w, threads: threads,
    shell:
        "{PY} -m pnnsat sharpness --models {input.models} --data {input.data}"
        " --out {output.sharpness} --landscape-out {output.landscape}"
        " --images {params.s[images]} --tolerance {params.s[tolerance]} --max-hvps {params.s[max_hvps]}"
        " --samples {params.s[samples]} --span {params.s[span]} --steps {params.s[steps]}"
        " --threads {threads} > {log} 2>&1"


rule precision:
    """figS7: every model of one platform through DACs and detectors (pnnsat.precision_sweep), in
    one process."""
    input:
        models=lambda w: [
            f"{R}/models/{w.platform}/{m}/seed{s}.pt" for m in config["methods"] for s in config["seeds"]
        ],
        data=DATA,
        code=lambda w: code("precision_sweep", platform_module(w.platform)),
    output:
        f"{R}/eval/{{platform}}/precision.csv",
    log:
        f"{R}/logs/eval/{{platform}}.precision.log",
    benchmark:
        f"{R}/benchmarks/eval/{{platform}}/precision.tsv"
    params:
        spec=lambda w: json.dumps(PRECISION, sort_keys=True),
        fresh=lambda w: json.dumps({"first_seed": config["platforms"][w.platform]["fresh_chips"]["first_seed"]}),
        test_subset=TEST_SUBSET_ARG,
    threads: config["threads"]
    resources:
        cpu_slots=lambda w, threads: threads,
    shell:
        "{PY} -m pnnsat precision --models {input.models} --spec {params.spec:q}"
        " --fresh {params.fresh:q} --data {input.data} --out {output} --threads {threads}"
        " {params.test_subset} > {log} 2>&1"


rule gather_platform_table:
    input:
        lambda w: [f"{R}/eval/{p}/{w.kind}.csv" for p in PLATFORM_TABLES[w.kind]],
    output:
        f"{R}/tables/{{kind}}.csv",
    wildcard_constraints:
        kind="|".join(PLATFORM_TABLES),
    log:
        f"{R}/logs/gather/{{kind}}.log",
    shell:
        "{PY} -m pnnsat gather --out {output} {input} > {log} 2>&1"


rule ladder:
    """figS6: one headline of the paper re-measured rung by rung (pnnsat.ladder) on its models,
    the method matrix's and its ablations', in one process."""
    input:
        models=lambda w: [f for f, _ in ladder_models(w.headline)],
        data=DATA,
        code=lambda w: code("ladder", "evaluation", platform_module(LADDER[w.headline]["platform"])),
    output:
        f"{R}/eval/ladder/{{headline}}.csv",
    wildcard_constraints:
        headline="|".join(LADDER) or "-",
    log:
        f"{R}/logs/eval/ladder/{{headline}}.log",
    benchmark:
        f"{R}/benchmarks/eval/ladder/{{headline}}.tsv"
    params:
        sources=lambda w: " ".join(s for _, s in ladder_models(w.headline)),
        spec=lambda w: json.dumps(LADDER[w.headline], sort_keys=True),
        fresh=lambda w: json.dumps({k: config["platforms"][LADDER[w.headline]["platform"]]
                                    ["fresh_chips"][k] for k in ("devices", "first_seed")}),
        test_subset=TEST_SUBSET_ARG,
    threads: config["threads"]
    resources:
        cpu_slots=lambda w, threads: threads,
    shell:
        "{PY} -m pnnsat ladder --models {input.models} --sources {params.sources}"
        " --headline {wildcards.headline} --spec {params.spec:q} --fresh {params.fresh:q}"
        " --data {input.data} --out {output} --threads {threads} {params.test_subset} > {log} 2>&1"


rule gather_ladder:
    input:
        [f"{R}/eval/ladder/{h}.csv" for h in LADDER],
    output:
        f"{R}/tables/ladder.csv",
    log:
        f"{R}/logs/gather/ladder.log",
    shell:
        "{PY} -m pnnsat gather --out {output} {input} > {log} 2>&1"


rule ring_detuning:
    """figS2: where every trained MRR model parks its rings on the Lorentzian (a histogram per
    model), so the figure reads a table instead of the model files."""
    input:
        models=matrix_models("mrr", config["methods"]) if "mrr" in config["platforms"] else [],
        code=code("detuning", "training", platform_module("mrr")),
    output:
        f"{R}/tables/ring_detuning.csv",
    log:
        f"{R}/logs/eval/mrr.ring_detuning.log",
    shell:
        "{PY} -m pnnsat ring-detuning --models {input.models} --out {output} > {log} 2>&1"
