"""The ladder from this repository's protocol to the authors' (figS6, ``docs/results.md``).

The paper's headline numbers are larger than ours. The ladder re-measures each headline with our
evaluation changed toward the authors' one step at a time, on the same models and seeds, so that
the rung that produces a gap is measured, not conjectured. A headline (``ladder.headlines`` in the
config) is a platform, the methods it compares, the perturbation it is read at and a list of
**rungs**; each rung adds its changes to the rung before it (cumulative), drawn from:

* ``target``: ``hardware`` (ours: device A and the platform's fresh chips), ``device_a`` (the one
  chip the authors' MZI tests use, the chip the in situ methods trained on) or ``twin`` (the
  authors' drift and misalignment protocol: the ideal model under the perturbation);
* ``perturbation``: fields changed in the headline's perturbation from this rung on (e.g. the D2NN
  rotation at which our 64-pixel masks' edges move as far as the authors' 128-pixel ones at 1°);
* ``branch`` (MRR): ``as_trained``, or ``toward_resonance``: every ring moved to the side of its
  resonance that the drift pushes it toward (Θ − Θ0 → −sign(drift)·|Θ − Θ0|). The twin's weights at
  nominal conditions are unchanged (the Lorentzian is even in Δ); under drift every ring now moves
  toward resonance, as in the authors' evaluation, where the rings sit on the positive-detuning
  branch (their ``lorentzian_inv``) and the sweep runs to ΔT = −2 K;
* ``batch_statistics`` (MRR, MZI): the authors evaluate with BatchNorm in training mode, which
  re-normalises every test batch with its own statistics. Our front-end's BatchNorm layers use
  the batch's statistics (on the MZI they precede the mesh, so they cannot see what the chip
  does). MRR: the authors' network also has a BatchNorm after its first ring bank (their fc2 →
  norm4); ours has none, so the rung standardises bank 1's outputs per feature over the batch and
  gives them the twin's clean per-feature mean and standard deviation over the test split — a
  BatchNorm in training mode whose affine a training on the twin would have learned;
* ``resampling`` (D2NN): ``bilinear`` (ours: the masks' transmission warped with a differentiable
  bilinear resampling) or ``nearest``: the authors' rotation, nearest-neighbour resampling of the
  phase masks written into the masks (zero phase where no pixel maps; twin only).

Every rung is scored in the authors' test batches of the headline (``batch_size`` unshuffled
images: 100 for their MRR drift sweep, 200 for the D2NN rotation, 6000 for the MZI): a row holds
the accuracy over the full test split (the mean over batches), the accuracy of the one batch the
authors score (``one_batch``: the MRR's 15th batch, index 14; the D2NN's 13th, index 12) and the
2.5–97.5 % range of the one-batch accuracies over all batches — what a one-batch score can read
for one model.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .accuracy import features
from .chips import fresh_chip, model_device_a
from .data import Splits
from .hardware import SimulatedSystem
from .platforms import PNN, Device, get_platform
from .platforms.base import fixed_controls

TARGETS = ("hardware", "device_a", "twin")
BRANCHES = ("as_trained", "toward_resonance")
RESAMPLINGS = ("bilinear", "nearest")


@dataclass(frozen=True)
class Rung:
    """One rung's evaluation options (see the module docstring)."""

    name: str
    target: str = "hardware"
    branch: str = "as_trained"
    batch_statistics: bool = False
    resampling: str = "bilinear"
    perturbation: tuple[tuple[str, float], ...] | None = None  # fields over the headline's


#: option -> platforms on which it is defined (beyond its default)
PLATFORM_OPTIONS: dict[str, tuple[str, ...]] = {
    "branch": ("mrr",),
    "batch_statistics": ("mrr", "mzi"),
    "resampling": ("d2nn",),
}


