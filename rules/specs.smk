# Shared by the rule files (after rules/checks.smk): paths, the code each stage depends on,
# training specs, the ablations and the rho sweep, the tables of a run, fig6's models, and every
# file a run makes. Everything a rule file uses is defined here, before the rule files.
PY = sys.executable  # the interpreter running snakemake (the project's environment)
# Never oversubscribe the machine: `-j4` on 2 cores would run 4 single-threaded torch jobs on 2
# cores. Train/evaluate jobs each take `threads` CPU slots out of the CPUs this process may use
# (override with `--resources cpu_slots=N`).
if "cpu_slots" not in workflow.global_resources:
    workflow.global_resources["cpu_slots"] = len(os.sched_getaffinity(0))
R = config["results_dir"]
FIG = config["figures_dir"]


def check_writable(key, folder):
    """`folder` (config `key`) can be created and written: checked before any job, so a bad
    path is one line, not a traceback."""
    problem = unwritable_folder(Path(workflow.basedir) / folder)
    if problem:
        raise ValueError(f"config {key} = {folder!r}: {problem}; choose a {key} that is a "
                         "writable folder (not under a file).")


for _key in ("results_dir", "figures_dir"):
    check_writable(_key, config[_key])
DATA = "results/data/{dataset}-split{split_seed}-val{validation_size}.pt".format(
    dataset=config["dataset"], **config["data"]
)
PKG = "src/pnnsat"
# Library modules each job depends on, derived from the real imports of its entry modules
# (pnnsat.dependencies: registries and the CLI left out), so an edit reruns exactly the jobs that
# import the edited module: a platform module retrains its platform, a method module its method,
# evaluation re-evaluates, plotting and a notebook's own imports redraw.
# The numerics level (pnnsat.numerics; `import pnnsat` above pinned it for every job): a training
# parameter, so changing PNNSAT_NUMERICS retrains.
NUMERICS = requested_level()


@functools.lru_cache(maxsize=None)
def code(*modules):
    """The package modules that `modules` (paths below src/pnnsat, no .py) import."""
    return code_dependencies([f"{PKG}/{m}.py" for m in modules], PKG)


def method_module(method):
    """The module of `method`'s class (its catalog row's `module:Class`), below src/pnnsat."""
    return "methods/" + METHODS[method].cls.split(":")[0]


def platform_module(platform):
    return "platforms/" + PLATFORMS[platform].module


def train_code(w):
    return code("training", method_module(w.method), platform_module(w.platform))


def evaluate_code(w):
    return code("evaluation", "training", platform_module(w.platform))



# Per-model evaluation tables (pnnsat.tables: training cost, curves, thermal drift, alignment,
# cross-device, fresh chips), all written by one evaluate job per model (one process: the
# test features are computed once); every platform block defines the sweeps.
MODEL_TABLES = list(TABLE_SWEEPS)
SWEEP_KEYS = [key for key in TABLE_SWEEPS.values() if key]



# Keys of a platform's config block that define the hardware a model is trained for.
TRAINING_KEYS = ("physics", "device", "network", "instrument")
RUNS = [(p, m, s) for p in config["platforms"] for m in config["methods"] for s in config["seeds"]]



def training_options(block, method):
    """config.training, then the platform's `training` overrides, then its `training.methods`
    entry for this method (e.g. the MZI's SAT on Adam while its other methods use SGD)."""
    options = {}
    for layer in (config["training"], block.get("training", {})):
        layer = dict(layer)
        per_method = layer.pop("methods", {})
        options.update(layer)
        options.update(per_method.get(method, {}))
    return options


def train_spec(w, method_config=None, block=None):
    """The training spec (JSON) of (w.platform, w.method); `block`: the platform's config block
    (default: config's; an ablation passes its changed copy)."""
    block = config["platforms"][w.platform] if block is None else block
    spec = {
        "platform": w.platform,
        "method": w.method,
        # only what defines the hardware: a change to an evaluation sweep must not retrain
        "platform_config": {k: block[k] for k in TRAINING_KEYS if k in block},
        # e.g. platforms.mrr.sat
        "method_config": block.get(w.method, {}) if method_config is None else method_config,
        "train_subset": config["data"].get("train_subset"),
        "validation_subset": config["data"].get("validation_subset"),
        **training_options(block, w.method),
    }
    return json.dumps(spec, sort_keys=True)


