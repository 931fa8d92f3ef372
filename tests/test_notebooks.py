"""The figure notebooks and their published executions.

nbval runs tests/nbval/*.ipynb, written by conftest.py from the source notebook and its published
execution (pnnsat.published.nbval_notebook): the source's code on the committed tables, compared
with the published summary. These tests keep the pieces that makes exact in line: clean sources
whose defaults are the published figure's parameters, published notebooks executed from the
current sources, and a derivation that cannot hide a changed number or a failing cell.
"""

from __future__ import annotations

import os
import subprocess
import sys

import nbformat
import pytest
from conftest import NBVAL_DIR, REPO

from pnnsat import catalog, published
from pnnsat.config import load_config

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
FULL = load_config()


def read(path):
    return nbformat.read(path, as_version=4)


def committed(path):
    """The notebook as git stores it (the index: what a commit takes), through the nbstripout
    filter of notebooks/ (`make setup`); the working copy may keep the outputs of a run by hand."""
    relative = path.relative_to(REPO).as_posix()
    run = subprocess.run(["git", "show", f":{relative}"], cwd=REPO, capture_output=True,
                         text=True)
    assert run.returncode == 0, f"{relative} is not in git's index: {run.stderr.strip()}"
    return nbformat.reads(run.stdout, as_version=4)


def published_notebook(path):
    return read(REPO / "figures/notebooks" / path.name)


def test_every_configured_figure_has_a_notebook_and_a_published_execution():
    names = {p.stem for p in NOTEBOOKS}
    assert names >= set(FULL["figures"])
    assert {p.stem for p in (REPO / "figures/notebooks").glob("*.ipynb")} == names
    assert {f"{n}.ipynb" for n in names} == {p.name for p in NBVAL_DIR.glob("*.ipynb")}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_source_notebook_is_clean_and_reads_the_published_tables(path):
    nb = committed(path)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "strip outputs"
    assert len(published.tagged(nb, "parameters")) == 1
    values = published.parameters(nb)
    assert values["results_dir"] == FULL["figures_dir"] == published.PUBLISHED
    # a hand run saves to a scratch folder, never over a pipeline run's figures
    assert values["figures_dir"] == "results/by-hand/figures"
    # what it draws is the catalog's choice (None), never a list of ids of its own
    assert values.get("platforms", None) is None and values.get("methods", None) is None
    # nbval compares two printed outputs: the verdict (after the cell that reads the tables),
    # then the summary
    checked = published.tagged(nb, published.CHECKED)
    assert len(checked) == 2 and checked[0].id == "verdict", \
        "the verdict and the summary, in that order, are the cells nbval compares"
    assert published.tagged(nb, "verdict") == checked[:1]
    assert f'print_verdict("{path.stem}", results_dir)' in checked[0].source
    assert "**Verdict**" in nb.cells[0].source and "**What to look for**" in nb.cells[0].source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_published_notebook_is_an_execution_of_the_current_source(path):
    source, executed = read(path), published_notebook(path)
    stale = "figures/notebooks is stale: redraw it (`make redraw`)"
    assert published.code_cells(executed) == published.code_cells(source), stale
    # the source's defaults are the published figure's parameters (Run All redraws it): equal,
    # or None where the full run injected what None resolves to (pnnsat.catalog)
    assert published.parameters(executed)["figures_dir"] == published.PUBLISHED
    ran = {k: v for k, v in published.parameters(executed).items() if k != "figures_dir"}
    defaults = {k: v for k, v in published.parameters(source).items() if k != "figures_dir"}
    resolved = catalog.figure_parameters(path.stem, FULL)
    assert set(ran) == set(defaults), stale
    for name, value in ran.items():
        assert value == defaults[name] or (defaults[name] is None and value == resolved[name]), \
            (name, stale)
    for checked in published.tagged(executed, published.CHECKED):  # verdict, summary
        assert checked.outputs and all(o.output_type == "stream" for o in checked.outputs)
    verdict = "".join(o.text for o in published.tagged(executed, "verdict")[0].outputs)
    assert verdict.startswith(f"Verdict ({path.stem}") and "separated" in verdict
    assert not any(o.output_type == "error" for c in executed.cells if c.cell_type == "code"
                   for o in c.outputs)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_nbval_notebook_runs_the_source_against_the_published_summary(path):
    nb = read(NBVAL_DIR / path.name)
    assert published.code_cells(nb) == published.code_cells(read(path))
    assert published.parameters(nb)["figures_dir"] == published.NBVAL_FIGURES
    assert published.parameters(nb)["results_dir"] == published.PUBLISHED
    references = published.tagged(published_notebook(path), published.CHECKED)
    assert [c.outputs for c in published.tagged(nb, published.CHECKED)] == \
        [c.outputs for c in references]


