"""The one training loop shared by every method and platform.

``train(spec, data_cache, out)`` builds the twin from the platform's config block, trains it with
the method's step, tracks per-epoch loss/accuracy and wall time, and writes the model with its
metadata atomically. After every epoch a resumable checkpoint ``<out>.partial`` is written; an
interrupted run with the same spec resumes from it and gives the same result as an uninterrupted
one (the shuffle of epoch e depends only on (seed, e)).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm import tqdm  # jobs run in a terminal; tqdm.auto warns in kernels without ipywidgets

from . import ieee
from .accuracy import above_chance, features, head_accuracy, measured_accuracy
from .chips import device_a, device_a_seed
from .config import first_line
from .data import Splits, load_splits
from .hardware import SimulatedSystem
from .instrument import instrument_from_config
from .methods import TrainingContext, build_method
from .model_files import provenance, save_model
from .numerics import verify as verify_numerics
from .paths import atomic_path
from .platforms import PNN, get_platform


@dataclass
class TrainSpec:
    """Everything that determines one trained model.

    platform / method: registry ids. seed: training seed (initialisation and data order).
    platform_config: the platform's config block (physics, device, sat, ...).
    method_config: the method's options (e.g. SAT's rho, adaptive).
    epochs: the cap on training epochs. patience: stop once the validation accuracy on what the
    model trains on (the twin offline, device A in situ) has not improved by more than
    ``min_delta`` (a fraction, 0.005 = half a point) for this many epochs, and keep the weights
    of the epoch with the highest validation accuracy (min_delta decides only when to stop; None:
    train all ``epochs``, keep the last).
    batch_size, lr, weight_decay: optimisation. optimizer: ``adam`` or ``sgd`` (with
    ``momentum``). clamp_digital: after every step, clamp the weights and biases of the digital
    convolutions and fully connected layers to [−c, c] (the authors' MZI protocol); None = off.
    train_subset: use only the first n training images (quick runs); None = all.
    validation_subset: validate each epoch on the first n validation images (quick runs);
    None = all.
    """

    platform: str
    method: str
    seed: int
    platform_config: dict[str, Any]
    epochs: int  # no default: the budget comes from the config (training.epochs)
    method_config: dict[str, Any] = field(default_factory=dict)
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"
    momentum: float = 0.0
    clamp_digital: float | None = None
    patience: int | None = None
    min_delta: float = 0.0
    train_subset: int | None = None
    validation_subset: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"training seed = {self.seed!r} must be an integer >= 0 (give it in "
                             "the spec or with --seeds).")
        platform = get_platform(self.platform)  # raises with the list of known platforms
        platform.fabrication(self.platform_config)  # a bad device block fails before training
        for name in ("epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"training.{name} = {getattr(self, name)} must be >= 1.")
        if self.lr <= 0:
            raise ValueError(f"training.lr = {self.lr} must be > 0.")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"training.optimizer = {self.optimizer!r}; choose one of "
                             f"{sorted(OPTIMIZERS)}.")
        if self.patience is not None and int(self.patience) < 1:
            raise ValueError(f"training.patience = {self.patience} must be >= 1 (or null: no "
                             "early stopping).")
        if self.clamp_digital is not None and self.clamp_digital <= 0:
            raise ValueError(f"training.clamp_digital = {self.clamp_digital} must be > 0 (or "
                             "null: no clamping).")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> TrainSpec:
        return cls(**dict(values))

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def resolve_torch_device(name: str = "cpu") -> torch.device:
    """``auto`` picks CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    kind, _, index = name.partition(":")
    if kind not in ("cpu", "cuda") or (index and not (kind == "cuda" and index.isdigit())):
        raise ValueError(f"torch device {name!r} is not one of auto, cpu, cuda (or cuda:N).")
    if kind == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"torch device {name!r}, but no CUDA device is available; use "
                           "auto or cpu.")
    return torch.device(name)


