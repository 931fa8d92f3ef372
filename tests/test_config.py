"""The config schema rejects bad values before any work, naming the key."""

from __future__ import annotations

import copy

import pytest
import yaml
from conftest import REPO
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate as snakemake_validate

from pnnsat.config import ConfigError, load_config, validate
from pnnsat.methods import METHODS
from pnnsat.platforms import PLATFORMS

SCHEMA = yaml.safe_load((REPO / "config/schema.yaml").read_text())


@pytest.fixture
def config():
    return load_config()


def test_default_and_quick_configs_are_valid():
    assert load_config()["name"] == "full"
    quick = load_config("config/quick.yaml")
    assert quick["name"] == "quick" and quick["results_dir"] != load_config()["results_dir"]


def test_unknown_method_is_rejected(config):
    config["methods"] = ["bp", "magic"]
    with pytest.raises(ConfigError, match=r"methods\[1\].*'magic' is not one of"):
        validate(config)


def test_negative_sigma_is_rejected(config):
    config["platforms"]["mrr"]["device"]["resonance_sigma_nm"] = -0.08
    with pytest.raises(ConfigError, match=r"platforms\.mrr\.device\.resonance_sigma_nm"):
        validate(config)


def test_missing_key_and_unknown_platform_are_rejected(config):
    bad = copy.deepcopy(config)
    del bad["training"]["epochs"]
    with pytest.raises(ConfigError, match="'epochs' is a required property"):
        validate(bad)
    bad = copy.deepcopy(config)
    bad["platforms"]["photonic_brain"] = {}
    with pytest.raises(ConfigError, match="photonic_brain"):
        validate(bad)


def test_snakemake_validation_uses_the_same_schema(config):
    config["training"]["lr"] = -1
    with pytest.raises(WorkflowError, match="lr"):
        snakemake_validate(config, str(REPO / "config/schema.yaml"))


def test_schema_lists_exactly_the_registered_methods_and_platforms():
    assert set(SCHEMA["properties"]["methods"]["items"]["enum"]) == set(METHODS)
    assert set(SCHEMA["properties"]["platforms"]["properties"]) == set(PLATFORMS)
    platform_enums = [SCHEMA["properties"]["rho_sweep"]["properties"]["platforms"]["items"]["enum"],
                      SCHEMA["properties"]["ablations"]["additionalProperties"]["properties"]
                      ["platform"]["enum"]]
    assert all(set(enum) == set(PLATFORMS) for enum in platform_enums)
    ablation_methods = (SCHEMA["properties"]["ablations"]["additionalProperties"]["properties"]
                        ["methods"]["items"]["enum"])
    assert set(ablation_methods) == set(METHODS)


def test_schema_lists_exactly_the_figures_that_have_notebooks():
    notebooks = {p.stem for p in (REPO / "notebooks").glob("*.ipynb")}
    assert set(SCHEMA["properties"]["figures"]["items"]["enum"]) == notebooks


def test_every_registered_platform_and_method_carries_its_display_metadata():
    """A platform or method added to its registry without labels fails here, not with a KeyError
    in a notebook: every fabrication and perturbation field a sweep can vary has an axis label."""
    from dataclasses import fields

    from pnnsat.methods import FAMILIES
    from pnnsat.platforms import DISPLAY

    assert list(DISPLAY) == list(PLATFORMS)
    for name, platform in PLATFORMS.items():
        fabrication = type(platform.fabrication({"device": {}}))
        names = {f.name for f in fields(fabrication)} | {f.name for f in
                                                          fields(platform.perturbation)}
        assert names <= set(DISPLAY[name].field_labels), (name, names - set(DISPLAY[name]
                                                                        .field_labels))
        assert DISPLAY[name].control_unit, f"{name}: no unit of its controls in DISPLAY"
    assert len({row.marker for row in DISPLAY.values()}) == len(DISPLAY)
    assert all(row.family in FAMILIES for row in METHODS.values())
    assert len({row.colour for row in METHODS.values()}) == len(METHODS)


def test_registries_resolve_every_row_and_the_figure_modules_start_without_torch():
    """Registry rows name their classes and modules (imported on first use): every row must
    resolve, to a platform of that id and a Method class; the modules the figures' notebooks
    import (plotting, reports, tables) must not import torch (~2.5 s per notebook)."""
    import subprocess
    import sys

    from pnnsat.methods import Method

    assert all(PLATFORMS[name].name == name for name in PLATFORMS)
    assert all(issubclass(row.build, Method) for row in METHODS.values())
    code = ("import sys; import pnnsat.plotting, pnnsat.reports, pnnsat.tables; "
            "from pnnsat.methods import METHODS; from pnnsat.platforms import DISPLAY, PLATFORMS; "
            "print(len(METHODS), len(DISPLAY), list(PLATFORMS), 'torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO)
    assert result.stdout.split()[-1] == "False", result.stdout + result.stderr
    with pytest.raises(KeyError):
        PLATFORMS["photonic-crystal"]


def test_license_and_citation_agree_with_the_package_metadata():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert citation["cff-version"].startswith("1.2")
    assert citation["version"] == project["version"]
    assert citation["license"] == project["license"] == "MIT"
    assert "MIT License" in (REPO / "LICENSE").read_text()
    assert any("2411.12352" in i["value"] for r in citation["references"]
               for i in r.get("identifiers", []))
