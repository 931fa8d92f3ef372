"""The chips a model meets (``docs/evaluation.md``), in one place.

* **Device A** — the platform's configured chip (``platforms.<p>.device.seed``): in situ methods
  train on it (through :class:`~pnnsat.hardware.PhysicalSystem`) and every model is evaluated on
  it.
* **Fresh chips** — K chips of a design that no training saw: seeds ``first_seed + i`` (i < K),
  never device A's seed (checked) nor the seeds ≥ 2³¹ that ``nat`` draws while training.

Every table names the chip a row was measured on in its ``target`` column with one vocabulary:
``twin`` (the ideal chip, no errors), ``device`` (device A, and only device A), ``fresh`` (a fresh
chip; its seed in ``device_seed``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .platforms import PNN, Device, get_platform
from .platforms.base import sample_device


def device_a_seed(platform_config: Mapping[str, Any]) -> int:
    """Device A's seed: the platform block's ``device.seed`` (0 if absent)."""
    return int((platform_config.get("device") or {}).get("seed", 0))


def device_a(model: PNN, platform: str, platform_config: Mapping[str, Any]) -> Device:
    """Device A of ``model``'s design on ``platform`` (its block's fabrication model and seed)."""
    return get_platform(platform).sample_device(model, device_a_seed(platform_config),
                                                platform_config)


def model_device_a(model: PNN, meta: Mapping[str, Any]) -> Device:
    """Device A of a trained model, from its metadata (the seed it was trained and recorded
    with)."""
    platform = get_platform(meta["platform"])
    return platform.sample_device(model, meta["device_seed"], meta["spec"]["platform_config"])


def fresh_seeds(spec: Mapping[str, Any], device_seed: int, where: str) -> list[int]:
    """The fresh chips' seeds of ``spec`` (``devices``, ``first_seed``); ValueError naming
    ``where`` (the config key path) if they include device A's seed."""
    first, k = int(spec["first_seed"]), int(spec["devices"])
    if first <= device_seed < first + k:
        raise ValueError(f"{where} seeds {first}..{first + k - 1} include device A's seed "
                         f"{device_seed}; move first_seed.")
    return [first + i for i in range(k)]


def fresh_chip(model: PNN, platform: str, seed: int, fabrication: Any) -> Device:
    """Fresh chip ``seed`` of ``model``'s design under ``fabrication`` (a platform dataclass:
    the configured σ, or a point of a cross-device grid)."""
    return sample_device(model, platform, seed, fabrication)