# Relative cost of training one model, for scheduling only: the catalog's bp seconds per step
# (batch 128) of the platform and the method's step-time ratio to bp (`make bench`), times the
# epoch cap. Jobs start longest first, so the run does not end on one long job while the other
# core idles.
def train_priority(platform, method, block=None):
    block = config["platforms"][platform] if block is None else block
    epochs = int(training_options(block, method).get("epochs") or 1)
    return int(10 * epochs * PLATFORMS[platform].bp_step_s * METHODS[method].step_ratio * 100)


# Ablations (ABLATIONS, ablation_block: rules/checks.smk): the tables they write.
ABLATION_TABLES = ["training", "curves", "thermal_drift", "fresh_chips"]


ABLATION_RUNS = [(a, m) for a, spec in ABLATIONS.items() for m in spec["methods"]]


def ablation_priority(w):
    return train_priority(ABLATIONS[w.ablation]["platform"], w.method, ablation_block(w.ablation))


def ablation_spec(w):
    platform = ABLATIONS[w.ablation]["platform"]
    return train_spec(SimpleNamespace(platform=platform, method=w.method),
                      block=ablation_block(w.ablation))


# figS1: SAT retrained at each rho of `rho_sweep` (the platform's other sat options kept). The
# platform's configured rho is not retrained: its point is the main sat models.
RHO_PLATFORMS = config["rho_sweep"]["platforms"]
RHOS = [f"{r:g}" for r in config["rho_sweep"]["rho"]]
for _p in RHO_PLATFORMS:
    if _p not in config["platforms"]:
        raise ValueError(f"config rho_sweep.platforms names {_p}, which is not in platforms "
                         f"({', '.join(config['platforms'])}); drop it or add its block.")
    if "sat" not in config["platforms"][_p]:
        raise ValueError(f"config rho_sweep names {_p}, whose block has no sat options; add "
                         f"platforms.{_p}.sat or drop {_p} from rho_sweep.platforms.")


def configured_rho(platform):
    options = config["platforms"][platform]["sat"]
    if "rho" in options:
        return float(options["rho"])
    from pnnsat.methods import build_method  # the method's default rho

    return build_method("sat", options).rho


def rho_model(platform, rho, seed):
    """The model trained with SAT at `rho` on `platform` for `seed`."""
    if float(rho) == configured_rho(platform) and "sat" in config["methods"]:
        return f"{R}/models/{platform}/sat/seed{seed}.pt"
    return f"{R}/models/{platform}/sat-rho{rho}/seed{seed}.pt"


def rho_sweep_models(w):
    bp = [f"{R}/models/{w.platform}/bp/seed{s}.pt" for s in config["seeds"]]
    return bp + [rho_model(w.platform, r, s) for r in RHOS for s in config["seeds"]]


wildcard_constraints:
    platform="|".join(config["platforms"]),
    method="[a-z_]+",
    table="|".join(MODEL_TABLES),
    rho=r"[0-9.e+-]+",
    fig="|".join(config["figures"]),  # pnnsat.catalog.FIGURES


# figS7 (pnnsat.precision_sweep): the platforms whose DAC the config describes.
PRECISION = config.get("precision") or {}
PRECISION_PLATFORMS = [p for p in config["platforms"] if p in PRECISION.get("controls", {})]

# Tables written by one job per platform, and the platforms each covers.
PLATFORM_TABLES = {
    "sharpness": list(config["platforms"]),
    "landscape": list(config["platforms"]),
    "rho_sweep": RHO_PLATFORMS,
    "precision": PRECISION_PLATFORMS,
}

ALL_TABLES = (MODEL_TABLES + ["sharpness", "landscape"] + (["rho_sweep"] if RHO_PLATFORMS else [])
              + (["precision"] if PRECISION_PLATFORMS else [])
              + ([f"ablation_{t}" for t in ABLATION_TABLES] if ABLATIONS else []))


