"""The library modules a pipeline job depends on, derived from the real imports (torch-free: the
Snakefile calls this at parse time).

A job's code inputs are the modules its entry points import, transitively, within the package —
found by reading each module's ``import`` statements (``ast``, nothing is executed; imports inside
functions count too). Two kinds of module are left out on purpose: the **registries**
(``__init__.py`` files: they list platforms and methods; a name imported from a registry counts
as an import of the module that defines it, so adding a platform or a method does not retrain the
others), the **catalog** (``catalog.py``: each job gets the catalog rows it depends on as
Snakemake ``params`` instead, so an edit of one row reruns only the jobs that use it) and the
**command-line layer** (``cli.py``, ``__main__.py``: it parses arguments and dispatches). An edit
to any other module a job imports reruns that job.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

#: modules never listed as a job's code (see the module docstring)
LEFT_OUT = ("__init__.py", "catalog.py", "cli.py", "__main__.py")


def _module_file(package_root: Path, parts: list[str]) -> Path | None:
    """The file of module ``parts`` (relative to the package root), or None if not a module."""
    if not parts:
        return package_root / "__init__.py"
    base = package_root.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _reexports(init: Path) -> dict[str, list[str]]:
    """Names a registry (``__init__.py``) re-exports -> the sibling module parts they come from."""
    names: dict[str, list[str]] = {}
    for node in ast.parse(init.read_text(encoding="utf-8"), str(init)).body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = node.module.split(".")
    return names


def _resolve(package_root: Path, parts: list[str], names: list[str]) -> set[Path]:
    """Files that ``from <parts> import <names>`` depends on. Importing from a registry
    (a package's ``__init__.py``) depends on the submodules that define the imported names —
    never on the registry, nor on the other modules it lists."""
    module = _module_file(package_root, parts)
    if module is None:
        return set()
    if module.name != "__init__.py":
        return {module}
    found: set[Path] = set()
    exports = _reexports(module)
    for name in names:
        if _module_file(package_root, [*parts, name]) is not None:  # `from pkg import module`
            found |= _resolve(package_root, [*parts, name], [])
        elif name in exports:
            found |= _resolve(package_root, [*parts, *exports[name]], [name])
    return found


def local_imports(path: Path, package_root: Path) -> set[Path]:
    """Files of the package that module ``path`` imports (relative imports, and absolute ones
    naming the package), at any depth of the module (functions included); imports from a
    registry resolve to the modules that define the names (see :func:`_resolve`)."""
    package = package_root.name
    here = list(path.relative_to(package_root).parent.parts)
    found: set[Path] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = here[:len(here) - (node.level - 1)]
                parts += node.module.split(".") if node.module else []
            elif node.module and node.module.split(".")[0] == package:
                parts = node.module.split(".")[1:]
            else:
                continue
            found |= _resolve(package_root, parts, [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == package:
                    found |= _resolve(package_root, alias.name.split(".")[1:], [])
    return found


def code_dependencies(entries: Iterable[str | Path], package_root: str | Path) -> list[str]:
    """Every package module that ``entries`` (module files) import, transitively, the entries
    included, less :data:`LEFT_OUT`; sorted paths as given (relative if ``package_root`` is)."""
    root = Path(package_root)
    todo = [Path(e) for e in entries]
    for entry in todo:
        if not entry.is_file():
            raise FileNotFoundError(f"{entry} does not exist: a pipeline rule names a module the "
                                    "library does not have.")
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo.extend(local_imports(path, root) - seen)
    return sorted(str(p) for p in seen if p.name not in LEFT_OUT)


def notebook_imports(notebook: str | Path, package_root: str | Path) -> list[str]:
    """The package modules a notebook's code cells import (entries for
    :func:`code_dependencies`), sorted; IPython magics and shell lines are skipped."""
    import json

    root = Path(package_root)
    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    lines = [line for cell in cells if cell["cell_type"] == "code"
             for line in "".join(cell["source"]).splitlines()
             if not line.lstrip().startswith(("%", "!"))]
    tree = ast.parse("\n".join(lines), str(notebook))
    found: set[Path] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and \
                node.module.split(".")[0] == root.name:
            found |= _resolve(root, node.module.split(".")[1:], [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == root.name:
                    found |= _resolve(root, alias.name.split(".")[1:], [])
    return sorted(str(p) for p in found)
