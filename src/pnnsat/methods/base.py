"""What every training method shares: one step on one batch, a loss, and BatchNorm handling.

A method is the part of training that differs (which forward, which gradient, which extra loss);
the loop in :mod:`pnnsat.training` is shared. A method object is built once per run from its
config and called once per batch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import nn

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class StepResult:
    """Loss (mean over the batch, at the unperturbed controls) and the outputs it came from."""

    loss: float
    outputs: torch.Tensor


class Method:
    """Base class: ``step`` runs forward/backward and ``optimizer.step()`` on one batch."""

    name = "base"
    #: forward passes on the physical device per sample (in situ methods); 0 for in silico ones.
    device_queries_per_sample = 0

    def step(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
             optimizer: torch.optim.Optimizer, loss_fn: LossFn) -> StepResult:
        raise NotImplementedError


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
