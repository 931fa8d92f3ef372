"""``sat``: sharpness-aware training — SAM on the control parameters Θ (Xu et al., seed paper).

One step on a batch (Foret et al. 2021, applied to Θ only):

1. g = ∇_Θ L(Θ, w) at the current controls (BatchNorm statistics are updated here, once);
2. ascent ε = ρ · g / ‖g‖ — or, ``adaptive`` (ASAM, Kwon et al. 2021),
   ε = ρ · T² g / ‖T g‖ with T = |Θ| + η element-wise;
3. gradient of L at (Θ + ε, w) for *all* parameters (digital weights included), with BatchNorm
   statistics frozen;
4. Θ is restored exactly (bit for bit) and the base optimizer steps with that gradient.

Two gradient evaluations per step. ``adaptive`` scales by |Θ|: meaningful for MRR detunings,
meaningless for 2π-periodic phases, where it defaults off.
"""

from __future__ import annotations

import torch
from torch import nn

from .base import LossFn, Method, StepResult, frozen_batchnorm_statistics


def ascent_direction(controls: list[torch.Tensor], grads: list[torch.Tensor | None], rho: float,
                     adaptive: bool, eta: float) -> list[torch.Tensor]:
    """ε for each control tensor (see module docstring); zeros where the gradient is None/0."""
    grads = [torch.zeros_like(p) if g is None else g for p, g in zip(controls, grads, strict=True)]
    if adaptive:
        scales = [p.detach().abs() + eta for p in controls]
        scaled = [s * g for s, g in zip(scales, grads, strict=True)]
    else:
        scales = [torch.ones_like(p) for p in controls]
        scaled = grads
    norm = torch.sqrt(sum((t * t).sum() for t in scaled))
    if norm == 0:
        return [torch.zeros_like(p) for p in controls]
    return [rho * s * t / norm for s, t in zip(scales, scaled, strict=True)]


class SharpnessAware(Method):
    name = "sat"

    def __init__(self, rho: float, adaptive: bool = False, eta: float = 0.01) -> None:
        if rho < 0:
            raise ValueError(f"sat: rho = {rho} is negative; the ascent radius must be >= 0.")
        self.rho, self.adaptive, self.eta = float(rho), bool(adaptive), float(eta)

    def step(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
             optimizer: torch.optim.Optimizer, loss_fn: LossFn) -> StepResult:
        controls = list(model.control_parameters())
        optimizer.zero_grad(set_to_none=True)
        outputs = model(x)
        loss = loss_fn(outputs, y)
        loss.backward()
        with torch.no_grad():
            saved = [p.detach().clone() for p in controls]
            eps = ascent_direction(controls, [p.grad for p in controls], self.rho, self.adaptive,
                                   self.eta)
            for p, e in zip(controls, eps, strict=True):
                p.add_(e)
        optimizer.zero_grad(set_to_none=True)
        with frozen_batchnorm_statistics(model):
            loss_fn(model(x), y).backward()
        with torch.no_grad():
            for p, original in zip(controls, saved, strict=True):
                p.copy_(original)
        optimizer.step()
        return StepResult(loss=float(loss.detach()), outputs=outputs.detach())
