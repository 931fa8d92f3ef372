"""Platform registry: one row per PNN type — the platform (its model, fabrication and
perturbation classes, in its own module) and how figures show it. A fourth platform is its
module plus one row here (and its config block); figures read its labels from here.

Importing this package does not import torch: each platform's module is imported when the
platform is first looked up in ``PLATFORMS``, so the figures' notebooks, which read only
``DISPLAY``, start without torch's ~2.5 s import. ``PNN``, ``Device``, ``PhysicalLayer``,
``Platform`` and ``sample_device`` are imported from ``.base`` on first access.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import Platform


@dataclass(frozen=True)
class PlatformDisplay:
    """How figures show a platform. label: panel title; marker: its scatter marker where
    platforms share a panel; rho_unit: the unit of SAT's ascent radius ρ on it (its controls'
    unit, or ``relative`` under ASAM's |Θ| scaling); field_labels: axis label, with units, of
    every field of its fabrication and perturbation dataclasses that a sweep can vary;
    control_unit: the unit of its controls Θ (curvatures w.r.t. Θ are per control_unit²)."""

    label: str
    marker: str
    rho_unit: str
    field_labels: dict[str, str] = field(default_factory=dict)
    control_unit: str = ""


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


#: platform id -> its Platform; one row per platform: the id and its module
PLATFORMS: Mapping[str, Platform] = PlatformRegistry({"mrr": "mrr", "mzi": "mzi", "d2nn": "d2nn"})

#: platform id -> its display row (same keys and order as PLATFORMS; a test checks that every
#: fabrication and perturbation field has a label)
DISPLAY: dict[str, PlatformDisplay] = {
    "mrr": PlatformDisplay("MRR weight bank", "o", "relative", {
        "resonance_sigma_nm": "Resonance-offset σ (nm)",
        "crosstalk_kappa": "Thermal crosstalk κ",
        "delta_T_K": "Temperature change ΔT (K)",
        "carrier_offset_nm": "Carrier offset (nm)",
        "carrier_sigma_nm": "Carrier misalignment σ_λ (nm)",
        "carrier_seed": "Carrier-grid seed",
    }, control_unit="nm"),
    "mzi": PlatformDisplay("MZI mesh", "s", "rad", {
        "splitter_sigma": "Splitter-error σ",
        "phase_sigma_rad": "Phase-error σ (rad)",
        "beta_spread": "Thermo-optic spread (relative)",
        "crosstalk_kappa": "Thermal crosstalk κ",
        "delta_T_K": "Temperature change ΔT (K)",
        "input_offset_um": "Input fibre-array offset (µm)",
        "input_angle_deg": "Input fibre-array rotation (°)",
        "output_offset_um": "Output fibre-array offset (µm)",
        "output_angle_deg": "Output fibre-array rotation (°)",
    }, control_unit="rad"),
    "d2nn": PlatformDisplay("Diffractive (D2NN)", "^", "rad", {
        "phase_sigma_rad": "Phase-error σ (rad)",
        "axial_sigma_um": "Axial-position σ (µm)",
        "crosstalk": "Pixel crosstalk",
        "rotation_deg": "Mask rotation (°)",
        "shift_x_px": "Mask shift x (pixels)",
        "shift_y_px": "Mask shift y (pixels)",
        "scale": "Mask magnification",
        "axial_error_um": "Axial error (µm)",
        "delta_T_K": "Temperature change ΔT (K)",
    }, control_unit="rad"),
}


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


__all__ = ["DISPLAY", "PLATFORMS", "PNN", "Device", "PhysicalLayer", "Platform",
           "PlatformDisplay", "get_platform", "sample_device"]
