"""Method registry: id -> factory taking the method's config block (a table, not branches)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .base import Method, StepResult, frozen_batchnorm_statistics
from .bp import Backprop
from .sat import SharpnessAware

#: method id -> (family, factory(config block) -> Method)
METHODS: dict[str, tuple[str, Callable[[Mapping[str, Any]], Method]]] = {
    "bp": ("in silico", lambda cfg: Backprop()),
    "sat": ("in silico", lambda cfg: SharpnessAware(**dict(cfg))),
}


def build_method(name: str, config: Mapping[str, Any] | None = None) -> Method:
    if name not in METHODS:
        raise KeyError(f"Unknown method {name!r}; available: {sorted(METHODS)}.")
    try:
        return METHODS[name][1](config or {})
    except TypeError as err:
        raise ValueError(f"method {name!r}: bad config {dict(config or {})}: {err}") from err


__all__ = ["METHODS", "Method", "StepResult", "build_method", "frozen_batchnorm_statistics"]
