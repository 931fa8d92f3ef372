"""``bp``: plain backpropagation through the digital twin (in silico, offline)."""

from __future__ import annotations

import torch
from torch import nn

from .base import LossFn, Method, StepResult


class Backprop(Method):
    name = "bp"

    def step(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
             optimizer: torch.optim.Optimizer, loss_fn: LossFn) -> StepResult:
        optimizer.zero_grad(set_to_none=True)
        outputs = model(x)
        loss = loss_fn(outputs, y)
        loss.backward()
        optimizer.step()
        return StepResult(loss=float(loss.detach()), outputs=outputs.detach())
