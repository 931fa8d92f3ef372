# Parse-time checks of the config (included first by the Snakefile): the library on sys.path,
# the schema and every method block, the ablations, and the committed figures/ kept out of reach
# of a layered config. Then rules/specs.smk (paths, code inputs, training specs, tables) and
# rules/figure_metadata.smk (what each figure job reads and is given).
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
    empty_config_lists,
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
    from pnnsat.instrument import instrument_from_config
    from pnnsat.platforms import get_platform

    validate(config, "config")  # the schema, ablations included (one validator: pnnsat.config)

    for p in config["platforms"]:
        for m in config["methods"]:
            check_method_block(p, m, config["platforms"][p], f"platforms.{p}.{m}")
        try:
            check_sweeps(p, config["platforms"][p])
            if config["platforms"][p].get("instrument"):
                instrument_from_config(config["platforms"][p]["instrument"])
        except (ValueError, TypeError) as err:
            raise ValueError(f"config {err}") from None
    for a, spec in ABLATIONS.items():
        if spec["platform"] not in config["platforms"]:
            raise ValueError(f"config ablations.{a}.platform = {spec['platform']}, not in "
                             f"platforms ({', '.join(config['platforms'])}).")
        block = ablation_block(a)
        for m in spec["methods"]:
            check_method_block(spec["platform"], m, block, f"ablations.{a} ({m})")
        try:  # the changed network (and device A's instrument, if any) must build
            get_platform(spec["platform"]).build_model(block)
            if block.get("instrument"):
                instrument_from_config(block["instrument"])
        except (ValueError, TypeError) as err:
            raise ValueError(f"config ablations.{a}: {err}") from None
    from pnnsat.ladder import check_headline
    from pnnsat.precision_sweep import check_spec as check_precision

    if config.get("precision"):
        try:
            check_precision(config["precision"], list(config["platforms"]))
        except ValueError as err:
            raise ValueError(f"config {err}") from None

    for h, spec in ((config.get("ladder") or {}).get("headlines") or {}).items():
        if spec["platform"] not in config["platforms"]:
            raise ValueError(f"config ladder.headlines.{h}.platform = {spec['platform']}, not in "
                             f"platforms ({', '.join(config['platforms'])}).")
        try:
            check_headline(h, spec, config["methods"], ABLATIONS)
        except ValueError as err:
            raise ValueError(f"config {err}") from None


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


# A figure whose config list is empty would fail only after all training (a gather with no
# inputs): refused here, before any job and before the checks that read those lists (its catalog
# row names the config lists it draws from).
for _fig in config["figures"]:
    for _key in empty_config_lists(_fig, config):
        raise ValueError(f"config {_key} is empty but figures lists {_fig}, which draws it: give "
                         f"{_key} at least one entry, or drop {_fig} from figures.")

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

