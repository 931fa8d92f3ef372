"""Training of the reconstruction and generation networks (fig6) with the project's methods, and
of the digital feature classifier of the Fréchet distance.

The step of every method is the one of the classification matrix (:mod:`pnnsat.methods`: bp, nat,
sat — the in silico methods; in situ methods measure class scores through
:class:`~pnnsat.hardware.PhysicalSystem` and are not offered here); what differs is the loss (MSE
for reconstruction, the negative ELBO for generation) and the budget: a fixed number of epochs,
the last one kept (no validation accuracy to stop on). A run whose validation loss is not clearly
below that of the trivial model (the training split's mean image) did not learn and is flagged
(``learned``), and its rows never reach a figure.

Each model is written atomically when done; an interrupted job restarts its seeds from scratch
(a model takes about a minute).
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

from .. import ieee
from ..data import Splits, dataset_info, load_splits
from ..methods import TrainingContext, build_method
from ..model_files import provenance, read_model, save_model
from ..numerics import verify as verify_numerics
from ..platforms import PNN, get_platform
from ..platforms.mrr import MRRPhysics
from ..training import TrainingDiverged
from .networks import PIXELS, TASK_NETWORKS, FeatureClassifier, vae_loss

#: a model learned when its validation loss is below this fraction of the mean image's
LEARNED_FRACTION = 0.9


@dataclass
class TaskSpec:
    """Everything that determines one trained reconstruction or generation model.

    task: ``reconstruction`` or ``generation``. method: an in silico method id (bp, nat, sat).
    seed: initialisation, data order and the VAE's noise. platform_config: the MRR block's
    ``physics`` and ``device`` (device A: nat's fabrication model, the evaluation chip).
    method_config: the method's options (``platforms.mrr.<method>``). network: the task's
    network widths (``multitask.<task>``). epochs, batch_size, lr: Adam, every epoch trained
    and the last kept. train_subset / validation_subset: the first n images (quick runs).
    """

    task: str
    method: str
    seed: int
    platform_config: dict[str, Any]
    method_config: dict[str, Any] = field(default_factory=dict)
    network: dict[str, Any] = field(default_factory=dict)
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    train_subset: int | None = None
    validation_subset: int | None = None
    platform: str = "mrr"

    def __post_init__(self) -> None:
        if self.task not in TASK_NETWORKS:
            raise ValueError(f"task = {self.task!r}; choose one of {sorted(TASK_NETWORKS)}.")
        if self.platform != "mrr":
            raise ValueError(f"multitask platform = {self.platform!r}: the task networks are "
                             "built from MRR weight banks only.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"training seed = {self.seed!r} must be an integer >= 0.")
        if build_method(self.method, self.method_config).in_situ:
            raise ValueError(f"multitask method {self.method!r} trains in situ; the task "
                             "networks are trained offline only (bp, nat, sat).")
        for name in ("epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"multitask.training.{name} = {getattr(self, name)} must be "
                                 ">= 1.")
        if self.lr <= 0:
            raise ValueError(f"multitask.training.lr = {self.lr} must be > 0.")

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def build_task_model(task: str, platform_config: Mapping[str, Any],
                     network: Mapping[str, Any]) -> PNN:
    """A fresh network of ``task`` with the MRR block's physics; unknown widths raise."""
    physics = MRRPhysics(**dict(platform_config.get("physics") or {}))
    try:
        return TASK_NETWORKS[task](physics, **dict(network))
    except TypeError as err:
        raise ValueError(f"multitask.{task}: bad network options {dict(network)}: {err}") from None


def pixels(x: torch.Tensor, dataset: str) -> torch.Tensor:
    """Normalised images (B, 1, 28, 28) back to pixel intensities (B, 784) in [0, 1]."""
    info = dataset_info(dataset)
    return (x * info.std + info.mean).flatten(1).clamp(0.0, 1.0)


def normalised(images: torch.Tensor, dataset: str) -> torch.Tensor:
    """Pixel intensities (B, 784) in [0, 1] to normalised images (B, 1, 28, 28)."""
    info = dataset_info(dataset)
    return ((images - info.mean) / info.std).reshape(-1, 1, 28, 28)


def _noise(n: int, latent: int, seed: int) -> torch.Tensor:
    return torch.randn(n, latent, generator=torch.Generator().manual_seed(seed))


def task_inputs(task: str, model: PNN, x: torch.Tensor, noise_seed: int) -> torch.Tensor:
    """What the network takes in training: the images, and for the VAE its flattened images
    followed by unit normal noise drawn from ``noise_seed``."""
    if task == "generation":
        return torch.cat([x.flatten(1), _noise(len(x), model.latent, noise_seed)], 1)
    return x


#: task -> its training loss(outputs, pixel targets)
TASK_LOSSES = {"reconstruction": F.mse_loss, "generation": vae_loss}


@torch.no_grad()
def task_loss(task: str, model: PNN, x: torch.Tensor, target: torch.Tensor,
              noise_seed: int = 0, batch_size: int = 1000) -> float:
    """The task's loss on the twin (eval mode) over images ``x``, in batches."""
    model.eval()
    total = 0.0
    for i in range(0, len(x), batch_size):
        inputs = task_inputs(task, model, x[i:i + batch_size], noise_seed + i)
        total += float(TASK_LOSSES[task](model(inputs), target[i:i + batch_size])) * len(inputs)
    return total / len(x)


def trivial_loss(task: str, train_target: torch.Tensor, target: torch.Tensor) -> float:
    """The loss of a model that outputs the training split's mean image for every input: MSE
    for reconstruction, the per-pixel Bernoulli cross-entropy (KL = 0) for generation."""
    mean = train_target.mean(0, keepdim=True).expand_as(target)
    if task == "reconstruction":
        return float(F.mse_loss(mean, target))
    p = mean.clamp(1e-6, 1 - 1e-6)
    return float(F.binary_cross_entropy(p, target))


def train_task(spec: TaskSpec, data_cache: str | Path, out: str | Path,
               threads: int | None = None, progress: bool = True) -> dict[str, Any]:
    """Train one model of ``spec``; write ``out`` (state dict + metadata) atomically; return the
    metadata (history of train and validation loss per epoch, ``learned``)."""
    if threads:
        torch.set_num_threads(int(threads))
    numerics = verify_numerics()
    splits: Splits = load_splits(data_cache, spec.train_subset, test_subset=0,
                                 validation_subset=spec.validation_subset)
    torch.manual_seed(spec.seed)
    model = build_task_model(spec.task, spec.platform_config, spec.network)
    platform = get_platform(spec.platform)
    method = build_method(spec.method, spec.method_config)
    train_x = splits.train_x
    train_target = pixels(train_x, splits.dataset)
    val_target = pixels(splits.val_x, splits.dataset)
    method.bind(model, TrainingContext(platform=platform, platform_config=spec.platform_config,
                                       seed=spec.seed, input_shape=tuple(train_x.shape[1:]),
                                       steps_per_epoch=-(-len(train_x) // spec.batch_size)))
    optimizer = ieee.adam(model.parameters(), lr=spec.lr)
    loss_fn = TASK_LOSSES[spec.task]
    history: list[dict[str, float]] = []
    t0 = time.perf_counter()
    for epoch in range(spec.epochs):
        model.train()
        start = time.perf_counter()
        order = torch.randperm(len(train_x), generator=torch.Generator().manual_seed(
            spec.seed * 100_003 + epoch))
        total = 0.0
        for step, i in enumerate(range(0, len(order), spec.batch_size)):
            idx = order[i:i + spec.batch_size]
            inputs = task_inputs(spec.task, model, train_x[idx],
                                 (spec.seed * 1_000_003 + epoch) * 100_003 + step)
            result = method.step(model, inputs, train_target[idx], optimizer, loss_fn)
            if not math.isfinite(result.loss):
                raise TrainingDiverged(
                    f"{spec.task}/{spec.method}/seed{spec.seed} diverged: loss {result.loss} at "
                    f"epoch {epoch + 1}, step {step + 1}. Lower multitask.training.lr (or the "
                    "method's step size) and rerun.")
            total += result.loss * len(idx)
        val = task_loss(spec.task, model, splits.val_x, val_target, noise_seed=spec.seed)
        history.append({"epoch": epoch + 1, "train_loss": total / len(order),
                        "val_loss": val, "seconds": time.perf_counter() - start})
        if progress:
            print(f"[{spec.task}/{spec.method}/seed{spec.seed}] epoch {epoch + 1}/{spec.epochs} "
                  f"loss {history[-1]['train_loss']:.4f} val {val:.4f} "
                  f"({history[-1]['seconds']:.1f} s)", flush=True)
    trivial = trivial_loss(spec.task, train_target, val_target)
    learned = history[-1]["val_loss"] < LEARNED_FRACTION * trivial
    if not learned:
        print(f"[{spec.task}/{spec.method}/seed{spec.seed}] WARNING: did not learn: validation "
              f"loss {history[-1]['val_loss']:.4f} is not below {LEARNED_FRACTION} x the mean "
              f"image's {trivial:.4f}; its rows are kept and figures leave it out.", flush=True)
    meta = {
        "spec": asdict(spec), "task": spec.task, "platform": spec.platform,
        "method": spec.method, "seed": spec.seed,
        "device_seed": int(spec.platform_config.get("device", {}).get("seed", 0)),
        "epochs": len(history), "history": history, "val_loss": history[-1]["val_loss"],
        "trivial_val_loss": trivial, "learned": learned,
        "wall_time_s": time.perf_counter() - t0, "dataset": splits.dataset,
        "n_train": len(train_x), **provenance(numerics),
    }
    save_model(model, meta, out)
    return meta


def train_tasks(specs: Sequence[TaskSpec], data_cache: str | Path,
                outs: Sequence[str | Path], **kwargs: Any) -> list[dict[str, Any]]:
    """Every spec (one per seed) in this process, writing ``outs[i]`` for ``specs[i]``."""
    if len(specs) != len(outs):
        raise ValueError(f"{len(specs)} specs but {len(outs)} output paths; give one per spec.")
    return [train_task(s, data_cache, o, **kwargs) for s, o in zip(specs, outs, strict=True)]


def load_task_model(path: str | Path) -> tuple[PNN, dict[str, Any]]:
    """Rebuild a model written by :func:`train_task` (eval mode) and its metadata."""
    def build(meta: dict[str, Any]) -> PNN:
        spec = meta["spec"]
        return build_task_model(spec["task"], spec["platform_config"], spec["network"])

    return read_model(path, build, "pnnsat task model")


def train_feature_classifier(data_cache: str | Path, out: str | Path, epochs: int,
                             seed: int = 0, train_subset: int | None = None,
                             threads: int | None = None) -> dict[str, Any]:
    """Train :class:`FeatureClassifier` (Adam 1e-3, batch 128, ``epochs``) on the training split
    and write it with its test accuracy (the whole test split) atomically."""
    if threads:
        torch.set_num_threads(int(threads))
    numerics = verify_numerics()
    if int(epochs) < 1:
        raise ValueError(f"multitask.frechet.classifier_epochs = {epochs} must be >= 1.")
    splits = load_splits(data_cache, train_subset, validation_subset=0)
    torch.manual_seed(seed)
    model = FeatureClassifier()
    optimizer = ieee.adam(model.parameters(), lr=1e-3)
    t0 = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(splits.train_x),
                               generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
        for i in range(0, len(order), 128):
            idx = order[i:i + 128]
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(splits.train_x[idx]), splits.train_y[idx])
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        predictions = torch.cat([model(splits.test_x[i:i + 1000]).argmax(1)
                                 for i in range(0, len(splits.test_x), 1000)])
    meta = {"epochs": int(epochs), "seed": int(seed), "dataset": splits.dataset,
            "test_accuracy": float((predictions == splits.test_y).float().mean()),
            "n_test": len(splits.test_y), "wall_time_s": time.perf_counter() - t0,
            **provenance(numerics)}
    save_model(model, meta, out)
    return meta


def load_feature_classifier(path: str | Path) -> tuple[FeatureClassifier, dict[str, Any]]:
    """The classifier written by :func:`train_feature_classifier` (eval mode) and its metadata."""
    return read_model(path, lambda meta: FeatureClassifier(), "feature classifier")


__all__ = ["PIXELS", "TaskSpec", "build_task_model", "load_feature_classifier",
           "load_task_model", "normalised", "pixels", "task_loss", "train_feature_classifier",
           "train_task", "train_tasks", "trivial_loss"]