def build_rungs(platform: str, specs: Sequence[Mapping[str, Any]], where: str) -> list[Rung]:
    """The cumulative rungs of one headline: each spec ({name, option: value, ...}) changes the
    options of the rung before it. Raises ValueError naming ``where`` (the config key path) for an
    unknown option or value, an option the platform lacks, a repeated name, or nearest
    resampling on hardware (the authors' rotation is scored on the twin only)."""
    allowed = {f.name for f in fields(Rung)} - {"name"}
    values = {"target": TARGETS, "branch": BRANCHES, "resampling": RESAMPLINGS,
              "batch_statistics": (False, True)}
    rungs: list[Rung] = []
    current = Rung(name="")
    for i, spec in enumerate(specs):
        at = f"{where}.rungs[{i}]"
        if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
            raise ValueError(f"{at} = {spec!r}: give a mapping with a name, e.g. "
                             "{name: twin, target: twin}.")
        changes = {k: v for k, v in spec.items() if k != "name"}
        unknown = sorted(set(changes) - allowed)
        if unknown:
            raise ValueError(f"{at} names {unknown}; allowed: {sorted(allowed)}.")
        if "perturbation" in changes:
            value = changes["perturbation"]
            if not isinstance(value, Mapping) or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool)
                    for v in value.values()):
                raise ValueError(f"{at}.perturbation = {value!r}: give a mapping of "
                                 "perturbation field -> number, e.g. {rotation_deg: 2.0}.")
            changes["perturbation"] = tuple(sorted((k, float(v)) for k, v in value.items()))
        for key, value in changes.items():
            if key == "perturbation":
                continue
            if value not in values[key] or (key == "batch_statistics"
                                            and not isinstance(value, bool)):
                raise ValueError(f"{at}.{key} = {value!r}; allowed: {list(values[key])}.")
            default = getattr(Rung(name=""), key)
            if key in PLATFORM_OPTIONS and value != default \
                    and platform not in PLATFORM_OPTIONS[key]:
                raise ValueError(f"{at}.{key}: defined on {list(PLATFORM_OPTIONS[key])} only, "
                                 f"not on {platform}.")
        current = replace(current, name=spec["name"], **changes)
        if current.resampling == "nearest" and current.target != "twin":
            raise ValueError(f"{at}: nearest resampling is the authors' rotation of the twin's "
                             "masks; set target: twin on this rung or one before it.")
        if current.branch == "toward_resonance" and current.target != "twin":
            raise ValueError(f"{at}: moving every ring to the other side of its resonance "
                             "keeps the twin but changes a chip (its offsets and crosstalk are "
                             "signed); set target: twin on this rung or one before it.")
        if any(r.name == current.name for r in rungs):
            raise ValueError(f"{at}: rung name {current.name!r} is used twice.")
        rungs.append(current)
    if not rungs:
        raise ValueError(f"{where}.rungs is empty; list at least one rung.")
    return rungs


def fold_toward_resonance(model: PNN, perturbation: Any) -> PNN:
    """A copy of an MRR model with every ring on the side of its resonance that the common shift
    of ``perturbation`` (drift · ΔT − the carriers' common offset, nm) pushes it toward:
    Θ − Θ0 → −sign(shift)·|Θ − Θ0|. The twin's weights are unchanged at nominal conditions (W is
    even in Θ − Θ0); a chip's are not (its offsets and crosstalk are signed), so the ladder uses
    this on the twin only."""
    folded = copy.deepcopy(model)
    for layer in folded.physical_layers().values():
        shift = (layer.physics.drift_nm_per_K * float(perturbation.delta_T_K)
                 - float(perturbation.carrier_offset_nm))
        side = -1.0 if shift >= 0 else 1.0
        with torch.no_grad():
            t0 = layer.physics.theta0_nm
            layer.theta.copy_(t0 + side * (layer.theta - t0).abs())
    return folded


