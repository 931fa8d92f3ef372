"""Copy the executed quick-run notebooks into tests/nbval/ as nbval references.

The papermill-injected parameters cell is dropped (the notebook's own defaults are the quick
values), so the reference's code cells equal the source notebook's (tests/test_notebooks.py
checks that).
Run via `make nbval-refs` after changing a notebook or the quick results on purpose.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    for source in sorted((REPO / "notebooks").glob("*.ipynb")):
        executed = REPO / "results/quick/notebooks" / source.name
        nb = nbformat.read(executed, as_version=4)
        nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
        for cell in nb.cells:
            cell.metadata.pop("papermill", None)
            cell.metadata.pop("execution", None)
            if "nbval-check-output" not in cell.metadata.get("tags", []) and "outputs" in cell:
                cell.outputs = []  # only the summary is compared; keep the reference small
        nb.metadata.pop("papermill", None)
        target = REPO / "tests/nbval" / source.name
        nbformat.write(nb, target)
        print(f"wrote {target.relative_to(REPO)}")


if __name__ == "__main__":
    main()
