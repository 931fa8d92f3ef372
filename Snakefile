# The reproducible pipeline: data -> train -> evaluate -> figure notebooks -> figures.
#   snakemake -j4                                  full run (config/config.yaml)
#   snakemake -j2 --workflow-profile profiles/quick quick run (config/quick.yaml on top)
# Every rule calls the library in src/pnnsat; notebooks only read the tables and plot.
import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import yaml
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


# The rules live in rules/: checks.smk (the config checked before any work), specs.smk (paths,
# code inputs, training specs and tables shared by every rule file), figure_metadata.smk (what
# each figure job reads and is given), then one file per stage.
include: "rules/checks.smk"
include: "rules/specs.smk"
include: "rules/figure_metadata.smk"


# On a cluster (profiles/slurm) these small jobs (seconds each) run in the Snakemake process
# instead of waiting for the scheduler; they make no difference to a local run.
localrules: all, gather, gather_ablation, gather_ladder, gather_platform_table, gather_multitask, publish_table, figure


rule all:
    input:
        expand(f"{FIG}/{{fig}}.{{ext}}", fig=config["figures"], ext=["pdf", "png"]),
        [f"{FIG}/tables/{t}.csv" for t in ALL_TABLES],
        [f"{R}/tables/{t}.csv" for t in MODEL_TABLES],
        [f"{R}/tables/{t}.csv" for t in ("sharpness", "landscape")],
        [f"{R}/tables/rho_sweep.csv"] if RHO_PLATFORMS else [],
        [f"{R}/tables/ablation_{t}.csv" for t in ABLATION_TABLES] if ABLATIONS else [],
        # every model and per-model table too: Snakemake rebuilds a missing or deleted
        # intermediate only if a target needs it (rules/specs.smk, `intermediates`)
        lambda w: intermediates(),


include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/multitask.smk"
include: "rules/figures.smk"
