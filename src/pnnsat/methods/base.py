"""What every training method shares: one step on one batch, a loss, and BatchNorm handling.

A method is the part of training that differs (which forward, which gradient, which extra loss);
the loop in :mod:`pnnsat.training` is shared. A method object is built once per run from its
config and called once per batch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..hardware import PhysicalSystem
from ..platforms.base import Platform

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class StepResult:
    """Loss (mean over the batch, at the unperturbed controls) and the outputs it came from."""

    loss: float
    outputs: torch.Tensor


@dataclass
class TrainingContext:
    """What a method may need besides the batch: the platform (its fabrication model and
    perturbation class), the platform's config block, the training seed, for in situ
    methods the physical system trained on (device A, reached only through
    :class:`~pnnsat.hardware.PhysicalSystem`), and the number of steps per epoch."""

    platform: Platform
    platform_config: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    system: PhysicalSystem | None = None
    input_shape: tuple[int, ...] = (1, 28, 28)  # one image, channels first
    steps_per_epoch: int = 1  # optimisation steps in one epoch (schedules in epochs use it)


class Method:
    """Base class: ``step`` runs forward/backward and ``optimizer.step()`` on one batch.

    The step is written once, here: zero the gradients → forward (inside
    :meth:`forward_context`, through :meth:`forward`) → the loss → :meth:`objective` →
    backward → ``optimizer.step()`` → :meth:`after_step` → the result. A method overrides the
    hooks for what differs (which forward, which objective); a method whose step has another
    shape (SAT's two gradients) overrides ``step``.

    ``in_situ`` methods need ``context.system``; the loop calls :meth:`bind` once before training.
    A method with internal state (a random generator, auxiliary networks) returns it from
    :meth:`state_dict` so that an interrupted run resumes exactly.
    """

    name = "base"
    in_situ = False
    #: epochs at the start that only prepare the method (e.g. DAT's warm-up): the training loop
    #: neither keeps their weights as the best epoch nor counts them towards early stopping
    warmup_epochs: float = 0.0

    def validate_for(self, platform: Platform) -> None:
        """Raise ValueError if the options do not fit ``platform`` (checked before any job)."""

    def bind(self, model: nn.Module, context: TrainingContext) -> None:
        """Called once before the first step; default: check the options, nothing to prepare."""
        self.validate_for(context.platform)
        if self.in_situ and context.system is None:
            raise ValueError(f"method {self.name!r} trains in situ and needs a physical system.")

    def forward_context(self) -> contextlib.AbstractContextManager:
        """Where the forwards run: the twin by default (in situ methods measure the device)."""
        return contextlib.nullcontext()

    def forward(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """The outputs the loss is computed on (default: the twin's, ``model(x)``)."""
        return model(x)

    def objective(self, loss: torch.Tensor) -> torch.Tensor:
        """What is differentiated (default: the loss; e.g. HAT adds its penalty)."""
        return loss

    def after_step(self) -> None:
        """Called after ``optimizer.step()`` (default: nothing)."""

    def step(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
             optimizer: torch.optim.Optimizer, loss_fn: LossFn) -> StepResult:
        """One optimisation step on one batch (see the class docstring)."""
        optimizer.zero_grad(set_to_none=True)
        with self.forward_context():
            outputs = self.forward(model, x)
        loss = loss_fn(outputs, y)
        self.objective(loss).backward()
        optimizer.step()
        self.after_step()
        return StepResult(loss=float(loss.detach()), outputs=outputs.detach())

    def epoch_metrics(self) -> dict[str, float]:
        """Method-specific numbers for the epoch's history entry (then reset); default none."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""


@contextlib.contextmanager
def frozen_batchnorm_statistics(model: nn.Module) -> Iterator[None]:
    """Run forwards in train mode without changing BatchNorm running statistics.

    Used for the second forward of a two-step method (SAT) so that the statistics are updated
    exactly once per optimisation step. Buffers are restored bit for bit on exit.
    """
    saved = []
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.track_running_stats:
            saved.append((module, module.running_mean.clone(), module.running_var.clone(),
                          module.num_batches_tracked.clone()))
    try:
        yield
    finally:
        with torch.no_grad():
            for module, mean, var, count in saved:
                module.running_mean.copy_(mean)
                module.running_var.copy_(var)
                module.num_batches_tracked.copy_(count)
