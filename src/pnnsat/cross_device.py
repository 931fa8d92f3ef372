"""Cross-device transfer (``docs/evaluation.md``): a trained model, unchanged, on K fresh chips per
point of a fabrication-σ grid — does a model trained for (or on) one chip work on another?

The K device seeds are ``first_seed + i`` (i < K), the same at every grid point (common random
numbers: a seed fixes the error *pattern*, σ its size, so curves are smooth in σ). They never
equal device A's seed (used by in situ training and every other evaluation) nor the seeds ≥ 2³¹
that ``nat`` draws during training. Fabrication fields not on the grid keep their configured
values (e.g. MRR crosstalk κ stays 0.05 at σ = 0).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from typing import Any

import torch

from .accuracy import features, head_accuracy
from .chips import fresh_chip, fresh_seeds
from .data import Splits
from .platforms import PNN, get_platform


def grid_points(grid: Mapping[str, Sequence[float]]) -> list[dict[str, float]]:
    """Cartesian product of the grid's axes: [{field: value, ...}, ...] (sorted field order)."""
    names = sorted(grid)
    return [dict(zip(names, values, strict=True))
            for values in itertools.product(*(grid[n] for n in names))]


def check_spec(nominal: Any, spec: Mapping[str, Any], device_seed: int,
               where: str = "cross_device") -> list[int]:
    """A cross-device block fits the chip: the grid names fields of the fabrication model
    ``nominal``, and the fresh chips' seeds exclude device A's (``device_seed``). Returns those
    seeds; ValueError naming ``where`` (the key path) otherwise."""
    known = {f.name for f in fields(nominal)}
    unknown = sorted(set(spec.get("grid", {})) - known)
    if unknown:
        raise ValueError(f"{where}.grid names {unknown}, not fields of "
                         f"{type(nominal).__name__}; allowed: {sorted(known)}.")
    return fresh_seeds(spec, device_seed, where)


def cross_device_rows(model: PNN, meta: dict[str, Any], splits: Splits,
                      spec: Mapping[str, Any], h: torch.Tensor | None = None) -> list[dict]:
    """Accuracy on ``spec['devices']`` fresh devices (seeds from ``spec['first_seed']``) at every
    point of ``spec['grid']`` ({fabrication field: values}), on the test split."""
    platform = get_platform(meta["platform"])
    block = meta["spec"]["platform_config"]
    nominal = platform.fabrication(block)
    seeds = check_spec(nominal, spec, meta["device_seed"])
    h = features(model, splits.test_x) if h is None else h
    rows = []
    for point in grid_points(spec["grid"]):
        fabrication = replace(nominal, **point)
        for seed in seeds:
            device = fresh_chip(model, platform.name, seed, fabrication)
            rows.append({"platform": meta["platform"], "method": meta["method"],
                         "seed": meta["seed"], "target": "fresh", "device_seed": seed,
                         **{f"sigma_{name}": value for name, value in point.items()},
                         "accuracy": head_accuracy(model, h, splits.test_y, device),
                         "n_test": len(splits.test_y)})
    return rows


def fresh_chip_rows(model: PNN, meta: dict[str, Any], splits: Splits, spec: Mapping[str, Any],
                    h: torch.Tensor | None = None) -> list[dict]:
    """Accuracy on ``spec['devices']`` fresh chips of device A's own design and fabrication σ
    (seeds from ``spec['first_seed']``), at nominal conditions (``axis`` = ``nominal``) and under
    each perturbation of ``spec['perturbations']`` ({perturbation field: values}, e.g.
    ``{delta_T_K: [2.0]}``). The offline methods' headline numbers are read over these chips
    plus device A: a model trained without the chip must work on any chip of the process."""
    platform = get_platform(meta["platform"])
    fabrication = platform.fabrication(meta["spec"]["platform_config"])
    seeds = check_spec(fabrication, {"grid": {}, **spec}, meta["device_seed"], "fresh_chips")
    points = [("nominal", 0.0, None)] + [
        (axis, float(value), platform.perturbation(**{axis: float(value)}))
        for axis, values in dict(spec.get("perturbations") or {}).items() for value in values]
    h = features(model, splits.test_x) if h is None else h
    rows = []
    for seed in seeds:
        device = fresh_chip(model, platform.name, seed, fabrication)
        for axis, value, perturbation in points:
            rows.append({"platform": meta["platform"], "method": meta["method"],
                         "seed": meta["seed"], "target": "fresh", "device_seed": seed,
                         "axis": axis, "value": value,
                         "accuracy": head_accuracy(model, h, splits.test_y, device, perturbation),
                         "n_test": len(splits.test_y)})
    return rows
