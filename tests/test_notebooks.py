"""The figure notebooks: clean sources, parameters cells with the quick defaults, and nbval
references in sync with the sources (nbval itself runs tests/nbval/*.ipynb, see pyproject)."""

from __future__ import annotations

import ast

import nbformat
import pytest
from conftest import REPO

from pnnsat.config import load_config

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
QUICK = load_config("config/quick.yaml")


def code_cells(path):
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def test_every_configured_figure_has_a_notebook():
    assert {p.stem for p in NOTEBOOKS} >= set(load_config()["figures"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_source_notebook_is_clean_and_parameterised(path):
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "strip outputs"
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    values = {}
    for node in ast.parse(params[0].source).body:
        values[node.targets[0].id] = ast.literal_eval(node.value)
    assert values["results_dir"] == QUICK["results_dir"]
    # a hand run (or nbval) saves to a scratch folder, never over a pipeline run's figures
    assert values["figures_dir"] == "results/by-hand/figures"
    assert values["figures_dir"] not in {QUICK["figures_dir"], load_config()["figures_dir"]}
    assert values["platforms"] and set(values["platforms"]) <= set(QUICK["platforms"])
    checked = [c for c in nb.cells if "nbval-check-output" in c.metadata.get("tags", [])]
    assert len(checked) == 1, "exactly one summary cell is compared by nbval"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_nbval_reference_matches_source(path):
    reference = REPO / "tests/nbval" / path.name
    assert reference.is_file(), "run `make nbval-refs`"
    assert code_cells(reference) == code_cells(path), "reference is stale: run `make nbval-refs`"
    nb = nbformat.read(reference, as_version=4)
    summary = [c for c in nb.cells if "nbval-check-output" in c.metadata.get("tags", [])]
    assert summary[0].outputs, "the reference must hold the summary output nbval compares"
