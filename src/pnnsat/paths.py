"""Locating the repository and writing files atomically.

Notebooks run with their own folder as working directory (nbval) or with the caller's (papermill);
every path in the project is therefore resolved from the repository root found at run time.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

_MARKER = "pyproject.toml"


def _walk_up(start: Path) -> Path | None:
    for folder in [start, *start.parents]:
        marker = folder / _MARKER
        if marker.is_file() and 'name = "pnnsat"' in marker.read_text(encoding="utf-8"):
            return folder
    return None


def repo_root(start: str | Path | None = None) -> Path:
    """The repository root: the first folder above ``start`` (default: the working directory,
    then this package's location) that holds the project's ``pyproject.toml``."""
    candidates = [Path(start).resolve()] if start is not None else [Path.cwd().resolve()]
    candidates.append(Path(__file__).resolve().parent)
    for candidate in candidates:
        found = _walk_up(candidate)
        if found is not None:
            return found
    raise FileNotFoundError(
        "Could not find the pnnsat repository root (a folder with pyproject.toml naming pnnsat) "
        f"above {candidates[0]}. Run from inside a clone of the repository."
    )


def resolve(path: str | Path) -> Path:
    """``path`` itself if absolute, else relative to the repository root."""
    path = Path(path)
    return path if path.is_absolute() else repo_root() / path


def unwritable_folder(path: str | Path) -> str | None:
    """Why folder ``path`` (relative to the repository) cannot be created and written — its
    nearest existing ancestor is a file, or not writable — as words naming that ancestor; None
    if it can."""
    existing = resolve(path).resolve()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a directory"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable"
    return None


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` only on success.

    A crash or interrupt leaves either the old file or nothing, never a half-written result.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp creates 0600; use the normal file mode
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
