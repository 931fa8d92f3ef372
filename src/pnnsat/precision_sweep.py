"""figS7: how many DAC bits and how much light each trained model needs (``precision`` in the
config; the instrument: :mod:`pnnsat.instrument`).

Every model of the method matrix, unchanged, on device A and a few fresh chips driven through a
``bits``-bit DAC (readout exact), then read with ``photons`` photons per detection at full scale
(controls exact), against the same chip exact and noiseless — each point on the same first
``test_images`` test images, so a model's loss at a point is a paired difference. The noise of
chip ``device_seed`` at a point is seeded by both: the sweep is reproducible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from .accuracy import features, head_accuracy
from .chips import fresh_chip, model_device_a
from .data import Splits
from .instrument import ControlDAC, Instrument, Readout
from .platforms import PNN, get_platform

AXES = ("exact", "dac_bits", "photons")


def control_dac(control: Mapping[str, Any], bits: int) -> ControlDAC:
    """The platform's DAC (config ``precision.controls.<platform>``) at ``bits`` bits."""
    return ControlDAC(bits=int(bits), low=float(control["low"]), high=float(control["high"]),
                      law=str(control.get("law", "linear")),
                      periodic=bool(control.get("periodic", False)))


def check_spec(spec: Mapping[str, Any], platforms: Sequence[str], where: str = "precision"
               ) -> None:
    """The ``precision`` block before any work: every control builds a DAC (its range and law),
    bits are integers in 1..32, photon counts positive, and its platforms are the run's. Raises
    ValueError naming the key path."""
    for name, control in spec["controls"].items():
        if name not in platforms:
            raise ValueError(f"{where}.controls names {name!r}, not in platforms "
                             f"({', '.join(platforms)}).")
        try:
            control_dac(control, 8)
        except ValueError as err:
            raise ValueError(f"{where}.controls.{name}: {err}") from None
    for bits in spec["bits"]:
        try:
            ControlDAC(bits=bits, low=0.0, high=1.0)
        except ValueError as err:
            raise ValueError(f"{where}.bits: {err}") from None
    for photons in spec["photons"]:
        try:
            Readout(photons=float(photons))
        except ValueError as err:
            raise ValueError(f"{where}.photons: {err}") from None


def precision_rows(model: PNN, meta: Mapping[str, Any], splits: Splits,
                   spec: Mapping[str, Any], fresh_spec: Mapping[str, Any]) -> list[dict]:
    """Rows of one model: for device A and ``spec['fresh_chips']`` fresh chips (the platform's
    fresh-chip seeds), the exact accuracy (axis ``exact``), the accuracy at each DAC resolution
    (``dac_bits``, with the fraction of controls outside the DAC's range) and at each photon
    count (``photons``)."""
    platform = get_platform(meta["platform"])
    control = spec["controls"][meta["platform"]]
    n = min(int(spec["test_images"]), len(splits.test_y))
    x, y = splits.test_x[:n], splits.test_y[:n]
    h = features(model, x)
    fabrication = platform.fabrication(meta["spec"]["platform_config"])
    first = int(fresh_spec["first_seed"])
    chips = [("device", int(meta["device_seed"]), model_device_a(model, meta))] + [
        ("fresh", s, fresh_chip(model, platform.name, s, fabrication))
        for s in range(first, first + int(spec["fresh_chips"]))]
    thetas = torch.cat([p.detach().flatten() for p in model.control_parameters()])
    rows = []
    for target, seed, device in chips:
        points: list[tuple[str, float, Instrument | None, float]] = [("exact", 0.0, None, 0.0)]
        for bits in spec["bits"]:
            dac = control_dac(control, bits)
            points.append(("dac_bits", float(bits), Instrument(dac=dac),
                           dac.clipped_fraction(thetas)))
        for i, photons in enumerate(spec["photons"]):
            readout = Readout(photons=float(photons), seed=seed * 1000 + i)
            points.append(("photons", float(photons), Instrument(readout=readout), 0.0))
        for axis, value, instrument, clipped in points:
            chip = device if instrument is None else device.with_instrument(instrument)
            rows.append({"platform": meta["platform"], "method": meta["method"],
                         "seed": meta["seed"], "target": target, "device_seed": seed,
                         "axis": axis, "value": value,
                         "accuracy": head_accuracy(model, h, y, chip), "clipped": clipped,
                         "n_test": n})
    return rows
