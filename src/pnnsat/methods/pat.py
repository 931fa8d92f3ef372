"""``pat``: physics-aware training (Wright et al., Nature 2022), in situ on device A.

Each physical layer's forward value is **measured on the device** (through
:class:`~pnnsat.hardware.PhysicalSystem`) at the inputs the device actually produced upstream;
the backward pass uses the twin's Jacobian evaluated at those same inputs. Per layer that is one
straight-through identity,

    y = y_twin(x) + (y_device(x) − y_twin(x)).detach(),

whose value is the measurement and whose gradient is the twin's. Digital layers run as usual.
With a device equal to its twin, PAT is plain backpropagation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
from torch import nn

from ..hardware import PhysicalSystem
from .base import Method, TrainingContext

#: hook(name, layer, layer inputs, twin output, measured output) -> the layer's output
Fusion = Callable[[str, nn.Module, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def straight_through(computed: torch.Tensor, measured: torch.Tensor) -> torch.Tensor:
    """The value of ``measured`` with the gradient of ``computed``."""
    return computed + (measured - computed).detach()


def _pat_fusion(name: str, layer: nn.Module, x: torch.Tensor, twin: torch.Tensor,
                measured: torch.Tensor) -> torch.Tensor:
    return straight_through(twin, measured)


@contextlib.contextmanager
def in_situ_forward(model: nn.Module, system: PhysicalSystem,
                    fusion: Fusion = _pat_fusion) -> Iterator[None]:
    """Inside this context, ``model(x)`` measures every physical layer on ``system`` and returns
    ``fusion(...)`` of the twin's and the device's outputs (default: PAT's straight-through)."""

    def hook_for(name: str) -> Callable:
        def hook(layer: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
            measured = system.measure_layer(name, layer.theta, args[0])
            return fusion(name, layer, args[0], output, measured.to(output.dtype))
        return hook

    handles = [layer.register_forward_hook(hook_for(name))
               for name, layer in model.physical_layers().items()]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


class PhysicsAware(Method):
    name = "pat"
    in_situ = True

    def bind(self, model: nn.Module, context: TrainingContext) -> None:
        super().bind(model, context)
        self.model, self.system = model, context.system

    def forward_context(self) -> contextlib.AbstractContextManager:
        """Every forward measures the device layer by layer (the twin supplies the gradient)."""
        return in_situ_forward(self.model, self.system)
