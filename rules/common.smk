# Shared by every rule file: the library on sys.path, parse-time checks of the config, paths,
# the code each stage depends on, training specs, ablations, the rho sweep, figure metadata.
import functools
import hashlib
import mimetypes

sys.path.insert(0, str(Path(workflow.basedir) / "src"))
# Only torch-free modules at parse time (`import pnnsat` pins the numerics for every job, see
# pnnsat.numerics); the checks that build the library's objects import torch when they run.
from pnnsat.catalog import (  # noqa: E402
    FIGURES,
    METHODS,
    PLATFORMS,
    figure_parameters,
    figure_tables,
    rows_drawn,
)
from pnnsat.config import deep_merge, differences  # noqa: E402
from pnnsat.dependencies import code_dependencies, notebook_imports  # noqa: E402
from pnnsat.numerics import requested_level  # noqa: E402
from pnnsat.paths import unwritable_folder  # noqa: E402
from pnnsat.tables import TABLE_SWEEPS  # noqa: E402


# Ablations (figS5): extra models beside the method matrix, each trained and evaluated like the
# matrix's models on its platform's block with the keys of `set` changed (deep-merged).
ABLATIONS = config.get("ablations") or {}


def ablation_block(name):
    return deep_merge(config["platforms"][ABLATIONS[name]["platform"]], ABLATIONS[name].get("set", {}))


def check_method_block(platform, method, block, where):
    """`method`'s options in `block` build and fit `platform` (ValueError naming `where`)."""
    from pnnsat.methods import build_method
    from pnnsat.platforms import get_platform

    try:
        build_method(method, block.get(method, {})).validate_for(get_platform(platform))
    except ValueError as err:
        raise ValueError(f"config {where}: {err}") from None


SCHEMA = Path(workflow.basedir) / "config" / "schema.yaml"


def check_config():
    """The config against config/schema.yaml; every (platform, method) option block builds its
    method, every evaluation sweep names fields of its platform, every ablation's methods and
    network build: a bad block stops the run here, before any job, naming its key path."""
    from pnnsat.config import validate
    from pnnsat.evaluation import check_sweeps
    from pnnsat.platforms import get_platform

    validate(config, "config")  # the schema, ablations included (one validator: pnnsat.config)

    for p in config["platforms"]:
        for m in config["methods"]:
            check_method_block(p, m, config["platforms"][p], f"platforms.{p}.{m}")
        try:
            check_sweeps(p, config["platforms"][p])
        except ValueError as err:
            raise ValueError(f"config {err}") from None
    for a, spec in ABLATIONS.items():
        if spec["platform"] not in config["platforms"]:
            raise ValueError(f"config ablations.{a}.platform = {spec['platform']}, not in "
                             f"platforms ({', '.join(config['platforms'])}).")
        block = ablation_block(a)
        for m in spec["methods"]:
            check_method_block(spec["platform"], m, block, f"ablations.{a} ({m})")
        try:  # the changed network must build
            get_platform(spec["platform"]).build_model(block)
        except ValueError as err:
            raise ValueError(f"config ablations.{a}: {err}") from None


