"""Method registry: id -> factory taking the method's config block (a table, not branches)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .base import Method, StepResult, TrainingContext, frozen_batchnorm_statistics
from .bp import Backprop
from .dat import DualAdaptive
from .hat import HardwareAware
from .nat import NoiseAware
from .pat import PhysicsAware
from .sat import SharpnessAware
from .sat_pat import SharpnessAwarePAT

#: method id -> (family, class built from the method's config block). Order = plotting order.
METHODS: dict[str, tuple[str, Callable[..., Method]]] = {
    "bp": ("in silico", Backprop),
    "nat": ("in silico", NoiseAware),
    "hat": ("in silico", HardwareAware),
    "sat": ("in silico", SharpnessAware),
    "pat": ("in situ", PhysicsAware),
    "dat": ("in situ", DualAdaptive),
    "sat_pat": ("in situ", SharpnessAwarePAT),
}


def build_method(name: str, config: Mapping[str, Any] | None = None) -> Method:
    if name not in METHODS:
        raise KeyError(f"Unknown method {name!r}; available: {sorted(METHODS)}.")
    try:
        return METHODS[name][1](**dict(config or {}))
    except TypeError as err:
        raise ValueError(f"method {name!r}: bad config {dict(config or {})}: {err}") from err


__all__ = ["METHODS", "Method", "StepResult", "TrainingContext", "build_method",
           "frozen_batchnorm_statistics"]
