"""Method registry: id -> one row (family, class built from the method's config block, and how
figures show it). A table, not branches: an eighth method is its module plus one row here (and
its config block)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .base import Method, StepResult, TrainingContext, frozen_batchnorm_statistics
from .bp import Backprop
from .dat import DualAdaptive
from .hat import HardwareAware
from .nat import NoiseAware
from .pat import PhysicsAware
from .sat import SharpnessAware
from .sat_pat import SharpnessAwarePAT


@dataclass(frozen=True)
class MethodEntry:
    """One registry row. family: ``in silico`` (trained on the twin, offline) or ``in situ``
    (trained on device A through measurements); build: the class, called with the method's config
    block; label, colour (hex) and marker: how every figure draws it (colours from the Okabe–Ito
    palette, distinguishable with colour-vision deficiencies)."""

    family: str
    build: Callable[..., Method]
    label: str
    colour: str
    marker: str


FAMILIES = ("in silico", "in situ")

#: method id -> its row. Order = plotting order (in silico first).
METHODS: dict[str, MethodEntry] = {
    "bp": MethodEntry("in silico", Backprop, "BP", "#000000", "o"),
    "nat": MethodEntry("in silico", NoiseAware, "NAT", "#E69F00", "s"),
    "hat": MethodEntry("in silico", HardwareAware, "HAT", "#56B4E9", "^"),
    "sat": MethodEntry("in silico", SharpnessAware, "SAT", "#D55E00", "D"),
    "pat": MethodEntry("in situ", PhysicsAware, "PAT", "#009E73", "v"),
    "dat": MethodEntry("in situ", DualAdaptive, "DAT", "#0072B2", "P"),
    "sat_pat": MethodEntry("in situ", SharpnessAwarePAT, "SAT+PAT", "#CC79A7", "X"),
}


def build_method(name: str, config: Mapping[str, Any] | None = None) -> Method:
    if name not in METHODS:
        raise KeyError(f"Unknown method {name!r}; available: {sorted(METHODS)}.")
    try:
        return METHODS[name].build(**dict(config or {}))
    except TypeError as err:
        raise ValueError(f"method {name!r}: bad config {dict(config or {})}: {err}") from err


__all__ = ["FAMILIES", "METHODS", "Method", "MethodEntry", "StepResult", "TrainingContext",
           "build_method", "frozen_batchnorm_statistics"]
