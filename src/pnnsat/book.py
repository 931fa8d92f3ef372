"""The browsable book: the README, ``docs/`` and the published executions of the figure notebooks
as a static HTML site (Jupyter Book 1.x: Sphinx with MyST-NB), built offline and without
executing anything (``make book``: seconds to a minute, no training).

:func:`stage` copies what the book shows into ``build/book/src`` with the repository's own
layout (so every relative link of the README and ``docs/`` resolves unchanged): ``README.md``
(the first page), ``docs/*.md``, the figures' PNGs and ``figures/notebooks/*.ipynb``, each
notebook's code folded (cell tag ``hide-input``) and its figure captioned from the catalog with
the paper's number (Figure 4, Figure S1); it writes the table of contents: the figures in the
catalog's order, then the documentation in :data:`DOC_PAGES`' order. :func:`build` runs Jupyter
Book on the copy with Sphinx warnings as errors (a broken link, a link to a file not staged, a
missing image fail the build) into ``build/book/html``; ``tests/test_book.py`` opens the built
site in headless Chromium.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .catalog import FIGURES
from .paths import resolve
from .published import HEADER_ID

#: where the staged sources and the site go (relative to the repository; git-ignored)
BUILD = "build/book"
#: the documentation pages in reading order (every docs/*.md must be listed)
DOC_PAGES = ("protocol", "physics", "methods", "evaluation", "multitask", "results", "pipeline",
             "performance", "reproducibility", "troubleshooting", "cluster")


class BookError(RuntimeError):
    """The book cannot be staged or built (one line: what is wrong, what to do)."""


def stage(out: str | Path | None = None) -> Path:
    """Copy the book's sources into ``out`` (default ``build/book/src``, emptied first) and write
    its ``_config.yml`` and ``_toc.yml``; the staged folder."""
    import nbformat

    repo = resolve(".")
    out = Path(out) if out is not None else repo / BUILD / "src"
    docs = sorted(p.stem for p in (repo / "docs").glob("*.md"))
    if sorted(DOC_PAGES) != docs:
        raise BookError(f"pnnsat.book.DOC_PAGES {sorted(DOC_PAGES)} differs from docs/*.md "
                        f"{docs}: list every page there, in reading order.")
    missing = [f for f in FIGURES if not (repo / "figures/notebooks" / f"{f}.ipynb").is_file()]
    if missing:
        raise BookError(f"no published execution of {missing} in figures/notebooks/: run "
                        "`make redraw` (or the full run) first.")
    if out.exists():
        shutil.rmtree(out)
    (out / "docs").mkdir(parents=True)
    shutil.copy(repo / "book/_config.yml", out / "_config.yml")
    shutil.copy(repo / "README.md", out / "README.md")
    for page in DOC_PAGES:
        shutil.copy(repo / "docs" / f"{page}.md", out / "docs" / f"{page}.md")
    (out / "figures/notebooks").mkdir(parents=True)
    for path in repo.glob("figures/*.png"):  # the README's gallery
        shutil.copy(path, out / "figures" / path.name)
    for name, row in FIGURES.items():
        nb = nbformat.read(repo / "figures/notebooks" / f"{name}.ipynb", as_version=4)
        # the page opens with the notebook's title; what the page is follows it
        header = [c for c in nb.cells if c.get("id") == HEADER_ID]
        nb.cells = [c for c in nb.cells if c.get("id") != HEADER_ID]
        nb.cells[1:1] = header
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            cell.metadata["tags"] = [*cell.metadata.get("tags", []), "hide-input"]
            if any("image/png" in o.get("data", {}) for o in cell.outputs):
                cell.metadata["mystnb"] = {"figure": {
                    "caption": f"**{figure_label(name)}.** {row.caption}",
                    "name": f"figure-{name}"}}
        nbformat.write(nb, out / "figures/notebooks" / f"{name}.ipynb")
    (out / "_toc.yml").write_text(_toc(), encoding="utf-8")
    return out


def figure_label(name: str) -> str:
    """The paper's label of figure ``name``: ``fig4_thermal_drift`` -> "Figure 4",
    ``figS1_rho`` -> "Figure S1"."""
    match = re.fullmatch(r"fig(S?\d+)_\w+", name)
    if match is None:
        raise BookError(f"figure id {name!r} is not fig<N>_<name> or figS<N>_<name>.")
    return f"Figure {match.group(1)}"


def _toc() -> str:
    """The table of contents (Jupyter Book's ``jb-book`` format)."""
    lines = ["format: jb-book", "root: README", "parts:",
             "  - caption: Figures (the published executions)", "    chapters:"]
    lines += [f"      - file: figures/notebooks/{name}" for name in FIGURES]
    lines += ["  - caption: Documentation", "    chapters:"]
    lines += [f"      - file: docs/{page}" for page in DOC_PAGES]
    return "\n".join(lines) + "\n"


def build(out: str | Path | None = None) -> Path:
    """Stage the book and build it into ``out`` (default ``build/book``; the site is
    ``<out>/html/index.html``), Sphinx warnings as errors; the site's folder."""
    repo = resolve(".")
    out = Path(out) if out is not None else repo / BUILD
    source = stage(out / "src")
    html = out / "html"
    if html.exists():
        shutil.rmtree(html)
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(source),
               "--path-output", str(out), "--builder", "html", "-W", "-n", "--keep-going",
               "--quiet"]
    run = subprocess.run(command, capture_output=True, text=True,
                         env={**os.environ, "NO_COLOR": "1"})
    log = out / "build.log"
    log.write_text(run.stdout + run.stderr, encoding="utf-8")
    if run.returncode != 0:
        problems = [line for line in (run.stdout + run.stderr).splitlines()
                    if "WARNING" in line or "ERROR" in line]
        raise BookError(f"the book did not build ({len(problems)} warnings or errors; full log "
                        f"{log}): {problems[0] if problems else run.stderr.strip()[-300:]}")
    shutil.move(str(out / "_build" / "html"), str(html))
    shutil.rmtree(out / "_build", ignore_errors=True)
    return html
