"""The three tasks of fig6 under thermal drift, on the twin and on device A: one tidy table with a
row per (task, model, target, ΔT): ``metric`` and ``value`` — classification accuracy (the method
matrix's MRR models), reconstruction MSE (pixel intensities in [0, 1], test split) and the
Fréchet distance of generated images to the test images (lower is better for both).

Device A of a task network is the configured device seed of its own design (its banks have other
shapes than LeNet's, so it is another chip drawn from the same fabrication model).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ..accuracy import features, head_accuracy
from ..chips import model_device_a
from ..data import Splits
from ..platforms import PNN, Device, get_platform
from .frechet import frechet_distance
from .networks import FeatureClassifier, MRRVariationalAutoencoder
from .training import normalised, pixels

#: seed of the latents every generator decodes (the same samples for every model and ΔT)
LATENT_SEED = 12_345


def _targets(model: PNN, meta: dict[str, Any]) -> dict[str, Device | None]:
    return {"twin": None, "device": model_device_a(model, meta)}


def _row(task: str, meta: dict[str, Any], target: str, device: Device | None, dT: float,
         metric: str, value: float, n: int) -> dict[str, Any]:
    return {"task": task, "platform": meta["platform"], "method": meta["method"],
            "seed": meta["seed"], "target": target,
            "device_seed": meta["device_seed"] if device else -1, "delta_T_K": float(dT),
            "metric": metric, "value": value, "n": n, "learned": bool(meta.get("learned", True))}


def classification_rows(models: Sequence[tuple[PNN, dict]], splits: Splits,
                        delta_T_K: Sequence[float]) -> list[dict[str, Any]]:
    """Accuracy of the method matrix's MRR classifiers vs ΔT (K) on the test split."""
    rows = []
    for model, meta in models:
        drift = get_platform(meta["platform"]).drift
        h = features(model, splits.test_x)
        for target, device in _targets(model, meta).items():
            rows += [_row("classification", meta, target, device, dT, "accuracy",
                          head_accuracy(model, h, splits.test_y, device, drift(dT)),
                          len(splits.test_y)) for dT in delta_T_K]
    return rows


@torch.no_grad()
def reconstructions(model: PNN, x: torch.Tensor, device: Device | None = None,
                    delta_T_K: float = 0.0, batch_size: int = 1000) -> torch.Tensor:
    """Reconstructed pixel intensities (B, 784) of normalised images ``x`` on ``device`` (None:
    the twin) at temperature change ``delta_T_K`` (K)."""
    model.eval()
    drift = get_platform("mrr").drift(delta_T_K)
    return torch.cat([model(x[i:i + batch_size], device, drift)
                      for i in range(0, len(x), batch_size)])


def reconstruction_rows(models: Sequence[tuple[PNN, dict]], splits: Splits,
                        delta_T_K: Sequence[float]) -> list[dict[str, Any]]:
    """Test MSE of each autoencoder vs ΔT (K): mean over images and pixels of (x̂ − x)²."""
    target_pixels = pixels(splits.test_x, splits.dataset)
    rows = []
    for model, meta in models:
        for target, device in _targets(model, meta).items():
            for dT in delta_T_K:
                out = reconstructions(model, splits.test_x, device, dT)
                rows.append(_row("reconstruction", meta, target, device, dT, "mse",
                                 float((out - target_pixels).pow(2).mean()), len(out)))
    return rows