#: training.optimizer -> constructor(parameters, spec)
OPTIMIZERS = {
    "adam": lambda params, spec: ieee.adam(params, lr=spec.lr, weight_decay=spec.weight_decay),
    "sgd": lambda params, spec: torch.optim.SGD(params, lr=spec.lr, momentum=spec.momentum,
                                                weight_decay=spec.weight_decay),
}


def clamped_parameters(model: PNN) -> list[torch.Tensor]:
    """Weights and biases of the digital convolutions and fully connected layers (what
    ``clamp_digital`` bounds); BatchNorm and the physical controls are left free."""
    return [p for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))
            for p in m.parameters(recurse=False)]


def build_model(spec: TrainSpec) -> PNN:
    torch.manual_seed(spec.seed)
    return get_platform(spec.platform).build_model(spec.platform_config)


def _converged(best: Mapping[str, Any], epochs_done: int, patience: int | None) -> bool:
    """Early stopping: ``patience`` epochs have passed since the last one that beat the best
    before it by more than ``min_delta`` (never without a best epoch or without patience)."""
    return bool(best) and bool(patience) and epochs_done - best["last_improvement"] >= patience


def _epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))


def train(spec: TrainSpec, data_cache: str | Path, out: str | Path, threads: int | None = None,
          torch_device: str = "cpu", progress: bool = True,
          keep_checkpoint: bool = False) -> dict[str, Any]:
    """Train one model; write ``out`` (state dict + metadata) atomically; return the metadata.

    A checkpoint ``<out>.partial`` is written after every epoch and training resumes from it
    (same spec only). ``keep_checkpoint`` leaves the final one in place (see :func:`train_seeds`).
    """
    if threads:
        torch.set_num_threads(int(threads))
    numerics = verify_numerics()  # the kernels (and thread count) this model is computed with
    dev = resolve_torch_device(torch_device)
    out = Path(out)
    splits: Splits = load_splits(data_cache, spec.train_subset,
                                 validation_subset=spec.validation_subset)
    model = build_model(spec).to(dev)
    platform = get_platform(spec.platform)
    method = build_method(spec.method, spec.method_config)
    system = readout = None  # readout: device A's detectors' noise, resumed with the checkpoint
    if method.in_situ:  # in situ methods train on device A, reached only through measurements
        chip = device_a(model, spec.platform, spec.platform_config)
        if spec.platform_config.get("instrument"):  # driven through a DAC, read with noise
            instrument = instrument_from_config(spec.platform_config["instrument"])
            chip, readout = chip.with_instrument(instrument), instrument.readout
        system = SimulatedSystem(model, chip)
    method.bind(model, TrainingContext(platform=platform, platform_config=spec.platform_config,
                                       seed=spec.seed, system=system,
                                       input_shape=tuple(splits.train_x.shape[1:]),
                                       steps_per_epoch=-(-len(splits.train_x) // spec.batch_size)))
    if method.warmup_epochs >= spec.epochs:
        raise ValueError(f"{spec.platform}/{spec.method}: a warm-up of {method.warmup_epochs} "
                         f"epochs leaves none of the {spec.epochs} to train; lower the method's "
                         "warmup_epochs or raise training.epochs.")
    optimizer = OPTIMIZERS[spec.optimizer](model.parameters(), spec)
    clamped = clamped_parameters(model) if spec.clamp_digital else []
    history: list[dict[str, float]] = []
    start_epoch, wall_before = 0, 0.0
    best: dict[str, Any] = {}  # the best epoch so far (early stopping): epoch, accuracy, weights

    partial = out.with_name(out.name + ".partial")
    state = _read_checkpoint(partial) if partial.is_file() else {}
    good_epoch = None  # the epoch of a checkpoint this run resumed from or wrote
    if state:
        # resume only what was computed the same way (spec and numerics)
        if state.get("spec_key") == spec.key() and state.get("numerics") == numerics:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            method.load_state_dict(state["method"])
            if system is not None:
                system.queries = state["device_queries"]
            if readout is not None and "readout_rng" in state:
                readout.generator.set_state(state["readout_rng"])
            history, start_epoch, wall_before = state["history"], state["epoch"], state["wall"]
            best = state.get("best", {})
            if best and "last_improvement" not in best:  # a checkpoint of the older rule
                best = {**best, "last_improvement": best["epoch"], "improved_on": best["accuracy"]}
            good_epoch = start_epoch

    train_x, train_y = splits.train_x.to(dev), splits.train_y.to(dev)
    # What the model trains on, and where its validation accuracy is read (early stopping and
    # the chance check): the twin offline, device A in situ (measured through the system, so
    # its queries are counted: a lab pays for them).
    t0 = time.perf_counter()
    for epoch in range(start_epoch, spec.epochs):
        if _converged(best, epoch, spec.patience):
            break  # resumed after the stopping epoch was already reached
        model.train()
        epoch_start = time.perf_counter()
        order = _epoch_order(len(train_x), spec.seed, epoch).to(dev)
        total_loss, correct = 0.0, 0
        batches = range(0, len(order), spec.batch_size)
        bar = tqdm(batches, desc=f"{spec.platform}/{spec.method}/seed{spec.seed} epoch {epoch + 1}",
                   disable=not progress, leave=False, mininterval=2.0)
        for i in bar:
            idx = order[i:i + spec.batch_size]
            x, y = train_x[idx], train_y[idx]
            result = method.step(model, x, y, optimizer, F.cross_entropy)
            if clamped:
                with torch.no_grad():
                    for p in clamped:
                        p.clamp_(-spec.clamp_digital, spec.clamp_digital)
            if not math.isfinite(result.loss):
                raise TrainingDiverged(
                    f"{spec.platform}/{spec.method}/seed{spec.seed} diverged: loss "
                    f"{result.loss} at epoch {epoch + 1}, step {i // spec.batch_size + 1}. "
                    + (f"The last good checkpoint ({partial}, epoch {good_epoch}) is kept. "
                       if good_epoch is not None else "")
                    + "Lower training.lr (or the method's step size, e.g. sat.rho) and rerun.")
            total_loss += result.loss * len(idx)
            correct += int((result.outputs.argmax(1) == y).sum())
        seconds = time.perf_counter() - epoch_start
        h_val = features(model, splits.val_x)  # the digital front-end, once for both
        val_twin = head_accuracy(model, h_val, splits.val_y)
        val_target = (val_twin if system is None else
                      measured_accuracy(system, h_val, splits.val_y))
        history.append({
            "epoch": epoch + 1,
            "train_loss": total_loss / len(order),
            "train_accuracy": correct / len(order),
            "val_accuracy_twin": val_twin,
            "val_accuracy_target": val_target,
            "seconds": seconds,
            **method.epoch_metrics(),
        })
        warm = epoch + 1 > method.warmup_epochs  # warm-up epochs are never kept
        if warm and (not best or val_target > best["accuracy"]):
            # the best validation epoch is kept; min_delta decides only when to stop
            improved = not best or val_target > best["improved_on"] + spec.min_delta
            best = {"epoch": epoch + 1, "accuracy": val_target,
                    "last_improvement": epoch + 1 if improved else best["last_improvement"],
                    "improved_on": val_target if improved else best["improved_on"],
                    "model": {k: v.detach().clone() for k, v in model.state_dict().items()}}
        if progress:
            h = history[-1]
            print(f"[{spec.platform}/{spec.method}/seed{spec.seed}] epoch {epoch + 1}/{spec.epochs}"
                  f" loss {h['train_loss']:.4f} train {h['train_accuracy']:.4f}"
                  f" val(twin) {h['val_accuracy_twin']:.4f} ({seconds:.1f} s)", flush=True)
        with atomic_path(partial) as tmp:
            torch.save({"spec_key": spec.key(), "numerics": numerics,
                        "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(), "history": history,
                        "method": method.state_dict(),
                        "device_queries": 0 if system is None else system.queries,
                        **({} if readout is None else
                           {"readout_rng": readout.generator.get_state()}),
                        "epoch": epoch + 1, "best": best,
                        "wall": wall_before + time.perf_counter() - t0}, tmp)
        good_epoch = epoch + 1
        if _converged(best, epoch + 1, spec.patience):
            break

    if spec.patience and best:  # keep the best epoch's weights (early stopping)
        model.load_state_dict(best["model"])
    kept = best if spec.patience and best else {"epoch": len(history),
                                                "accuracy": history[-1]["val_accuracy_target"]}

    # Did it learn? Validation accuracy on what it trained on (the twin offline, device A in
    # situ), against chance (see pnnsat.accuracy.above_chance).
    target = "device" if system is not None else "twin"
    val_target = kept["accuracy"]
    learned = above_chance(val_target, len(splits.val_y), splits.n_classes)
    if not learned:
        print(f"[{spec.platform}/{spec.method}/seed{spec.seed}] WARNING: did not learn: "
              f"validation accuracy on the {target} {val_target:.3f} is chance level "
              f"(1/{splits.n_classes} = {1 / splits.n_classes:.3f}, {len(splits.val_y)} images);"
              " its tables are kept and its figures leave it out, saying so.", flush=True)
    meta = {
        "spec": asdict(spec),
        "platform": spec.platform,
        "method": spec.method,
        "seed": spec.seed,
        "device_seed": device_a_seed(spec.platform_config),
        "epochs": len(history),  # epochs run (the cap is spec.epochs)
        "best_epoch": kept["epoch"],
        "history": history,
        "wall_time_s": wall_before + time.perf_counter() - t0,
        # forward measurements on device A (training steps and each epoch's validation), in
        # samples × physical layers (0: in silico)
        "device_queries": 0 if system is None else system.queries,
        "in_situ": method.in_situ,
        "val_accuracy_target": val_target,
        "learned": learned,
        "dataset": splits.dataset,
        "n_train": len(train_x),
        **provenance(numerics),
    }
    save_model(model, meta, out)
    if not keep_checkpoint:
        partial.unlink(missing_ok=True)
    return meta


def train_seeds(specs: Sequence[TrainSpec], data_cache: str | Path, outs: Sequence[str | Path],
                **kwargs: Any) -> list[dict[str, Any]]:
    """Train every spec (typically one per seed) in this process — one interpreter start and
    data load for all — writing ``outs[i]`` for ``specs[i]``. Every model's final checkpoint is
    kept until all are done: a rerun after an interruption (Snakemake removes the outputs of an
    unfinished job) restores the finished ones from their checkpoints instead of retraining."""
    if len(specs) != len(outs):
        raise ValueError(f"{len(specs)} specs but {len(outs)} output paths; give one per spec.")
    metas = [train(spec, data_cache, out, keep_checkpoint=True, **kwargs)
             for spec, out in zip(specs, outs, strict=True)]
    for out in outs:
        Path(out).with_name(Path(out).name + ".partial").unlink(missing_ok=True)
    return metas


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite (one line: model, epoch, step, what to do)."""


def _read_checkpoint(path: Path) -> dict[str, Any]:
    """The resume checkpoint, or {} after discarding one that cannot be read (named)."""
    try:
        state = torch.load(path, weights_only=True)
        if not isinstance(state, dict) or "epoch" not in state:
            raise ValueError("not a pnnsat training checkpoint")
        return state
    except Exception as err:  # a truncated or foreign file: start again rather than block
        print(f"discarding unreadable checkpoint {path} ({first_line(err)}); training from the "
              "start.", flush=True)
        path.unlink(missing_ok=True)
        return {}
