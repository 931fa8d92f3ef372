"""The published figures: ``figures/`` holds each figure (PDF, PNG), the tables it was drawn from
(``figures/tables/``) and its executed notebook (``figures/notebooks/``), all committed.

Figure notebooks read tables only, so a published figure is redrawn from the committed tables in
seconds, on any machine, without training (:func:`redraw`, ``make redraw``). The executed
notebooks are also the regression references of the test suite: nbval re-executes each source
notebook on the committed tables and compares its summary with the published one
(:func:`nbval_notebook`), so the references never depend on the CPU that trained the models.
"""

from __future__ import annotations

import ast
import copy
import sys
import tempfile
from pathlib import Path
from typing import Any

from .paths import atomic_path, resolve

#: where the published figures, tables and executed notebooks live (relative to the repository)
PUBLISHED = "figures"
#: the figure notebooks' sources
SOURCES = "notebooks"
#: where nbval's executions save their figures (never over the published ones)
NBVAL_FIGURES = "results/nbval/figures"
INJECTED = "injected-parameters"


class RedrawError(RuntimeError):
    """A published figure could not be redrawn (one line: which, why, what to do)."""


def tagged(nb: Any, tag: str) -> list[Any]:
    """The cells of notebook ``nb`` carrying metadata tag ``tag``."""
    return [c for c in nb.cells if tag in c.metadata.get("tags", [])]


def parameters(nb: Any) -> dict[str, Any]:
    """A notebook's effective parameters: its ``parameters`` cell's defaults, overridden by
    the values papermill injected (if it was executed by papermill)."""
    values: dict[str, Any] = {}
    for cell in tagged(nb, "parameters") + tagged(nb, INJECTED):
        values.update(_assignments(cell.source))
    return values


def _assignments(source: str) -> dict[str, Any]:
    """``name = <literal>`` statements of a parameters cell, as a mapping."""
    return {node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse(source).body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}


def declared_parameters(path: str | Path) -> dict[str, Any]:
    """The defaults of a source notebook's ``parameters`` cell, read from its JSON (no nbformat:
    the Snakefile calls this at parse time, where only torch- and jsonschema-free code runs)."""
    import json

    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    values: dict[str, Any] = {}
    for cell in cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            values.update(_assignments("".join(cell["source"])))
    return values


def code_cells(nb: Any) -> list[str]:
    """The sources of a notebook's code cells, without papermill's injected parameters."""
    return [c.source for c in nb.cells
            if c.cell_type == "code" and INJECTED not in c.metadata.get("tags", [])]


def figure_names() -> list[str]:
    """The figures that have a source notebook, sorted."""
    return sorted(p.stem for p in resolve(SOURCES).glob("*.ipynb"))


def nbval_notebook(name: str) -> Any:
    """The notebook nbval runs for figure ``name``: the source notebook's cells, parameterised
    as the published execution was (its injected values, but saving its figure under
    :data:`NBVAL_FIGURES`), with the published summary cell's outputs as the reference."""
    import nbformat

    source = nbformat.read(resolve(SOURCES) / f"{name}.ipynb", as_version=4)
    published_path = resolve(PUBLISHED) / "notebooks" / f"{name}.ipynb"
    if not published_path.is_file():
        raise FileNotFoundError(f"{published_path} does not exist: every figure notebook needs "
                                "its published execution (run `make redraw`).")
    published = nbformat.read(published_path, as_version=4)
    nb = copy.deepcopy(source)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    values = {**parameters(published), "figures_dir": NBVAL_FIGURES}
    injected = nbformat.v4.new_code_cell(
        "# nbval: the published execution's parameters, saving under results/nbval\n"
        + "\n".join(f"{k} = {v!r}" for k, v in values.items()),
        metadata={"tags": [INJECTED]})
    position = nb.cells.index(tagged(nb, "parameters")[0]) + 1
    nb.cells.insert(position, injected)
    reference = tagged(published, "nbval-check-output")
    if len(reference) != 1 or not reference[0].outputs:
        raise ValueError(f"{published_path} has no summary output (a cell tagged "
                         "nbval-check-output with outputs): run `make redraw`.")
    summary = tagged(nb, "nbval-check-output")[0]
    # nbval skips a cell without an execution count ("unrun"): keep the published one's
    summary.outputs, summary.execution_count = reference[0].outputs, reference[0].execution_count
    return nb


def write_nbval_notebooks(folder: str | Path) -> list[Path]:
    """Write :func:`nbval_notebook` of every figure into ``folder`` (atomically)."""
    import nbformat

    written = []
    for name in figure_names():
        target = Path(folder) / f"{name}.ipynb"
        with atomic_path(target) as tmp:
            nbformat.write(nbval_notebook(name), tmp)
        written.append(target)
    return written


def redraw(names: list[str] | None = None, figures_dir: str = PUBLISHED) -> list[Path]:
    """Re-execute figure notebooks on the committed tables: each source notebook runs with its
    own defaults (the published figure's parameters, reading ``figures/tables``) and saves its
    figure into ``figures_dir``; the executed notebook replaces
    ``<figures_dir>/notebooks/<name>.ipynb`` only if every cell ran."""
    import nbformat
    import papermill

    known = figure_names()
    names = names or known
    unknown = [n for n in names if n not in known]
    if unknown:
        raise RedrawError(f"no figure notebook named {unknown}; known: {', '.join(known)}.")
    written = []
    for name in names:
        target = resolve(figures_dir) / "notebooks" / f"{name}.ipynb"
        print(f"redrawing {name} ...", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory() as scratch:
            executed = Path(scratch) / f"{name}.ipynb"
            try:
                papermill.execute_notebook(
                    str(resolve(SOURCES) / f"{name}.ipynb"), str(executed),
                    parameters={"figures_dir": figures_dir}, kernel_name="python3",
                    progress_bar=False, cwd=str(resolve(".")))
            except papermill.PapermillExecutionError as err:
                raise RedrawError(f"{name}: cell {err.exec_count} failed with {err.ename}: "
                                  f"{err.evalue}; {target} is left as it was.") from err
            nb = nbformat.read(executed, as_version=4)
        nb.metadata.papermill.input_path = f"{SOURCES}/{name}.ipynb"
        nb.metadata.papermill.output_path = str(target.relative_to(resolve(".")))
        with atomic_path(target) as tmp:
            nbformat.write(nb, tmp)
        written.append(target)
    return written