def rotate_masks_nearest(model: PNN, perturbation: Any) -> tuple[PNN, Any]:
    """The authors' D2NN rotation: a copy of the model whose phase masks are rotated by
    ``perturbation.rotation_deg`` about the grid centre with nearest-neighbour resampling (zero
    phase where no pixel maps), and the perturbation with the rotation removed (it is now in
    the masks)."""
    rotated = copy.deepcopy(model)
    optics = rotated.optics
    a = math.radians(float(perturbation.rotation_deg))
    c, s = math.cos(a), math.sin(a)
    theta = torch.tensor([[[c, s, 0.0], [-s, c, 0.0]]], dtype=optics.theta.dtype)
    n = optics.theta.shape[-1]
    grid = F.affine_grid(theta, [1, optics.theta.shape[0], n, n], align_corners=False)
    with torch.no_grad():
        optics.theta.copy_(F.grid_sample(optics.theta[None], grid, mode="nearest",
                                         padding_mode="zeros", align_corners=False)[0])
    return rotated, replace(perturbation, rotation_deg=0.0)


def renormalise(z: torch.Tensor, mean: torch.Tensor, std: torch.Tensor,
                eps: float = 1e-5) -> torch.Tensor:
    """``z`` standardised per feature over the batch, then given the fixed ``mean`` and ``std``
    per feature: a BatchNorm in training mode whose affine (γ, β) equals ``std`` and ``mean``."""
    return (z - z.mean(0)) / (z.std(0, unbiased=False) + eps) * std + mean


