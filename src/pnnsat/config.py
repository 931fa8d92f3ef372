"""Loading and validating the pipeline config (``config/config.yaml``, ``config/quick.yaml``).

One JSON schema, :func:`schema` (``config/schema.yaml``'s structure with the ids of
:mod:`pnnsat.catalog`), and one validator, :func:`validate`, used by the Snakefile and here, so a
bad value stops both the DAG and a direct library call before any work, with a message naming
the key.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .paths import resolve

SCHEMA = "config/schema.yaml"
DEFAULT = "config/config.yaml"


class ConfigError(ValueError):
    """The config is invalid; the message names the key and the fix."""


def first_line(err: BaseException) -> str:
    """The first sentence of an exception's message, with its type: torch's load errors run on
    with advice that does not apply here (``weights_only``, how checkpoints get corrupted)."""
    text = str(err).strip().splitlines()
    if not text:
        return type(err).__name__
    return f"{type(err).__name__}: {text[0].split('. ')[0].rstrip('.')}"


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``, recursively for nested mappings (as Snakemake merges)."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def differences(base: Mapping[str, Any], other: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Key paths (``training.epochs``) whose values differ between two configs."""
    out = []
    for key in sorted(set(base) | set(other), key=str):
        path = f"{prefix}{key}"
        a, b = base.get(key), other.get(key)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            out += differences(a, b, path + ".")
        elif a != b:
            out.append(path)
    return out


def _key_path(error: Any) -> str:
    parts = [f"[{p}]" if isinstance(p, int) else str(p) for p in error.absolute_path]
    return ".".join(parts).replace(".[", "[") or "<top level>"


def schema() -> dict[str, Any]:
    """The config's JSON schema: ``config/schema.yaml`` with the catalog's ids in its ``*_id``
    enums, and ``platforms.<id>`` built for every catalog platform from ``platform_common``,
    ``platform_specific.<id>`` and an options block for each method with a ``$defs`` entry."""
    from .catalog import FIGURES, METHODS, PLATFORMS

    tree = yaml.safe_load(resolve(SCHEMA).read_text(encoding="utf-8"))
    defs = tree["$defs"]
    defs["method_id"]["enum"] = list(METHODS)
    defs["in_silico_method_id"]["enum"] = [m for m, r in METHODS.items()
                                           if r.family == "in silico"]
    defs["platform_id"]["enum"] = list(PLATFORMS)
    defs["figure_id"]["enum"] = list(FIGURES)
    common, specific = defs.pop("platform_common"), defs.pop("platform_specific")
    missing = [p for p in PLATFORMS if p not in specific]
    if missing:
        raise ConfigError(f"{SCHEMA} has no platform_specific block for {missing}: add one "
                          "(its physics, device and network keys) for each catalog platform.")
    options = {m: {"$ref": f"#/$defs/{m}"} for m in METHODS if m in defs}
    tree["properties"]["platforms"]["properties"] = {
        p: {"type": "object", "additionalProperties": False, "required": common["required"],
            "properties": {**specific[p], **common["properties"], **options}}
        for p in PLATFORMS}
    return tree


def _validator() -> Any:
    import jsonschema  # imported here: its format checkers take seconds to import

    return jsonschema.Draft202012Validator(schema())


def validate(config: Mapping[str, Any], source: str = "config") -> dict[str, Any]:
    """Raise :class:`ConfigError` naming the first offending key; return the config otherwise."""
    validator = _validator()
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        raise ConfigError(f"{source}: invalid value at '{_key_path(err)}': {err.message}. "
                          f"Fix it in {source} (allowed values are in {SCHEMA}).")
    validate_ablations(config, source, validator)
    return dict(config)


def validate_ablations(config: Mapping[str, Any], source: str = "config",
                       validator: Any = None) -> None:
    """Each ablation's ``set`` merged onto its platform's block must be a valid platform block
    (the same schema): a typo in ``set`` would otherwise train the baseline unnoticed. Raises
    :class:`ConfigError` naming the key path under ``ablations.<name>.set``."""
    if validator is None:
        validator = _validator()
    for name, spec in (config.get("ablations") or {}).items():
        platform = spec["platform"]
        if platform not in config.get("platforms", {}):
            continue  # named by the pipeline's own check (not in platforms)
        block = deep_merge(config["platforms"][platform], spec.get("set") or {})
        trial = {**config, "platforms": {**config["platforms"], platform: block}}
        errors = sorted(validator.iter_errors(trial), key=lambda e: list(e.absolute_path))
        if errors:
            err = errors[0]
            where = _key_path(err).replace(f"platforms.{platform}", f"ablations.{name}.set", 1)
            raise ConfigError(f"{source}: ablation {name!r}: invalid value at '{where}' (its set "
                              f"merged onto platforms.{platform}): {err.message}. Fix it in "
                              f"{source} (allowed keys and values are in {SCHEMA}).")


def load_config(*paths: str | Path) -> dict[str, Any]:
    """Load ``config/config.yaml`` and merge each of ``paths`` on top; validate the result."""
    files = [resolve(DEFAULT), *(resolve(p) for p in paths)]
    config: dict[str, Any] = {}
    for path in files:
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist.")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as err:  # its message names the line and column
            where = getattr(err, "problem_mark", None)
            at = f" (line {where.line + 1}, column {where.column + 1})" if where else ""
            raise ConfigError(f"config file {path} is not valid YAML{at}: "
                              f"{getattr(err, 'problem', None) or first_line(err)}.") from err
        if loaded is None:
            raise ConfigError(f"config file {path} is empty; give the keys it overrides, e.g. "
                              "'training: {epochs: 1}'.")
        if not isinstance(loaded, Mapping):
            raise ConfigError(f"{path}: top level must be a mapping of keys to values.")
        config = deep_merge(config, loaded)
    return validate(config, source=" + ".join(str(p.name) for p in files))
