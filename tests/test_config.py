"""The config schema rejects bad values before any work, naming the key."""

from __future__ import annotations

import copy

import pytest
import yaml
from conftest import REPO

from pnnsat import catalog
from pnnsat.config import ConfigError, load_config, schema, validate
from pnnsat.methods import METHODS
from pnnsat.platforms import PLATFORMS

SCHEMA = schema()


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


def test_the_snakefile_validates_with_this_validator(tmp_path):
    """One validator: the Snakefile's config check is pnnsat.config.validate, so a bad value
    stops the DAG with the message load_config gives (not a second schema's)."""
    import subprocess
    import sys

    bad = tmp_path / "bad.yaml"
    bad.write_text("training: {lr: -1}\n")
    with pytest.raises(ConfigError) as direct:
        load_config(bad)
    result = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--configfile", str(bad)],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode != 0
    assert "invalid value at 'training.lr'" in str(direct.value)
    assert "invalid value at 'training.lr'" in result.stdout + result.stderr


def test_every_id_enum_of_the_schema_is_the_catalogs():
    """The schema's ids are generated from the catalog: every method, platform and figure
    list of the config accepts exactly the catalog's ids, in every place it names them."""
    props = SCHEMA["properties"]
    defs = SCHEMA["$defs"]
    assert defs["method_id"]["enum"] == list(catalog.METHODS) == list(METHODS)
    assert defs["platform_id"]["enum"] == list(catalog.PLATFORMS) == list(PLATFORMS)
    assert defs["figure_id"]["enum"] == list(catalog.FIGURES)
    assert set(defs["in_silico_method_id"]["enum"]) == {
        m for m, r in catalog.METHODS.items() if r.family == "in silico"}
    assert list(props["platforms"]["properties"]) == list(catalog.PLATFORMS)
    refs = [props["methods"]["items"], props["rho_sweep"]["properties"]["platforms"]["items"],
            props["ablations"]["additionalProperties"]["properties"]["platform"],
            props["ablations"]["additionalProperties"]["properties"]["methods"]["items"],
            props["figures"]["items"]]
    assert all(r["$ref"].endswith("_id") for r in refs)
    # every config list of ids is checked: an unknown one anywhere is rejected
    for path in (["methods"], ["rho_sweep", "platforms"], ["figures"]):
        bad = load_config()
        node = bad
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = [*node[path[-1]], "unknown_id"]
        with pytest.raises(ConfigError, match="unknown_id"):
            validate(bad)


def test_schema_platform_blocks_have_exactly_the_dataclass_fields():
    """platform_specific.<id> in config/schema.yaml mirrors each platform's physics and
    fabrication dataclasses: a field added to the code without the schema (or the reverse)
    fails here, not as 'additional properties' in a user's run."""
    from dataclasses import fields

    for name, platform in PLATFORMS.items():
        block = SCHEMA["properties"]["platforms"]["properties"][name]["properties"]
        fabrication = {f.name for f in fields(type(platform.fabrication({"device": {}})))}
        assert set(block["physics"]["properties"]) == {f.name for f in fields(platform.physics)}
        assert set(block["device"]["properties"]) == fabrication | {"seed"}, name
        network = {f.name for f in fields(platform.network)} if platform.network else None
        assert set(block.get("network", {}).get("properties", {})) == (network or set()), name


def test_catalog_figures_are_exactly_the_notebooks_and_list_the_tables_they_read():
    """A figure is a notebook plus a catalog row; every table its code reads by name is among
    the row's tables (a table missing there is no input of the figure job: the job could run
    before the table is published)."""
    import json
    import re

    notebooks = {p.stem: p for p in (REPO / "notebooks").glob("*.ipynb")}
    assert set(catalog.FIGURES) == set(notebooks)
    for fig, path in notebooks.items():
        code = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"]
                       if c["cell_type"] == "code")
        read = set(re.findall(r'read_table\(results_dir, "(\w+)"', code))
        assert read <= set(catalog.figure_tables(fig)), (fig, read - set(catalog.FIGURES[fig]
                                                                          .tables))


def test_readme_figure_table_is_the_catalogs():
    """The README's figure table (and the report's captions) come from the catalog: paste
    `python -m pnnsat.catalog` into the README after editing a caption."""
    assert catalog.readme_figure_table() in (REPO / "README.md").read_text(encoding="utf-8")


def test_every_catalog_platform_and_method_carries_its_display_metadata():
    """A platform or method added to the catalog without labels fails here, not with a KeyError
    in a notebook: every fabrication and perturbation field a sweep can vary has an axis label."""
    from dataclasses import fields

    for name, platform in PLATFORMS.items():
        fabrication = type(platform.fabrication({"device": {}}))
        names = {f.name for f in fields(fabrication)} | {f.name for f in
                                                          fields(platform.perturbation)}
        labels = catalog.PLATFORMS[name].field_labels
        assert names <= set(labels), (name, names - set(labels))
        assert catalog.PLATFORMS[name].control_unit, f"{name}: no unit of its controls"
    assert len({row.marker for row in catalog.PLATFORMS.values()}) == len(catalog.PLATFORMS)
    assert all(row.family in catalog.FAMILY_LINESTYLE for row in METHODS.values())
    assert len({row.colour for row in METHODS.values()}) == len(METHODS)


def test_catalog_rows_resolve_and_the_figure_modules_start_without_torch():
    """Catalog rows name their classes and modules (imported on first use): every row must
    resolve, to a platform of that id and a Method class whose in_situ flag is its row's family;
    the modules the figures' notebooks import (catalog, plotting, reports, tables) must not import
    torch (~2.5 s per notebook)."""
    import subprocess
    import sys

    from pnnsat.methods import Method, method_class

    assert all(PLATFORMS[name].name == name for name in PLATFORMS)
    for name, row in METHODS.items():
        cls = method_class(name)
        assert issubclass(cls, Method)
        assert cls.in_situ == (row.family == "in situ"), name
    code = ("import sys; import pnnsat.catalog, pnnsat.plotting, pnnsat.reports, pnnsat.tables; "
            "from pnnsat.methods import METHODS; from pnnsat.platforms import PLATFORMS; "
            "print(len(METHODS), list(PLATFORMS), 'torch' in sys.modules)")
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
