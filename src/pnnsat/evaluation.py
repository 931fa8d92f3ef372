"""Evaluation protocol (``METHODS.md``): accuracy of a trained model on a device under a
perturbation, always on the full test split, written as tidy tables (one row per measurement).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from .data import Splits
from .paths import atomic_path
from .platforms import PNN, Device, get_platform


@torch.inference_mode()
def accuracy(model: PNN, x: torch.Tensor, y: torch.Tensor, device: Device | None = None,
             perturbation: Any | None = None, batch_size: int = 2500) -> float:
    """Fraction of ``x`` classified correctly by ``model`` on ``device`` (None: the twin) under
    ``perturbation`` (None: nominal conditions)."""
    model.eval()
    param = next(model.parameters())
    correct = 0
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size].to(param.device)
        pred = model(xb, device=device, perturbation=perturbation).argmax(1)
        correct += int((pred.cpu() == y[i:i + batch_size]).sum())
    return correct / len(x)


def device_a(model: PNN, meta: dict[str, Any]) -> Device:
    """Device A of a trained model: the platform's configured device seed (``device.seed``)."""
    spec = meta["spec"]
    platform = get_platform(spec["platform"])
    return platform.sample_device(model, meta["device_seed"], spec["platform_config"])


def _row(meta: dict[str, Any], target: str, device: Device | None, **values: Any) -> dict:
    return {"platform": meta["platform"], "method": meta["method"], "seed": meta["seed"],
            "target": target, "device_seed": meta["device_seed"] if device else -1, **values}


def thermal_drift_rows(model: PNN, meta: dict[str, Any], splits: Splits,
                       delta_T_K: Sequence[float]) -> list[dict[str, Any]]:
    """Accuracy vs temperature change ΔT (K) on the twin and on device A, full test split."""
    platform = get_platform(meta["platform"])
    targets: dict[str, Device | None] = {"twin": None, "device": device_a(model, meta)}
    return [
        _row(meta, target, device, delta_T_K=float(dT),
             accuracy=accuracy(model, splits.test_x, splits.test_y, device, platform.drift(dT)),
             n_test=len(splits.test_y))
        for target, device in targets.items() for dT in delta_T_K
    ]


def alignment_rows(model: PNN, meta: dict[str, Any], splits: Splits,
                   sweeps: dict[str, Sequence[float]]) -> list[dict[str, Any]]:
    """Accuracy on device A when one misalignment field of the platform's perturbation (the
    ``axis``, e.g. ``rotation_deg``) takes each of its sweep values, all other fields nominal."""
    platform = get_platform(meta["platform"])
    device = device_a(model, meta)
    rows = []
    for axis, values in sweeps.items():
        for value in values:
            try:
                perturbation = platform.perturbation(**{axis: value})
            except TypeError as err:
                raise ValueError(f"alignment sweep: {axis!r} is not a field of "
                                 f"{platform.perturbation.__name__}") from err
            rows.append(_row(meta, "device", device, axis=axis, value=float(value),
                             accuracy=accuracy(model, splits.test_x, splits.test_y, device,
                                               perturbation),
                             n_test=len(splits.test_y)))
    return rows


def write_table(rows: Iterable[dict[str, Any]] | pd.DataFrame, out: str | Path) -> Path:
    """Write a tidy CSV atomically (stable float format, so reruns are byte-identical)."""
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    out = Path(out)
    with atomic_path(out) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g")
    return out


def concat_tables(paths: Iterable[str | Path], out: str | Path) -> Path:
    """Concatenate per-run tables into one (rows sorted for a stable file)."""
    frames = [pd.read_csv(p) for p in paths]
    if not frames:
        raise ValueError("concat_tables: no input tables.")
    frame = pd.concat(frames, ignore_index=True)
    keys = [c for c in ("platform", "method", "seed", "target", "delta_T_K", "axis", "value")
            if c in frame]
    return write_table(frame.sort_values(keys, kind="stable").reset_index(drop=True), out)
