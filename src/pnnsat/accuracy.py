"""Classification accuracy of a model on a device under a perturbation — the one measurement
training (validation per epoch) and every evaluation table share. Kept apart from
:mod:`pnnsat.evaluation` so that new evaluation tables do not retrain any model."""

from __future__ import annotations

import math
from typing import Any

import torch

from .hardware import PhysicalSystem, SimulatedSystem
from .platforms import PNN, Device
from .platforms.base import fixed_controls


@torch.inference_mode()
def features(model: PNN, x: torch.Tensor, batch_size: int = 250) -> torch.Tensor:
    """The model's digital front-end outputs for images ``x`` (eval mode), computed once so that
    a sweep over devices and perturbations only reruns the physical part (``model.head``)."""
    model.eval()
    param = next(model.parameters())
    return torch.cat([model.features(x[i:i + batch_size].to(param.device))
                      for i in range(0, len(x), batch_size)])


@torch.inference_mode()
def measured_accuracy(system: PhysicalSystem, h: torch.Tensor, y: torch.Tensor,
                      batch_size: int = 250) -> float:
    """Fraction of labels ``y`` that a chip gets right: the class scores measured on ``system``
    (:meth:`~pnnsat.hardware.PhysicalSystem.measure_network`, which counts the queries) for
    front-end outputs ``h`` (:func:`features` of the images, model in eval mode). Every accuracy
    of this library is this measurement, so a lab scores a model on its own chip by passing its
    own :class:`~pnnsat.hardware.PhysicalSystem`. Batches of 250 are faster than larger ones on a
    CPU (the diffractive FFTs stay in cache)."""
    correct = 0
    with fixed_controls():  # the chip's settings hold for every batch: U, ring weights built once
        for i in range(0, len(h), batch_size):
            pred = system.measure_network(h[i:i + batch_size]).argmax(1)
            correct += int((pred.cpu() == y[i:i + batch_size]).sum())
    return correct / len(h)


def head_accuracy(model: PNN, h: torch.Tensor, y: torch.Tensor, device: Device | None = None,
                  perturbation: Any | None = None, batch_size: int = 250) -> float:
    """Accuracy from precomputed :func:`features` ``h`` (see :func:`accuracy`), measured on the
    simulated chip ``device`` (None: the twin) through the device interface."""
    model.eval()
    return measured_accuracy(SimulatedSystem(model, device, perturbation), h, y, batch_size)


def accuracy(model: PNN, x: torch.Tensor, y: torch.Tensor, device: Device | None = None,
             perturbation: Any | None = None, batch_size: int = 250) -> float:
    """Fraction of ``x`` classified correctly by ``model`` on ``device`` (None: the twin) under
    ``perturbation`` (None: nominal conditions)."""
    return head_accuracy(model, features(model, x, batch_size), y, device, perturbation,
                         batch_size)


#: one-sided z for p = 0.001: an accuracy this many binomial standard errors above chance
CHANCE_Z = 3.09


def above_chance(acc: float, n: int, classes: int) -> bool:
    """True if accuracy ``acc`` on ``n`` images is above chance (1/``classes``) beyond doubt:
    more than :data:`CHANCE_Z` binomial standard errors above it (one-sided p < 0.001; with
    1 000 images and 10 classes: above 12.9 %). A model that fails this did not learn."""
    chance = 1.0 / classes
    return acc > chance + CHANCE_Z * math.sqrt(chance * (1 - chance) / max(n, 1))
