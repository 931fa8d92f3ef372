"""Method registry: id -> its class, built from the method's config block. The rows (family,
class, label, colour, marker) live in :data:`pnnsat.catalog.METHODS`: an eighth method is its
module plus one row there (and its config block).

Importing this package does not import torch: a row names its class as ``module:Class`` and the
class is imported when a method is built, so the figures' notebooks (which read only labels,
colours and markers) start without torch's ~2.5 s import. ``Method``, ``TrainingContext``,
``StepResult`` and ``frozen_batchnorm_statistics`` are imported from ``.base`` on first access.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import TYPE_CHECKING, Any

from ..catalog import METHODS as CATALOG_METHODS
from ..catalog import MethodRow

if TYPE_CHECKING:
    from .base import Method


#: method id -> its catalog row (pnnsat.catalog.METHODS). Order = plotting order (in silico first).
METHODS: dict[str, MethodRow] = CATALOG_METHODS


def method_class(name: str) -> type[Method]:
    """The class of method ``name`` (its row's ``module:Class`` in this package), imported now."""
    module, cls = METHODS[name].cls.split(":")
    return getattr(import_module(f"{__name__}.{module}"), cls)


#: names this package hands out from .base (imported on first access)
BASE_NAMES = ("Method", "StepResult", "TrainingContext", "frozen_batchnorm_statistics")


def __getattr__(name: str) -> Any:
    if name in BASE_NAMES:
        return getattr(import_module(f"{__name__}.base"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_method(name: str, config: Mapping[str, Any] | None = None) -> Method:
    if name not in METHODS:
        raise KeyError(f"Unknown method {name!r}; available: {sorted(METHODS)}.")
    try:
        return method_class(name)(**dict(config or {}))
    except TypeError as err:
        raise ValueError(f"method {name!r}: bad config {dict(config or {})}: {err}") from err


__all__ = ["METHODS", "Method", "StepResult", "TrainingContext", "build_method",
           "frozen_batchnorm_statistics", "method_class"]
