"""Platform registry: one row per PNN type. Later platforms (MZI, D2NN) add a row here."""

from __future__ import annotations

from .base import PNN, Device, PhysicalLayer, Platform, sample_device
from .d2nn import PLATFORM as D2NN
from .mrr import PLATFORM as MRR
from .mzi import PLATFORM as MZI

PLATFORMS: dict[str, Platform] = {p.name: p for p in (MRR, MZI, D2NN)}


def get_platform(name: str) -> Platform:
    if name not in PLATFORMS:
        raise KeyError(f"Unknown platform {name!r}; available: {sorted(PLATFORMS)}.")
    return PLATFORMS[name]


__all__ = ["PLATFORMS", "PNN", "Device", "PhysicalLayer", "Platform", "get_platform",
           "sample_device"]
