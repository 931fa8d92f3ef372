"""Job code inputs derived from the real imports (pnnsat.dependencies): what an edit reruns."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import REPO

from pnnsat.dependencies import code_dependencies, notebook_imports

PKG = REPO / "src" / "pnnsat"


def names(paths: list[str], root: Path) -> set[str]:
    return {str(Path(p).relative_to(root)) for p in paths}


def make_package(tmp_path: Path) -> Path:
    root = tmp_path / "pkg"
    (root / "reg").mkdir(parents=True)
    files = {
        "__init__.py": "from .numbers import pin\n",
        "numbers.py": "",
        "cli.py": "from .entry import run\n",
        "entry.py": ("from .reg import Thing, listed\nfrom . import helper\n"
                     "def run():\n    from pkg.lazy import late\n"),
        "helper.py": "from .numbers import x\n",
        "lazy.py": "",
        "unrelated.py": "from .entry import run\n",
        "reg/__init__.py": "from .thing import Thing\nfrom .other import Other\nlisted = [1]\n",
        "reg/thing.py": "from ..helper import y\n",
        "reg/other.py": "",
    }
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def test_closure_follows_imports_resolves_registries_and_leaves_out_cli(tmp_path):
    root = make_package(tmp_path)
    got = names(code_dependencies([root / "entry.py"], root), root)
    # helper (from . import helper), numbers (via helper), lazy (an import inside a function),
    # reg/thing (Thing, re-exported by the registry); never the registry itself, nor the other
    # module it lists, nor the CLI, nor a module that imports the entry
    assert got == {"entry.py", "helper.py", "numbers.py", "lazy.py", "reg/thing.py"}


def test_a_platforms_and_a_methods_training_code(tmp_path):
    mrr_sat_pat = names(code_dependencies([PKG / "training.py", PKG / "methods/sat_pat.py",
                                           PKG / "platforms/mrr.py"], PKG), PKG)
    # a method built on others lists them; the other platforms and methods are not inputs
    assert {"methods/sat.py", "methods/pat.py", "methods/base.py", "platforms/base.py",
            "platforms/mrr.py", "hardware.py", "training.py", "data.py"} <= mrr_sat_pat
    assert not {"platforms/mzi.py", "platforms/d2nn.py", "methods/nat.py", "evaluation.py",
                "plotting.py"} & mrr_sat_pat
    assert not any(Path(p).name in ("__init__.py", "cli.py") for p in mrr_sat_pat)


def test_a_notebooks_imports_are_its_figures_code(tmp_path):
    fig6 = names(code_dependencies(notebook_imports(REPO / "notebooks/fig6_multitask.ipynb",
                                                    PKG), PKG), PKG)
    assert {"multitask/evaluation.py", "plotting.py", "reports.py"} <= fig6
    nb = tmp_path / "n.ipynb"
    nb.write_text(json.dumps({"cells": [
        {"cell_type": "code", "source": ["%matplotlib inline\n", "from pnnsat import plotting\n"]},
        {"cell_type": "markdown", "source": ["from pnnsat import training"]}]}))
    assert names(notebook_imports(nb, PKG), PKG) == {"plotting.py"}


def test_no_job_lists_the_catalog_and_every_entry_resolves_in_the_real_package():
    """The real registries (methods/__init__.py, platforms/__init__.py read pnnsat.catalog):
    no training, evaluation or figure job has the catalog or a registry among its code inputs
    (its rows reach a job as params: rules/figures.smk `rows`), and each job still lists the
    modules that define what it runs."""
    entries = [PKG / "training.py", PKG / "evaluation.py", PKG / "sharpness.py",
               PKG / "multitask/training.py", PKG / "multitask/evaluation.py"]
    entries += [p for p in (PKG / "methods").glob("*.py") if p.name != "__init__.py"]
    entries += [p for p in (PKG / "platforms").glob("*.py") if p.name != "__init__.py"]
    every_job = names(code_dependencies(entries, PKG), PKG)
    for notebook in (REPO / "notebooks").glob("*.ipynb"):
        every_job |= names(code_dependencies(notebook_imports(notebook, PKG), PKG), PKG)
    assert "catalog.py" not in every_job
    assert not any(Path(p).name == "__init__.py" for p in every_job)
    # plotting (every figure) reads the catalog: its own code stays an input, the catalog not
    assert {"plotting.py", "reports.py", "tables.py", "methods/base.py", "platforms/base.py",
            "platforms/d2nn.py"} <= every_job