def latents(model: MRRVariationalAutoencoder, n: int, seed: int = LATENT_SEED) -> torch.Tensor:
    """``n`` latents z ~ N(0, I) from ``seed`` (the same for every model of one latent size)."""
    return torch.randn(n, model.latent, generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def samples(model: MRRVariationalAutoencoder, z: torch.Tensor, device: Device | None = None,
            delta_T_K: float = 0.0, batch_size: int = 1000) -> torch.Tensor:
    """Generated pixel intensities (B, 784) decoded from ``z`` on ``device`` at ``delta_T_K``."""
    model.eval()
    drift = get_platform("mrr").drift(delta_T_K)
    return torch.cat([model.generate(z[i:i + batch_size], device, drift)
                      for i in range(0, len(z), batch_size)])


@torch.no_grad()
def embed(classifier: FeatureClassifier, images: torch.Tensor, dataset: str,
          batch_size: int = 1000) -> torch.Tensor:
    """The classifier's features of pixel intensities ``images`` (B, 784)."""
    classifier.eval()
    return torch.cat([classifier.embed(normalised(images[i:i + batch_size], dataset))
                      for i in range(0, len(images), batch_size)])


def generation_rows(models: Sequence[tuple[PNN, dict]], classifier: FeatureClassifier,
                    splits: Splits, delta_T_K: Sequence[float],
                    n_samples: int) -> list[dict[str, Any]]:
    """Fréchet distance between ``n_samples`` generated images and the test images vs ΔT (K),
    in the classifier's feature space; plus the data's own floor: ``n_samples`` validation images
    against the same test images (method ``data``; a finite sample never reaches 0)."""
    reference = embed(classifier, pixels(splits.test_x, splits.dataset), splits.dataset)
    floor_images = pixels(splits.val_x[:n_samples], splits.dataset)
    floor = frechet_distance(embed(classifier, floor_images, splits.dataset), reference)
    rows = [{"task": "generation", "platform": "mrr", "method": "data", "seed": -1,
             "target": "data", "device_seed": -1, "delta_T_K": 0.0,
             "metric": "frechet_distance", "value": floor, "n": len(floor_images),
             "learned": True}]
    for model, meta in models:
        z = latents(model, n_samples)
        for target, device in _targets(model, meta).items():
            for dT in delta_T_K:
                generated = samples(model, z, device, dT)
                value = frechet_distance(embed(classifier, generated, splits.dataset), reference)
                rows.append(_row("generation", meta, target, device, dT, "frechet_distance",
                                 value, len(generated)))
    return rows


def example_images(model: PNN, meta: dict[str, Any], splits: Splits,
                   delta_T_K: Sequence[float], n: int = 6) -> dict[float, torch.Tensor]:
    """The figure's examples on the twin: for a reconstruction model the first ``n`` test images
    reconstructed, for a generation model ``n`` samples from the first ``n`` fixed latents, at
    each ΔT (K) of ``delta_T_K``. Returns {ΔT: (n, 28, 28) pixel intensities in [0, 1]}."""
    if meta["task"] == "reconstruction":
        return {float(dT): reconstructions(model, splits.test_x[:n], None, dT).reshape(-1, 28, 28)
                for dT in delta_T_K}
    z = latents(model, n)
    return {float(dT): samples(model, z, None, dT).reshape(-1, 28, 28) for dT in delta_T_K}


#: gray levels of the example images' table (8 bits: what a figure can show)
EXAMPLE_LEVELS = 255


def _example_row(task: str, method: str, seed: int, dT: float | None, index: int,
                 image: torch.Tensor, learned: bool = True) -> dict[str, Any]:
    levels = (image.flatten().clamp(0.0, 1.0) * EXAMPLE_LEVELS).round().to(torch.int64)
    return {"task": task, "platform": "mrr", "method": method, "seed": seed,
            "delta_T_K": dT, "image": index, "learned": learned,
            "pixels": " ".join(str(v) for v in levels.tolist())}


def example_rows(models: Sequence[tuple[PNN, dict]], splits: Splits,
                 delta_T_K: Sequence[float], n: int = 6) -> list[dict[str, Any]]:
    """fig6's example images as a table: a row per image, its 28 × 28 pixel intensities as
    8-bit gray levels (0 … 255 for 0 … 1, row-major, space-separated). The first ``n`` test images
    (method ``data``, ΔT empty) come first; then, for every model (reconstruction or generation),
    its :func:`example_images` at each ΔT (K) of ``delta_T_K``."""
    originals = pixels(splits.test_x[:n], splits.dataset).reshape(-1, 28, 28)
    rows = [_example_row("reconstruction", "data", -1, None, i, image)
            for i, image in enumerate(originals)]
    for model, meta in models:
        for dT, images in example_images(model, meta, splits, delta_T_K, n).items():
            rows += [_example_row(meta["task"], meta["method"], int(meta["seed"]), dT, i, image,
                                  bool(meta.get("learned", True)))
                     for i, image in enumerate(images)]
    return rows


def example_array(rows: Any) -> Any:
    """The images of ``example_rows`` rows (a DataFrame) as an (N, 28, 28) array in [0, 1]."""
    import numpy as np

    levels = np.array([np.array(p.split(), dtype=np.float64) for p in rows.pixels])
    return levels.reshape(-1, 28, 28) / EXAMPLE_LEVELS