def nbval(notebook, tmp_path):
    """Run nbval on one notebook in a separate pytest (no xdist); its exit code and output."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "tests")}  # the number-aware comparison
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                          "-p", "no:xdist", "-p", "nbval_numbers", "--rootdir", str(tmp_path),
                          "-c", "/dev/null", "--nbval-lax", str(notebook)],
                         cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    return run.returncode, run.stdout + run.stderr


def variant(name, folder, results_dir=None, append=None):
    """The nbval notebook of figure ``name`` written into ``folder``, reading ``results_dir``
    instead of the committed tables, and/or with ``append`` added to its first code cell after
    the parameters."""
    nb = read(NBVAL_DIR / name)
    injected = published.tagged(nb, published.INJECTED)[0]
    if results_dir is not None:
        injected.source += f"\nresults_dir = {str(results_dir)!r}"
    if append is not None:
        after = nb.cells[nb.cells.index(injected) + 1]
        after.source += "\n" + append
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)
    return folder / name


def test_nbval_fails_on_a_changed_published_number_and_on_a_broken_notebook(tmp_path):
    """The references are exact: one committed number changed (the kept epoch's validation
    accuracy of one model, +3 points) fails its figure's nbval; a cell that raises fails; the
    untouched copy of the tables passes."""
    import shutil

    import pandas as pd

    name = "figS4_convergence.ipynb"
    tables = tmp_path / "run" / "tables"
    shutil.copytree(REPO / "figures/tables", tables)
    code, out = nbval(variant(name, tmp_path / "same", tmp_path / "run"), tmp_path)
    assert code == 0, out

    curves = pd.read_csv(tables / "curves.csv")
    row = curves.index[(curves.platform == "mrr") & (curves.method == "bp") & (curves.seed == 0)
                       & curves.kept][0]
    curves.loc[row, "val_accuracy_target"] += 0.03
    curves.to_csv(tables / "curves.csv", index=False)
    code, out = nbval(variant(name, tmp_path / "changed", tmp_path / "run"), tmp_path)
    assert code != 0 and "differs from the reference" in out, out

    broken = variant(name, tmp_path / "broken",
                     append="raise RuntimeError('a deliberately broken notebook')")
    code, out = nbval(broken, tmp_path)
    assert code != 0 and "deliberately broken" in out, out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_published_notebook_says_what_it_is_and_what_drew_it(path):
    """Its first cell names its source and how to redraw it; its metadata names every table it
    read with the SHA-256 of the committed file (a table changed without `make redraw` fails
    here); every cell is read-only in Jupyter; no execution time is kept."""
    import hashlib

    nb = published_notebook(path)
    header = nb.cells[0]
    assert header.cell_type == "markdown" and header.id == published.HEADER_ID
    assert f"`notebooks/{path.stem}.ipynb`" in header.source
    assert f"pnnsat redraw {path.stem}" in header.source
    drawn = nb.metadata["pnnsat"]
    assert set(drawn["tables"]) == {f"figures/tables/{t}.csv"
                                    for t in catalog.figure_tables(path.stem)}
    for table, digest in drawn["tables"].items():
        assert hashlib.sha256((REPO / table).read_bytes()).hexdigest() == digest, \
            f"{table} changed since {path.stem} was drawn: `make redraw`"
        assert f"`{table}` (SHA-256 `{digest[:12]}…`)" in header.source
    assert {"python", "numpy", "pandas", "matplotlib"} <= set(drawn["versions"])
    assert all(c.metadata.get("editable") is False and c.metadata.get("deletable") is False
               for c in nb.cells)
    assert not any(key in c.metadata for c in nb.cells for key in published.VOLATILE_CELL_KEYS)
    assert not set(published.VOLATILE_NOTEBOOK_KEYS) & set(nb.metadata.get("papermill", {}))


def test_publishing_an_execution_again_gives_the_same_bytes(tmp_path):
    """publish() drops what changes between executions (times, papermill's random cell ids) and
    replaces, never repeats, its first cell: the published fig4 given papermill's execution
    metadata again publishes to the committed bytes (but the path it was written to)."""
    committed_path = REPO / "figures/notebooks/fig4_thermal_drift.ipynb"
    nb = read(committed_path)
    for cell in nb.cells:
        cell.metadata["papermill"] = {"duration": 0.5, "start_time": "2026-01-01T00:00:00"}
        cell.metadata["execution"] = {"iopub.status.idle": "2026-01-01T00:00:01Z"}
    nb.metadata.papermill["start_time"] = "2026-01-01T00:00:00"
    executed = tmp_path / "executed.ipynb"
    nbformat.write(nb, executed)
    target = published.publish(executed, tmp_path / "fig4_thermal_drift.ipynb")
    assert not target.stat().st_mode & 0o222, "published without write permission"
    again = read(target)
    assert [c.id for c in again.cells].count(published.HEADER_ID) == 1
    again.metadata.papermill["output_path"] = nb.metadata.papermill["output_path"]
    assert nbformat.writes(again) == committed_path.read_text(encoding="utf-8").rstrip("\n")
