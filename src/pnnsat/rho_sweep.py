"""ρ sensitivity of SAT (figS1, ``docs/evaluation.md``): models trained with SAT at several ascent
radii ρ (every other SAT option as configured), plus bp as the ρ → 0 reference, each measured by

* accuracy on the twin, on device A, and on K fresh chips drawn from device A's fabrication
  model (seeds from the platform's ``cross_device.first_seed``, never device A's), full test split;
* λmax of the twin's loss Hessian w.r.t. the controls Θ (:mod:`pnnsat.sharpness`) on the first
  training images.

ρ is in the controls' units (nm for MRR detunings, rad for phases), or relative to |Θ| + η when
the platform's SAT block sets ``adaptive``. One tidy row per (model, target, device).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from .accuracy import features, head_accuracy
from .chips import fresh_chip, fresh_seeds, model_device_a
from .data import Splits
from .methods import build_method
from .platforms import PNN, get_platform
from .sharpness import top_eigenvalue


def model_rho(meta: Mapping[str, Any]) -> float:
    """The SAT ascent radius a model was trained with; 0 for a bp model (SAT at ρ = 0 is bp
    when no perturbation ascent is configured)."""
    if meta["method"] == "bp":
        return 0.0
    if meta["method"] != "sat":
        raise ValueError(f"rho sweep: model of method {meta['method']!r}; only bp and sat models "
                         "belong to a rho sweep.")
    return build_method("sat", meta["spec"]["method_config"]).rho


def rho_sweep_rows(models: Sequence[tuple[PNN, dict[str, Any]]], splits: Splits,
                   fresh: Mapping[str, Any], tolerance: float, max_hvps: int,
                   sharpness_images: int, seed: int = 0) -> list[dict[str, Any]]:
    """Rows for every (model, metadata): accuracy on the twin, device A and ``fresh['devices']``
    fresh chips (seeds ``fresh['first_seed'] + i``), and λmax on the first ``sharpness_images``
    training images (Lanczos to a relative residual ``tolerance`` within ``max_hvps``
    Hessian-vector products, start vector seeded by ``seed``;
    :func:`pnnsat.sharpness.top_eigenvalue`)."""
    x, y = splits.train_x[:sharpness_images], splits.train_y[:sharpness_images]
    rows = []
    for model, meta in models:
        platform = get_platform(meta["platform"])
        seeds = fresh_seeds(fresh, meta["device_seed"], f"platforms.{platform.name}.cross_device "
                            "(the rho sweep's fresh chips)")
        fabrication = platform.fabrication(meta["spec"]["platform_config"])
        top = top_eigenvalue(model, x, y, torch.Generator().manual_seed(seed), tolerance, max_hvps)
        h = features(model, splits.test_x)
        targets = [("twin", -1, None), ("device", meta["device_seed"], model_device_a(model, meta))]
        targets += [("fresh", s, fresh_chip(model, platform.name, s, fabrication)) for s in seeds]
        for target, device_seed, device in targets:
            rows.append({"platform": meta["platform"], "method": meta["method"],
                         "rho": model_rho(meta), "seed": meta["seed"], "target": target,
                         "device_seed": device_seed,
                         "accuracy": head_accuracy(model, h, splits.test_y, device),
                         "lambda_max": top.value, "lambda_residual": top.residual,
                         "n_test": len(splits.test_y),
                         "learned": bool(meta.get("learned", True)),
                         "val_accuracy_target": meta.get("val_accuracy_target")})
    return rows
