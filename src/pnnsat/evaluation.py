"""Evaluation protocol (``docs/evaluation.md``): accuracy of a trained model on a device under a
perturbation, always on the full test split, written as tidy tables (one row per measurement).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from .accuracy import features, head_accuracy
from .chips import model_device_a
from .cross_device import check_spec as check_cross_device
from .cross_device import cross_device_rows, fresh_chip_rows
from .data import Splits
from .platforms import PNN, Device, get_platform
from .tables import TABLE_SWEEPS


def _row(meta: dict[str, Any], target: str, device: Device | None, **values: Any) -> dict:
    return {"platform": meta["platform"], "method": meta["method"], "seed": meta["seed"],
            "target": target, "device_seed": meta["device_seed"] if device else -1, **values}


def thermal_drift_rows(model: PNN, meta: dict[str, Any], splits: Splits,
                       delta_T_K: Sequence[float],
                       h: torch.Tensor | None = None) -> list[dict[str, Any]]:
    """Accuracy vs temperature change ΔT (K) on the twin and on device A, full test split.
    ``h``: the test split's :func:`features`, if already computed."""
    platform = get_platform(meta["platform"])
    targets: dict[str, Device | None] = {"twin": None, "device": model_device_a(model, meta)}
    h = features(model, splits.test_x) if h is None else h
    return [
        _row(meta, target, device, delta_T_K=float(dT),
             accuracy=head_accuracy(model, h, splits.test_y, device, platform.drift(dT)),
             n_test=len(splits.test_y))
        for target, device in targets.items() for dT in delta_T_K
    ]


def alignment_rows(model: PNN, meta: dict[str, Any], splits: Splits,
                   sweeps: dict[str, Sequence[float]],
                   h: torch.Tensor | None = None) -> list[dict[str, Any]]:
    """Accuracy on the twin (the authors' protocol) and on device A (ours) when one misalignment
    field of the platform's perturbation (the ``axis``, e.g. ``rotation_deg``) takes each of its
    sweep values, all other fields nominal."""
    platform = get_platform(meta["platform"])
    targets: dict[str, Device | None] = {"twin": None, "device": model_device_a(model, meta)}
    h = features(model, splits.test_x) if h is None else h
    rows = []
    for axis, values in sweeps.items():
        for value in values:
            try:
                perturbation = platform.perturbation(**{axis: value})
            except TypeError as err:
                raise ValueError(f"alignment sweep: {axis!r} is not a field of "
                                 f"{platform.perturbation.__name__}") from err
            for target, device in targets.items():
                rows.append(_row(meta, target, device, axis=axis, value=float(value),
                                 accuracy=head_accuracy(model, h, splits.test_y, device,
                                                        perturbation),
                                 n_test=len(splits.test_y)))
    return rows


def training_rows(meta: dict[str, Any]) -> list[dict[str, Any]]:
    """What training one model cost, from its metadata: wall time (s), device queries (samples ×
    physical layers measured on device A; 0 in silico), epochs run, the epoch whose weights were
    kept (``best_epoch``: early stopping keeps the best; otherwise the last), images, and that
    epoch's training loss and twin validation accuracy."""
    history = meta["history"]
    best = int(meta.get("best_epoch", len(history)))
    kept = history[best - 1] if history else {}
    return [{"platform": meta["platform"], "method": meta["method"], "seed": meta["seed"],
             "device_seed": meta["device_seed"],
             "family": "in situ" if meta.get("in_situ") else "in silico",
             "epochs": meta["epochs"], "best_epoch": best, "n_train": meta["n_train"],
             "wall_time_s": meta["wall_time_s"], "device_queries": meta["device_queries"],
             "threads": meta["threads"], "train_loss": kept.get("train_loss"),
             "val_accuracy_twin": kept.get("val_accuracy_twin"),
             # did it learn (pnnsat.accuracy.above_chance on what it trained on); models from
             # before this flag existed count as learned
             "val_accuracy_target": meta.get("val_accuracy_target", kept.get("val_accuracy_twin")),
             "learned": bool(meta.get("learned", True))}]


def curve_rows(meta: dict[str, Any]) -> list[dict[str, Any]]:
    """The training curve of one model: one row per epoch (training loss and accuracy, validation
    accuracy on the twin and on what it trains on, seconds), and whether its weights were kept."""
    best = int(meta.get("best_epoch", len(meta["history"])))
    return [{"platform": meta["platform"], "method": meta["method"], "seed": meta["seed"],
             "family": "in situ" if meta.get("in_situ") else "in silico",
             "epoch": h["epoch"], "train_loss": h["train_loss"],
             "train_accuracy": h["train_accuracy"], "val_accuracy_twin": h["val_accuracy_twin"],
             "val_accuracy_target": h.get("val_accuracy_target", h["val_accuracy_twin"]),
             "seconds": h["seconds"], "kept": h["epoch"] == best}
            for h in meta["history"]]