# figS6 (pnnsat.ladder): each headline's models, the method matrix's and its ablations', with the
# source each comes from (main or the ablation's name).
LADDER = (config.get("ladder") or {}).get("headlines") or {}


def ladder_models(headline):
    spec = LADDER[headline]
    p = spec["platform"]
    files = [(f"{R}/models/{p}/{m}/seed{s}.pt", "main") for m in spec["methods"]
             for s in config["seeds"]]
    for a in spec.get("ablations") or []:
        files += [(f"{R}/ablations/{a}/models/{m}/seed{s}.pt", a) for m in ABLATIONS[a]["methods"]
                  for s in config["seeds"]]
    return files


if LADDER:
    ALL_TABLES.append("ladder")


# fig6 (rules/multitask.smk): the tasks, where their models live, and the figure's metadata.
MT = config.get("multitask") or {}
MT_DIR = f"{R}/multitask"
TASKS = ["classification", "reconstruction", "generation"]
TRAINED_TASKS = ["reconstruction", "generation"]
FEATURE_CLASSIFIER = f"{MT_DIR}/models/feature_classifier.pt"
if MT:
    if "mrr" not in config["platforms"]:
        raise ValueError("config multitask needs platforms.mrr (its networks are MRR weight "
                         "banks); add the block or drop multitask and fig6_multitask.")
    _missing = [m for m in MT["methods"] if m not in config["methods"]]
    if _missing:
        raise ValueError(f"config multitask.methods names {_missing}, not in methods: the "
                         "classification task evaluates the method matrix's MRR models; add them "
                         "to methods or drop them from multitask.methods.")
elif "fig6_multitask" in config["figures"]:
    raise ValueError("config figures lists fig6_multitask but there is no multitask block; add "
                     "one (see config/config.yaml) or drop the figure.")


def intermediates():
    """Every model and every per-model evaluation table of the run (called when the DAG is
    built, after every rules file has been read). Listed as targets of `all`, so that a model or
    table that was deleted (e.g. unreadable) is rebuilt by the next plain run, with whatever
    depends on it."""
    seeds = config["seeds"]
    files = [f"{R}/models/{p}/{m}/seed{s}.pt" for p, m, s in RUNS]
    files += [f"{R}/eval/{p}/{m}/seed{s}/{t}.csv" for p, m, s in RUNS for t in MODEL_TABLES]
    files += [f"{R}/eval/{p}/{kind}.csv" for kind, ps in PLATFORM_TABLES.items() for p in ps]
    files += [m for p in RHO_PLATFORMS for m in rho_sweep_models(SimpleNamespace(platform=p))]
    for a, m in ABLATION_RUNS:
        files += [f"{R}/ablations/{a}/models/{m}/seed{s}.pt" for s in seeds]
        files += [f"{R}/ablations/{a}/eval/{m}/seed{s}/{t}.csv" for s in seeds
                  for t in ABLATION_TABLES]
    files += [f"{R}/eval/ladder/{h}.csv" for h in LADDER]
    if MT:
        files += [task_model(t, m, s) for t in TASKS for m in MT["methods"] for s in seeds]
        files += [FEATURE_CLASSIFIER] + [f"{MT_DIR}/eval/{t}.csv" for t in TASKS]
    return sorted(set(files))


def task_model(task, method, seed):
    """A model of fig6's `task`: the method matrix's MRR classifier, or a task network."""
    if task == "classification":
        return f"{R}/models/mrr/{method}/seed{seed}.pt"
    return f"{MT_DIR}/models/{task}/{method}/seed{seed}.pt"


if MT:
    ALL_TABLES += ["multitask", "multitask_examples"]
if "mrr" in config["platforms"]:
    ALL_TABLES.append("ring_detuning")  # figS2


def matrix_models(platform, methods):
    """Every seed's model of `methods` on `platform` (the method matrix's files)."""
    return [f"{R}/models/{platform}/{m}/seed{s}.pt" for m in methods for s in config["seeds"]]