def checked_stamp():
    """A file named by a hash of this run's config, the schema and the library's source: the
    checks of `check_config` (seconds: jsonschema's import alone takes 2 s, the library's
    torch 2 s more) run once per (config, schema, library) version, not at every parse (a
    cluster job parses the Snakefile twice). The schema sets no defaults, so skipping its
    validation changes nothing in `config`."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
    digest.update(SCHEMA.read_bytes())
    for path in sorted((Path(workflow.basedir) / "src/pnnsat").rglob("*.py")):
        digest.update(path.read_bytes())
    return Path(workflow.basedir) / ".snakemake" / "pnnsat-checked" / digest.hexdigest()[:20]


_stamp = checked_stamp()
if not _stamp.exists():
    check_config()
    _stamp.parent.mkdir(parents=True, exist_ok=True)
    _stamp.touch()

# figures/ holds the committed paper figures, their tables and executed notebooks: only the
# documented full run (config.yaml as it is) writes there. A config layered on top
# (`--configfile my.yaml`, `--config key=value`) that changes anything must keep both its
# results_dir and its figures_dir out of figures/ (neither the folder nor anything inside it).
_PUBLISHED = (Path(workflow.basedir) / "figures").resolve()


def _inside_published(path):
    where = (Path(workflow.basedir) / str(path)).resolve()
    return where == _PUBLISHED or _PUBLISHED in where.parents


_into_figures = [k for k in ("results_dir", "figures_dir") if _inside_published(config[k])]
if _into_figures:
    # config/config.yaml as committed (read without a second schema validation: see checked_stamp)
    _default = yaml.safe_load((Path(workflow.basedir) / "config" / "config.yaml").read_text())
    _changed = differences(_default, config)
    if _changed:
        raise ValueError(
            f"this run's config differs from config/config.yaml ({', '.join(_changed[:5])}) but "
            f"its {' and '.join(f'{k} = {config[k]!r}' for k in _into_figures)} would write into "
            "figures/, the committed paper figures. Give your config file its own results_dir "
            "and figures_dir outside figures/, or layer it on the quick run: "
            "--configfile config/quick.yaml my.yaml (--configfile replaces the quick profile's "
            "config file rather than adding to it)."
        )

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



def figure_code(w):
    """What a figure notebook imports from the library (its cells' `from pnnsat... import`). The
    catalog rows it draws (labels, colours, markers) are the figure job's `rows` param instead
    (`pnnsat.catalog.rows_drawn`)."""
    return code_dependencies(notebook_imports(f"notebooks/{w.fig}.ipynb", PKG), PKG)


# the executed notebooks are report items too (mimetype, so the report offers them as notebooks)
mimetypes.add_type("application/x-ipynb+json", ".ipynb")
# Per-model evaluation tables (pnnsat.tables: training cost, curves, thermal drift, alignment,
# cross-device, fresh chips), all written by one evaluate job per model (one process: the
# test features are computed once); every platform block defines the sweeps.
TABLES = list(TABLE_SWEEPS)
SWEEP_KEYS = [key for key in TABLE_SWEEPS.values() if key]



# Keys of a platform's config block that define the hardware a model is trained for.
TRAINING_KEYS = ("physics", "device", "network")
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


# Ablations (ABLATIONS, ablation_block: top of this file): the tables they write.
ABLATION_TABLES = ["training", "thermal_drift", "fresh_chips"]


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
# A figure whose input list is empty would fail only after all training (a gather with no
# inputs): refused here, before any job. figure -> (config key, its value)
FIGURE_INPUT_LISTS = {"figS1_rho": ("rho_sweep.platforms", RHO_PLATFORMS),
                      "figS5_ablations": ("ablations", ABLATIONS)}
for _fig, (_key, _value) in FIGURE_INPUT_LISTS.items():
    if _fig in config["figures"] and not _value:
        raise ValueError(f"config {_key} is empty but figures lists {_fig}, which draws it: "
                         f"give {_key} at least one entry, or drop {_fig} from figures.")
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


def figure_params(w):
    """The values papermill injects into figure `w.fig`: results_dir and figures_dir, and the
    catalog's parameters for this run (`pnnsat.catalog.figure_parameters`) that its notebook
    declares. papermill would add an undeclared name as a new variable, and the published
    notebook would then differ from what Run All on the source draws (tests/test_notebooks.py)."""
    from pnnsat.published import declared_parameters

    source = Path(workflow.basedir) / "notebooks" / f"{w.fig}.ipynb"
    declared = declared_parameters(source)
    own = figure_parameters(w.fig, config)
    undeclared = sorted(set(FIGURES[w.fig].derived) - set(declared))
    if undeclared:
        raise ValueError(f"pnnsat.catalog.FIGURES[{w.fig!r}] derives {undeclared}, which "
                         f"{source.name}'s parameters cell does not declare: declare them there.")
    values = {"results_dir": FIG,  # the published tables, {FIG}/tables (rules/figures.smk)
              "figures_dir": FIG, **{k: v for k, v in own.items() if k in declared}}
    return yaml.safe_dump(values, default_flow_style=True, width=10_000).strip()


wildcard_constraints:
    platform="|".join(config["platforms"]),
    method="[a-z_]+",
    table="|".join(TABLES),
    rho=r"[0-9.e+-]+",
    fig="|".join(config["figures"]),  # FIGURES: the end of this file


ALL_TABLES = (TABLES + ["sharpness", "landscape"] + (["rho_sweep"] if RHO_PLATFORMS else [])
              + ([f"ablation_{t}" for t in ABLATION_TABLES] if ABLATIONS else []))


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
    files += [f"{R}/eval/{p}/{m}/seed{s}/{t}.csv" for p, m, s in RUNS for t in TABLES]
    files += [f"{R}/eval/{p}/{kind}.csv" for kind, ps in PLATFORM_TABLES.items() for p in ps]
    files += [m for p in RHO_PLATFORMS for m in rho_sweep_models(SimpleNamespace(platform=p))]
    for a, m in ABLATION_RUNS:
        files += [f"{R}/ablations/{a}/models/{m}/seed{s}.pt" for s in seeds]
        files += [f"{R}/ablations/{a}/eval/{m}/seed{s}/{t}.csv" for s in seeds
                  for t in ABLATION_TABLES]
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


# every figure config.figures asks for must have its tables in this run (fig6's need multitask)
_unbuildable = {f: sorted(set(figure_tables(f)) - set(ALL_TABLES)) for f in config["figures"]}
_unbuildable = {f: t for f, t in _unbuildable.items() if t}
if _unbuildable:
    raise ValueError(f"config figures: {_unbuildable} (figure: tables this run does not make); "
                     "add what makes them to the config (e.g. multitask for fig6_multitask) or "
                     "drop the figures from figures.")
