"""JupyterLab on this repository: the published executions cannot be overwritten.

``figures/notebooks/*.ipynb`` are the published record of each figure (:mod:`pnnsat.published`).
Run All on one of them in JupyterLab would replace its outputs, and autosave would write them over
the committed file. :class:`PublishedReadOnlyContentsManager` is the Jupyter server's file manager
with one rule added: a published notebook is reported not writable (JupyterLab then marks it
read-only and does not autosave it) and a save, rename or delete of it is refused with a message
naming the source notebook to run instead. ``make setup`` installs it as the default of the
virtual environment's Jupyter server (``envs/jupyter_server_config.json`` copied to
``.venv/etc/jupyter/jupyter_server_config.json``), so ``make lab`` and any
``.venv/bin/jupyter lab`` use it; "File > Save Notebook As…" to another folder still works.
Run All itself stays possible: a figure it saves goes to ``results/by-hand/figures/``
(:func:`pnnsat.plotting.save_figure`).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from tornado.web import HTTPError
from traitlets import List, Unicode

from .paths import repo_root


class PublishedReadOnlyContentsManager(AsyncLargeFileManager):
    """The default Jupyter file manager, with the published notebooks read-only."""

    published_dirs = List(
        Unicode(), default_value=["figures/notebooks"], config=True,
        help="Folders (relative to the repository root) whose notebooks are published records.")

    def published(self, path: str) -> bool:
        """Whether ``path`` (a Jupyter API path, relative to the server's root) is a published
        notebook."""
        os_path = Path(self._get_os_path(path.strip("/"))).resolve()
        return os_path.suffix == ".ipynb" and os_path.parent in self._published_folders

    @cached_property
    def _published_folders(self) -> set[Path]:
        root = repo_root()
        return {(root / folder).resolve() for folder in self.published_dirs}

    def _refuse(self, path: str, action: str) -> HTTPError:
        source = f"notebooks/{Path(path).name}"
        return HTTPError(403, f"{path} is a published execution (read-only), not to be {action}: "
                              f"open {source} and Run All to redraw the figure (it saves into "
                              "results/by-hand/figures/), or use File > Save Notebook As... to "
                              "keep a copy in another folder.")

    async def get(self, path: str, content: bool = True, type: str | None = None,
                  format: str | None = None, require_hash: bool = False) -> dict[str, Any]:
        model = await super().get(path, content=content, type=type, format=format,
                                  require_hash=require_hash)
        if model["type"] != "directory" and self.published(path):
            model["writable"] = False
        elif model["type"] == "directory" and model.get("content"):
            for child in model["content"]:
                if child["type"] != "directory" and self.published(child["path"]):
                    child["writable"] = False
        return model

    async def save(self, model: dict[str, Any], path: str = "") -> dict[str, Any]:
        if self.published(path):
            raise self._refuse(path, "saved")
        return await super().save(model, path)

    async def delete_file(self, path: str) -> None:
        if self.published(path):
            raise self._refuse(path, "deleted")
        await super().delete_file(path)

    async def rename_file(self, old_path: str, new_path: str) -> None:
        if self.published(old_path) or self.published(new_path):
            raise self._refuse(old_path if self.published(old_path) else new_path, "renamed")
        await super().rename_file(old_path, new_path)