#: table name -> row builder (model, meta, splits, sweep, test features) -> rows
ROW_BUILDERS: dict[str, Callable[..., list[dict[str, Any]]]] = {
    "training": lambda model, meta, splits, sweep, h: training_rows(meta),
    "curves": lambda model, meta, splits, sweep, h: curve_rows(meta),
    "thermal_drift": thermal_drift_rows,
    "alignment": alignment_rows,
    "cross_device": cross_device_rows,
    "fresh_chips": fresh_chip_rows,
}
#: table name -> (key of the platform's config block holding its sweep, or None; row builder).
#: The CLI reads this table; the Snakefile reads the names and keys (:mod:`pnnsat.tables`).
TABLES: dict[str, tuple[str | None, Callable[..., list[dict[str, Any]]]]] = {
    name: (TABLE_SWEEPS[name], builder) for name, builder in ROW_BUILDERS.items()}


def check_sweeps(platform_name: str, block: Mapping[str, Any]) -> None:
    """Check a platform's evaluation sweeps before any work (the Snakefile calls this at parse
    time): alignment axes are fields of the platform's perturbation, cross-device grid names are
    fields of its fabrication model, ΔT = 0 (the nominal point every table is read at) is in
    the drift sweep, and the fresh chips' seeds exclude device A's. Raises ValueError naming the
    key path and what is allowed."""
    from dataclasses import fields

    platform = get_platform(platform_name)
    where = f"platforms.{platform_name}"
    axes = {f.name for f in fields(platform.perturbation)} - {platform.drift_field}
    unknown = sorted(set(block.get("alignment", {})) - axes)
    if unknown:
        raise ValueError(f"{where}.alignment names {unknown}, not misalignments of "
                         f"{platform.perturbation.__name__}; allowed: {sorted(axes)}.")
    if 0 not in [float(t) for t in block.get("thermal_drift_K", [])]:
        raise ValueError(f"{where}.thermal_drift_K = {block.get('thermal_drift_K')} lacks 0.0, "
                         "the nominal point every figure compares against; add it.")
    if block.get("cross_device"):
        check_cross_device(platform.fabrication(block), block["cross_device"],
                           int(block.get("device", {}).get("seed", 0)), f"{where}.cross_device")
    if block.get("fresh_chips"):
        check_cross_device(platform.fabrication(block), {"grid": {}, **block["fresh_chips"]},
                           int(block.get("device", {}).get("seed", 0)), f"{where}.fresh_chips")
        fields_ = {f.name for f in fields(platform.perturbation)}
        bad = sorted(set(block["fresh_chips"].get("perturbations") or {}) - fields_)
        if bad:
            raise ValueError(f"{where}.fresh_chips.perturbations names {bad}, not fields of "
                             f"{platform.perturbation.__name__}; allowed: {sorted(fields_)}.")


def is_number_list(value: Any) -> bool:
    """A list (possibly empty) of ints and floats, booleans excluded: a sweep's values."""
    return isinstance(value, list) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)


def check_sweep_types(sweeps: Any) -> None:
    """The shapes :func:`evaluate_model` reads, before any work: a mapping; ``thermal_drift_K``
    a list of numbers (K); ``alignment`` a mapping of axis -> list of numbers; ``cross_device``
    and ``fresh_chips`` mappings. Raises ValueError naming the key and the expected form."""
    if not isinstance(sweeps, Mapping):
        raise ValueError(f"sweeps must be a mapping of sweep keys (the platform's config block), "
                         f"not {type(sweeps).__name__}.")
    if "thermal_drift_K" in sweeps and not is_number_list(sweeps["thermal_drift_K"]):
        raise ValueError(f"sweeps thermal_drift_K = {sweeps['thermal_drift_K']!r}: give a list "
                         "of temperature changes in K, e.g. [0.0, 1.0, 2.0].")
    alignment = sweeps.get("alignment", {})
    if not isinstance(alignment, Mapping) or not all(is_number_list(v) for v in alignment.values()):
        raise ValueError(f"sweeps alignment = {alignment!r}: give a mapping of misalignment "
                         "axis -> list of values, e.g. {\"rotation_deg\": [0.0, 1.0]}.")
    for key in ("cross_device", "fresh_chips"):
        if key in sweeps and not isinstance(sweeps[key], Mapping):
            raise ValueError(f"sweeps {key} = {sweeps[key]!r}: give a mapping (devices, "
                             "first_seed, ...), as in the platform's config block.")


def evaluate_model(model: PNN, meta: dict[str, Any], splits: Splits,
                   sweeps: Mapping[str, Any], tables: Sequence[str]) -> dict[str, list[dict]]:
    """Rows of every table in ``tables`` for one model; the test features are computed once.
    ``sweeps`` is the platform's config block (or any mapping with the tables' sweep keys)."""
    unknown = [t for t in tables if t not in TABLES]
    if unknown:
        raise ValueError(f"unknown table(s) {unknown}; known: {sorted(TABLES)}.")
    check_sweep_types(sweeps)
    missing = [TABLES[t][0] for t in tables if TABLES[t][0] and TABLES[t][0] not in sweeps]
    if missing:
        raise ValueError(f"sweeps lack {missing}; add them to the platform's config block.")
    h = features(model, splits.test_x)
    return {t: TABLES[t][1](model, meta, splits, sweeps.get(TABLES[t][0]) if TABLES[t][0] else
                            None, h) for t in tables}

