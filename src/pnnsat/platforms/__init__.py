"""Platform registry: id -> its :class:`Platform` (model, fabrication and perturbation classes, in
its own module). The rows (module, how figures show it) live in :data:`pnnsat.catalog.PLATFORMS`:
a fourth platform is its module plus one row there (and its config block).

Importing this package does not import torch: each platform's module is imported when the
platform is first looked up in ``PLATFORMS``, so the figures' notebooks, which read only the
catalog's rows, start without torch's ~2.5 s import. ``PNN``, ``Device``, ``PhysicalLayer``,
``Platform`` and ``sample_device`` are imported from ``.base`` on first access.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib import import_module
from typing import TYPE_CHECKING, Any

from ..catalog import PLATFORMS as CATALOG_PLATFORMS

if TYPE_CHECKING:
    from .base import Platform


class PlatformRegistry(Mapping):
    """Platform id -> its :class:`Platform` (the ``PLATFORM`` of the named module of this
    package), the module imported on first lookup."""

    def __init__(self, modules: dict[str, str]) -> None:
        self.modules = dict(modules)

    def __getitem__(self, name: str) -> Platform:
        if name not in self.modules:
            raise KeyError(name)
        return import_module(f"{__name__}.{self.modules[name]}").PLATFORM

    def __iter__(self) -> Iterator[str]:
        return iter(self.modules)

    def __len__(self) -> int:
        return len(self.modules)


#: platform id -> its Platform (the module named by its catalog row)
PLATFORMS: Mapping[str, Platform] = PlatformRegistry(
    {name: row.module for name, row in CATALOG_PLATFORMS.items()})


#: names this package hands out from .base (imported on first access)
BASE_NAMES = ("PNN", "Device", "PhysicalLayer", "Platform", "sample_device")


def __getattr__(name: str) -> Any:
    if name in BASE_NAMES:
        return getattr(import_module(f"{__name__}.base"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_platform(name: str) -> Platform:
    if name not in PLATFORMS:
        raise KeyError(f"Unknown platform {name!r}; available: {sorted(PLATFORMS)}.")
    return PLATFORMS[name]


__all__ = ["PLATFORMS", "PNN", "Device", "PhysicalLayer", "Platform", "get_platform",
           "sample_device"]
