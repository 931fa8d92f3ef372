"""Method registry: id -> one row (family, class built from the method's config block, and how
figures show it). A table, not branches: an eighth method is its module plus one row here (and
its config block).

Importing this package does not import torch: a row names its class as ``module:Class`` and the
class is imported when a method is built, so the figures' notebooks (which read only labels,
colours and markers) start without torch's ~2.5 s import. ``Method``, ``TrainingContext``,
``StepResult`` and ``frozen_batchnorm_statistics`` are imported from ``.base`` on first access.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import Method


@dataclass(frozen=True)
class MethodEntry:
    """One registry row. family: ``in silico`` (trained on the twin, offline) or ``in situ``
    (trained on device A through measurements); build: the class, called with the method's config
    block; label, colour (hex) and marker: how every figure draws it (colours from the Okabe–Ito
    palette, distinguishable with colour-vision deficiencies)."""

    family: str
    cls: str
    label: str
    colour: str
    marker: str

    @property
    def build(self) -> Callable[..., Method]:
        """The method's class (``cls`` = ``module:Class`` in this package), imported now."""
        module, name = self.cls.split(":")
        return getattr(import_module(f"{__name__}.{module}"), name)


FAMILIES = ("in silico", "in situ")

#: method id -> its row. Order = plotting order (in silico first).
METHODS: dict[str, MethodEntry] = {
    "bp": MethodEntry("in silico", "bp:Backprop", "BP", "#000000", "o"),
    "nat": MethodEntry("in silico", "nat:NoiseAware", "NAT", "#E69F00", "s"),
    "hat": MethodEntry("in silico", "hat:HardwareAware", "HAT", "#56B4E9", "^"),
    "sat": MethodEntry("in silico", "sat:SharpnessAware", "SAT", "#D55E00", "D"),
    "pat": MethodEntry("in situ", "pat:PhysicsAware", "PAT", "#009E73", "v"),
    "dat": MethodEntry("in situ", "dat:DualAdaptive", "DAT", "#0072B2", "P"),
    "sat_pat": MethodEntry("in situ", "sat_pat:SharpnessAwarePAT", "SAT+PAT", "#CC79A7", "X"),
}
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
        return METHODS[name].build(**dict(config or {}))
    except TypeError as err:
        raise ValueError(f"method {name!r}: bad config {dict(config or {})}: {err}") from err


__all__ = ["FAMILIES", "METHODS", "Method", "MethodEntry", "StepResult", "TrainingContext",
           "build_method", "frozen_batchnorm_statistics"]
