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
import contextlib
import copy
import os
import sys
import tempfile
from collections.abc import Iterator
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
#: the tag of the cells whose printed outputs nbval compares (the verdict and the summary)
CHECKED = "nbval-check-output"


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
    :data:`NBVAL_FIGURES`), with the published verdict and summary cells' outputs as the
    references."""
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
    references, checked = tagged(published, CHECKED), tagged(nb, CHECKED)
    if len(references) != len(checked) or not all(r.outputs for r in references):
        raise ValueError(f"{published_path} lacks the outputs of the {len(checked)} cells tagged "
                         f"{CHECKED} in its source (verdict, summary): run `make redraw`.")
    for cell, reference in zip(checked, references, strict=True):
        # nbval skips a cell without an execution count ("unrun"): keep the published one's
        cell.outputs, cell.execution_count = reference.outputs, reference.execution_count
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


#: the packages whose versions a published notebook records (besides Python and pnnsat)
RECORDED_PACKAGES = ("numpy", "pandas", "scipy", "matplotlib", "seaborn", "papermill", "torch")
#: cell ids of what publishing adds or renames (stable, so a redraw writes the same bytes)
HEADER_ID = "published-header"
#: metadata that changes at every execution and says nothing about the figure
VOLATILE_NOTEBOOK_KEYS = ("start_time", "end_time", "duration", "environment_variables")
VOLATILE_CELL_KEYS = ("execution", "papermill")


def publish(executed: str | Path, target: str | Path) -> Path:
    """Write the papermill execution ``executed`` of a figure notebook as its published copy
    ``target``: a first cell saying what it is, how to redraw it without computing and what it
    was drawn from (each table's SHA-256, the packages' versions); every cell read-only in
    Jupyter (``editable``/``deletable`` false) and the file itself without write permission;
    execution times and random cell ids dropped, so the same tables give the same bytes."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    name = Path(target).stem
    if name not in figure_names():
        raise ValueError(f"{target}: no figure notebook named {name!r} in {SOURCES}/.")
    info = nb.metadata.get("papermill", {})
    for key in VOLATILE_NOTEBOOK_KEYS:
        info.pop(key, None)
    if info:
        info["input_path"] = f"{SOURCES}/{name}.ipynb"
        info["output_path"] = _relative(target)
    nb.cells = [c for c in nb.cells if c.get("id") != HEADER_ID]
    for cell in nb.cells:
        for key in VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)
        if INJECTED in cell.metadata.get("tags", []):
            cell.id = INJECTED
        cell.metadata.update(editable=False, deletable=False)
    provenance = _provenance(name, parameters(nb)["results_dir"])
    nb.metadata["pnnsat"] = {"published": True, "source": f"{SOURCES}/{name}.ipynb",
                             **provenance}
    header = nbformat.v4.new_markdown_cell(_header(name, provenance),
                                           metadata={"editable": False, "deletable": False})
    header.id = HEADER_ID
    nb.cells.insert(0, header)
    with atomic_path(target) as tmp:
        nbformat.write(nb, tmp)
    Path(target).chmod(0o444)  # read-only for Jupyter and editors (git keeps no write bits)
    return Path(target)


def _relative(path: str | Path) -> str:
    path = Path(path).absolute()
    root = resolve(".")
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _provenance(name: str, results_dir: str) -> dict[str, Any]:
    """What figure ``name`` was drawn from: each table it reads (path, SHA-256) and the
    versions of Python and the packages that drew it."""
    import hashlib
    import platform
    from importlib import metadata

    from .catalog import figure_tables

    tables = {}
    for table in figure_tables(name):
        path = resolve(results_dir) / "tables" / f"{table}.csv"
        if path.is_file():
            tables[_relative(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    versions = {"python": platform.python_version()}
    for package in ("pnnsat", *RECORDED_PACKAGES):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {"tables": tables, "versions": versions}


def _header(name: str, provenance: dict[str, Any]) -> str:
    """The first cell of a published notebook (Markdown)."""
    tables = "; ".join(f"`{path}` (SHA-256 `{digest[:12]}…`)"
                       for path, digest in provenance["tables"].items())
    versions = ", ".join(f"{k} {v}" for k, v in provenance["versions"].items())
    return (
        f"> **Published execution, read-only.** This is the executed copy of "
        f"`{SOURCES}/{name}.ipynb` that drew `{PUBLISHED}/{name}.png` (and `.pdf`). Read it here. "
        "Run by hand, it changes nothing committed: JupyterLab started with `make lab` refuses "
        "to save it, the file has no write permission, and a figure it draws goes to "
        "`results/by-hand/figures/`.\n"
        ">\n"
        f"> **Redraw it without computing** (seconds, from the committed tables): open "
        f"`{SOURCES}/{name}.ipynb` and *Run All* (it saves into `results/by-hand/figures/`), or "
        f"run `make redraw` or `.venv/bin/python -m pnnsat redraw {name}`. **Recompute it from "
        "training**: `make figures` (the full run; see the README).\n"
        ">\n"
        f"> **Drawn from** {tables}; with {versions}.")


def redraw(names: list[str] | None = None, figures_dir: str = PUBLISHED) -> list[Path]:
    """Re-execute figure notebooks on the committed tables: each source notebook runs with the
    parameters injected into its published execution (reading ``figures/tables``; see
    :func:`_published_parameters`) and saves its figure into ``figures_dir``; the execution is
    published (:func:`publish`) over ``<figures_dir>/notebooks/<name>.ipynb`` only if every cell
    ran. The same tables and source give the same bytes: figure, PDF and notebook."""
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
        with tempfile.TemporaryDirectory() as scratch, _publishing():
            executed = Path(scratch) / f"{name}.ipynb"
            try:
                papermill.execute_notebook(
                    str(resolve(SOURCES) / f"{name}.ipynb"), str(executed),
                    parameters=_published_parameters(target, figures_dir), kernel_name="python3",
                    progress_bar=False, cwd=str(resolve(".")))
            except papermill.PapermillExecutionError as err:
                raise RedrawError(f"{name}: cell {err.exec_count} failed with {err.ename}: "
                                  f"{err.evalue}; {target} is left as it was.") from err
            written.append(publish(executed, target))
    return written


@contextlib.contextmanager
def _publishing() -> Iterator[None]:
    """The kernels started inside may write the published figures
    (:func:`pnnsat.plotting.save_figure`; the figure rule sets the same variable)."""
    before = os.environ.get("PNNSAT_PUBLISHING")
    os.environ["PNNSAT_PUBLISHING"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["PNNSAT_PUBLISHING"]
        else:
            os.environ["PNNSAT_PUBLISHING"] = before


def _published_parameters(target: Path, figures_dir: str) -> dict[str, Any]:
    """What papermill injects to redraw ``target``: the values injected into its published
    execution (so the redrawn copy is that execution again), saving into ``figures_dir``."""
    import nbformat

    values: dict[str, Any] = {}
    if target.is_file():
        for cell in tagged(nbformat.read(target, as_version=4), INJECTED):
            values.update(_assignments(cell.source))
    values["figures_dir"] = figures_dir
    return dict(sorted(values.items()))
