"""``sat_pat``: sharpness-aware training whose two gradients are PAT gradients (seed paper).

The step of :mod:`pnnsat.methods.sat` with every forward run in situ: at Θ the device is measured
layer by layer and the twin supplies the gradient (PAT); the ascent ε is computed from that
gradient; the device is programmed to Θ + ε, measured again, and the PAT gradient there drives
the descent at Θ. Two device forward passes per step (one on the reuse steps of
``ascent_every`` > 1, see :mod:`pnnsat.methods.sat`). The device is what it is: perturbation-aware
ascent (deliberately rotating or heating the lab's chip) is not offered. ρ = 0 is ``pat``.
"""

from __future__ import annotations

import contextlib

from torch import nn

from .base import TrainingContext
from .pat import in_situ_forward
from .sat import SharpnessAware


class SharpnessAwarePAT(SharpnessAware):
    name = "sat_pat"
    in_situ = True

    def __init__(self, rho: float, adaptive: bool = False, eta: float = 0.01,
                 ascent_every: int = 1, scope: str = "controls") -> None:
        super().__init__(rho, adaptive, eta, ascent_every=ascent_every, scope=scope)

    def bind(self, model: nn.Module, context: TrainingContext) -> None:
        super().bind(model, context)
        self.model, self.system = model, context.system

    def forward_context(self) -> contextlib.AbstractContextManager:
        return in_situ_forward(self.model, self.system)