@torch.inference_mode()
def mrr_bank1_statistics(model: PNN, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-feature mean and standard deviation of bank 1's outputs on the twin at nominal
    conditions over the front-end outputs ``h`` (the whole test split): the affine a BatchNorm
    after bank 1, trained on the twin, would have learned to restore."""
    z = model.bank1(h, None, None)
    return z.mean(0), z.std(0, unbiased=False)


def mrr_batch_statistics_scores(model: PNN, h: torch.Tensor, device: Device | None,
                                perturbation: Any,
                                reference: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Class scores of an MRR model with bank 1's outputs re-normalised per batch (see the
    module docstring): the chip's bank-1 outputs under ``perturbation`` standardised over the
    batch ``h`` and mapped onto the twin's clean statistics ``reference`` (mean, std per
    feature, :func:`mrr_bank1_statistics`), as a BatchNorm in training mode does."""
    def errors(name: str) -> Any:
        return None if device is None else device.for_layer(name)

    z = renormalise(model.bank1(h, errors("bank1"), perturbation), *reference)
    return model.bank2(F.relu(z), errors("bank2"), perturbation)


def batchnorm_training_features(model: PNN, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    """The digital front-end's outputs with its BatchNorm layers in training mode (each batch
    normalised by its own statistics, the authors' test setting), on a copy of the model so the
    running statistics of ``model`` are untouched."""
    clone = copy.deepcopy(model).eval()
    for module in clone.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.train()
    # batch bounds; a last batch of one image joins the one before (one image has no statistics)
    starts = list(range(0, len(x), batch_size))
    if len(starts) > 1 and len(x) - starts[-1] == 1:
        starts.pop()
    bounds = list(zip(starts, starts[1:] + [len(x)], strict=True))
    param = next(clone.parameters())
    with torch.inference_mode():
        return torch.cat([clone.features(x[a:b].to(param.device)) for a, b in bounds])


@torch.inference_mode()
def batch_accuracies(scores: Callable[[torch.Tensor], torch.Tensor], h: torch.Tensor,
                     y: torch.Tensor, batch_size: int) -> np.ndarray:
    """Accuracy of each consecutive batch of ``batch_size`` test items (the last may be
    shorter) from ``scores`` (front-end outputs → class scores)."""
    with fixed_controls():
        return np.array([float((scores(h[i:i + batch_size]).argmax(1).cpu()
                                == y[i:i + batch_size]).float().mean())
                         for i in range(0, len(h), batch_size)])


def mrr_shift_over_linewidth(model: PNN, perturbation: Any) -> float:
    """The drift's resonance shift in units of the ring's linewidth, |drift · ΔT| / γ (HWHM): the
    axis on which two chips of different γ or drift coefficient compare (the authors' code: γ =
    0.15 nm, 80 pm/K, as ours, so 2 K is 1.07 linewidths on both)."""
    physics = model.bank1.physics
    return abs(physics.drift_nm_per_K * float(perturbation.delta_T_K)) / physics.gamma_nm


def d2nn_edge_displacement_px(model: PNN, perturbation: Any) -> float:
    """How far the middle of a mask's edge moves under the rotation, in pixels: (n/2)·sin(angle)
    (the authors' 128-pixel masks at 1°: 1.1 px; ours, 64 pixels: 0.56 px at 1°, 1.1 at 2°)."""
    return model.physics.grid / 2 * abs(math.sin(math.radians(float(perturbation.rotation_deg))))


#: platform -> (name, function of (model, perturbation)): the perturbation on an axis that the
#: paper's chip and ours share
COMMON_AXIS: dict[str, tuple[str, Callable[[PNN, Any], float]]] = {
    "mrr": ("shift / linewidth", mrr_shift_over_linewidth),
    "d2nn": ("mask-edge displacement (px)", d2nn_edge_displacement_px),
}


def rung_rows(model: PNN, meta: Mapping[str, Any], splits: Splits, rung: Rung,
              perturbation: Any, fresh_spec: Mapping[str, Any] | None, batch_size: int,
              one_batch: int | None) -> list[dict[str, Any]]:
    """Rows of one model on one rung: one per chip (device A and the fresh chips on hardware,
    device A, or the twin), each with the accuracy over the test split, the accuracy of batch
    number ``one_batch`` (NaN if None or past the split's last batch) and the range over
    batches."""
    platform = get_platform(meta["platform"])
    if rung.branch == "toward_resonance":
        model = fold_toward_resonance(model, perturbation)
    if rung.resampling == "nearest":
        model, perturbation = rotate_masks_nearest(model, perturbation)
    model.eval()
    if rung.batch_statistics:  # every BatchNorm of the front-end on the test batch's statistics
        h = batchnorm_training_features(model, splits.test_x, batch_size)
    else:
        h = features(model, splits.test_x, batch_size)
    reference = mrr_bank1_statistics(model, features(model, splits.test_x)) \
        if rung.batch_statistics and meta["platform"] == "mrr" else None
    chips: list[tuple[str, int, Device | None]] = [("twin", -1, None)]
    if rung.target != "twin":
        chips = [("device", int(meta["device_seed"]), model_device_a(model, meta))]
        if rung.target == "hardware" and fresh_spec:
            fabrication = platform.fabrication(meta["spec"]["platform_config"])
            first, k = int(fresh_spec["first_seed"]), int(fresh_spec["devices"])
            chips += [("fresh", s, fresh_chip(model, platform.name, s, fabrication))
                      for s in range(first, first + k)]
    rows = []
    for target, device_seed, device in chips:
        if rung.batch_statistics and meta["platform"] == "mrr":
            def scores(hb: torch.Tensor, device: Device | None = device) -> torch.Tensor:
                return mrr_batch_statistics_scores(model, hb, device, perturbation, reference)
        else:
            scores = SimulatedSystem(model, device, perturbation).measure_network
        accs = batch_accuracies(scores, h, splits.test_y, batch_size)
        sizes = np.array([min(batch_size, len(h) - i) for i in range(0, len(h), batch_size)])
        rows.append({
            "platform": meta["platform"], "method": meta["method"], "seed": meta["seed"],
            "rung": rung.name, "rung_target": rung.target, "target": target,
            "device_seed": device_seed,
            "accuracy": float((accs * sizes).sum() / sizes.sum()),
            "one_batch": float(accs[one_batch]) if one_batch is not None
            and one_batch < len(accs) else float("nan"),
            "batch_low": float(np.percentile(accs, 2.5)),
            "batch_high": float(np.percentile(accs, 97.5)),
            "n_test": int(len(h)), "batch_size": int(batch_size)})
    return rows


def ladder_rows(model: PNN, meta: Mapping[str, Any], splits: Splits, headline: str,
                spec: Mapping[str, Any], fresh_spec: Mapping[str, Any] | None, batch_size: int,
                one_batch: int | None, source: str = "main") -> list[dict[str, Any]]:
    """Every rung of headline ``headline`` (its config block ``spec``) for one model; ``source``
    (the rows' ``ablation`` column): ``main`` for the method matrix's models, else the ablation it
    comes from."""
    platform = get_platform(meta["platform"])
    rungs = build_rungs(meta["platform"], spec["rungs"], f"ladder.headlines.{headline}")
    # the model's own flags (it is outside the method matrix's training table when it comes from
    # an ablation): pnnsat.tables.read_table leaves out a model that did not learn
    history = meta.get("history") or [{}]
    kept = history[int(meta.get("best_epoch", len(history))) - 1]
    model_flags = {"family": "in situ" if meta.get("in_situ") else "in silico",
                   "learned": bool(meta.get("learned", True)),
                   "val_accuracy_target": meta.get("val_accuracy_target",
                                                   kept.get("val_accuracy_twin"))}
    rows = []
    for order, rung in enumerate(rungs):
        fields_ = {**dict(spec.get("perturbation") or {}), **dict(rung.perturbation or ())}
        perturbation = platform.perturbation(**fields_)
        axis, on_axis = COMMON_AXIS.get(meta["platform"], ("", None))
        axis_value = float("nan") if on_axis is None else on_axis(model, perturbation)
        for row in rung_rows(model, meta, splits, rung, perturbation, fresh_spec, batch_size,
                             one_batch):
            paper = (spec.get("paper") or {}).get(meta["method"]) if source == "main" else None
            rows.append({"headline": headline, "ablation": source, "order": order,
                         "paper_pct": float("nan") if paper is None else float(paper),
                         "perturbation": " ".join(f"{k}={v:g}" for k, v in fields_.items()),
                         "common_axis": axis, "common_axis_value": axis_value,
                         **row, **model_flags})
    return rows


def check_headline(name: str, spec: Mapping[str, Any], methods: Sequence[str],
                   ablations: Mapping[str, Mapping[str, Any]]) -> None:
    """One headline of the ``ladder`` config block, before any work: its methods are the run's,
    its ablations exist on its platform, the paper's numbers name its methods, its perturbation
    fields (the headline's and each rung's) are fields of the platform's perturbation, and its
    rungs build (:func:`build_rungs`). Raises ValueError naming the key path."""
    where = f"ladder.headlines.{name}"
    platform = get_platform(spec["platform"])
    missing = [m for m in spec["methods"] if m not in methods]
    if missing:
        raise ValueError(f"{where}.methods names {missing}, not in methods; add them there or "
                         "drop them here.")
    for a in spec.get("ablations") or []:
        if a not in ablations:
            raise ValueError(f"{where}.ablations names {a!r}, not in ablations "
                             f"({sorted(ablations)}).")
        if ablations[a]["platform"] != spec["platform"]:
            raise ValueError(f"{where}.ablations: {a!r} is on {ablations[a]['platform']}, this "
                             f"headline on {spec['platform']}.")
    stray = sorted(set(spec["paper"]) - set(spec["methods"]))
    if stray:
        raise ValueError(f"{where}.paper names {stray}, not among its methods.")
    known = {f.name for f in fields(platform.perturbation)}
    rungs = build_rungs(spec["platform"], spec["rungs"], where)
    for fields_ in [dict(spec["perturbation"])] + [dict(r.perturbation) for r in rungs
                                                   if r.perturbation is not None]:
        bad = sorted(set(fields_) - known)
        if bad:
            raise ValueError(f"{where}: perturbation names {bad}, not fields of "
                             f"{platform.perturbation.__name__}; allowed: {sorted(known)}.")
    for rung in rungs:
        fields_ = {**dict(spec["perturbation"]), **dict(rung.perturbation or ())}
        shifts = float(fields_.get("delta_T_K", 0.0)) or float(
            fields_.get("carrier_offset_nm", 0.0))
        if rung.branch == "toward_resonance" and not shifts:
            raise ValueError(f"{where}: rung {rung.name!r} moves the rings toward resonance "
                             "but its perturbation shifts none; set perturbation.delta_T_K.")
