"""``hat``: hardware-aware / component-stability training (after Xu et al., Optica 2024), in silico.

Task loss plus α times the **sensitivity of each physical layer to its controls**,

    L = L_task + α · Σ_layers S(Θ),

where S is the layer's :meth:`~pnnsat.platforms.base.PhysicalLayer.control_sensitivity`: for MRR
banks the exact mean of (∂W/∂Θ)² over all rings (nm⁻², pushes detunings to flat parts of the
Lorentzian); for MZI meshes and diffractive masks a random-projection estimate of the mean squared
derivative of the layer output along a random ±1 direction of Θ (a finite difference of step
``step`` in Θ's units). Inputs of the layer are held fixed (detached) in S: the penalty is about
the controls only. α = 0 is plain backpropagation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from .base import Method, TrainingContext


class HardwareAware(Method):
    name = "hat"

    def __init__(self, alpha: float, step: float = 1e-2) -> None:
        if alpha < 0 or step <= 0:
            raise ValueError(f"hat: alpha = {alpha} must be >= 0 and step = {step} > 0.")
        self.alpha, self.fd_step = float(alpha), float(step)
        self.generator = torch.Generator().manual_seed(0)

    def bind(self, model: nn.Module, context: TrainingContext) -> None:
        super().bind(model, context)
        self.generator = torch.Generator().manual_seed(1_000_003 * int(context.seed) + 2)

    def forward(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """The twin's outputs; each physical layer's inputs are kept for the penalty."""
        self.layers = model.physical_layers()
        self.inputs: dict[str, torch.Tensor] = {}
        handles = [layer.register_forward_hook(
            lambda layer, args, out, name=name: self.inputs.__setitem__(name, args[0].detach()))
            for name, layer in self.layers.items()]
        try:
            return model(x)
        finally:
            for handle in handles:
                handle.remove()

    def objective(self, loss: torch.Tensor) -> torch.Tensor:
        """The loss plus α × the summed control sensitivity of every physical layer."""
        penalty = sum(self.layers[name].control_sensitivity(self.inputs[name], self.generator,
                                                            self.fd_step)
                      for name in self.layers)
        return loss + self.alpha * penalty

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.generator.set_state(state["generator"])
