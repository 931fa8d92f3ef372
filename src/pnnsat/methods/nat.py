"""``nat``: noise-aware training (Mourgias-Alexandris et al., Nat. Commun. 2022), in silico.

Every batch runs the twin with a **fresh random device** drawn from the platform's fabrication
model (the config's ``device`` block; all its error magnitudes times ``error_scale``), so the
network learns weights that work across the fabrication distribution rather than on one chip.
The per-batch device seeds come from a generator seeded by the training seed and lie in
[2³¹, 2⁶²): never device A's seed nor the small seeds of the evaluation devices.
With ``error_scale = 0`` every drawn device equals the twin and NAT is plain backpropagation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, replace
from typing import Any

import torch
from torch import nn

from ..platforms.base import sample_device
from .base import Method, TrainingContext


class NoiseAware(Method):
    name = "nat"

    def __init__(self, error_scale: float = 1.0) -> None:
        if error_scale < 0:
            raise ValueError(f"nat: error_scale = {error_scale} must be >= 0.")
        self.error_scale = float(error_scale)

    def bind(self, model: nn.Module, context: TrainingContext) -> None:
        super().bind(model, context)
        nominal = context.platform.fabrication(context.platform_config)
        self.fabrication = replace(nominal, **{
            f.name: getattr(nominal, f.name) * self.error_scale for f in fields(nominal)})
        self.platform = context.platform.name
        self.generator = torch.Generator().manual_seed(1_000_003 * int(context.seed) + 1)

    def forward(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """The twin on a fresh random device (a new seed from this method's generator)."""
        seed = int(torch.randint(2**31, 2**62, (1,), generator=self.generator))
        return model(x, device=sample_device(model, self.platform, seed, self.fabrication))

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.generator.set_state(state["generator"])
