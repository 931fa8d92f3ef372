"""``dat``: dual adaptive training (Zheng et al., Nat. Mach. Intell. 2023), in situ on device A.

After every physical layer sits a small **systematic-error prediction network** (SEPN): a residual
correction ŷ = y_twin + SEPN(y_twin) of the twin's output: an MLP for vector outputs; for images a
two-layer 3×3 convolution on a 4× average-pooled grid, upsampled back (the detectors integrate
8×8-pixel regions, so the correction that matters is smooth). The last layer is zero-initialised,
so training starts from the plain twin.
Each step, for every physical layer in turn, at the inputs the device actually produced upstream:

1. **measure** the layer on the device (one query per sample);
2. **similarity phase**: ``similarity_steps`` Adam steps (learning rate ``lr``) on the SEPN only,
   minimising the relative error ‖ŷ − y_device‖² / ‖y_device‖²;
3. **task phase**: the layer passes the measured state forward (its value) with the gradient of the
   corrected twin ŷ (state fusion), so the task loss is back-propagated through twin + SEPN.

**Warm-up** (the authors' schedule: their first 20 of 60 epochs): for the first
``warmup_epochs`` epochs the SEPNs are fitted as above but the task phase is PAT's (the plain
twin's gradient), so DAT's gradients start from fitted predictors instead of untrained ones.

The SEPNs are training aids: the deployed model is the twin's Θ and digital weights only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from .. import ieee
from .base import Method, TrainingContext
from .pat import in_situ_forward, straight_through


def relative_error(predicted: torch.Tensor, measured: torch.Tensor) -> torch.Tensor:
    """‖predicted − measured‖² / ‖measured‖² over the whole batch (dimensionless)."""
    return (predicted - measured).pow(2).sum() / measured.pow(2).sum().clamp_min(1e-12)


class SEPN(nn.Module):
    """Residual error predictor for one layer's output of shape ``shape`` (batch excluded)."""

    def __init__(self, shape: tuple[int, ...], hidden: int = 64, channels: int = 8,
                 pool: int = 4) -> None:
        super().__init__()
        self.image = len(shape) == 2
        if self.image:  # a smooth correction on a pool× coarser grid, upsampled back
            self.net = nn.Sequential(nn.AvgPool2d(pool), nn.Conv2d(1, channels, 3, padding=1),
                                     nn.ReLU(), nn.Conv2d(channels, 1, 3, padding=1),
                                     nn.Upsample(scale_factor=pool, mode="nearest"))
        elif len(shape) == 1:
            self.net = nn.Sequential(nn.Linear(shape[0], hidden), nn.ReLU(),
                                     nn.Linear(hidden, shape[0]))
        else:
            raise ValueError(f"dat: no SEPN for layer outputs of shape {shape}.")
        last = [m for m in self.net if isinstance(m, (nn.Linear, nn.Conv2d))][-1]
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        correction = self.net(y[:, None])[:, 0] if self.image else self.net(y)
        return y + correction


class FieldSEPN(nn.Module):
    """Residual error predictor of a layer that detects the intensity of a complex field of
    ``n`` modes (the MZI mesh: :meth:`ClementsMesh.output_field`): the corrected field is
    E + C E with C a complex n×n matrix (zero at start), and the predicted detection |E + C E|².

    Linear optics makes this the exact form of the systematic error: a chip's field is
    E_device = U' U^† E_twin, a fixed linear map of the twin's (for fixed controls), while its
    detected powers are not a function of the twin's powers (the phases are lost), so a predictor
    of powers from powers can only fit their average — and the task gradient through it then
    drives Θ where it extrapolates (the MZI's DAT collapse, see ``docs/methods.md``).
    The authors' MZI code likewise corrects the complex field at the sensor (a complex U-Net)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.real = nn.Parameter(torch.zeros(n, n))
        self.imag = nn.Parameter(torch.zeros(n, n))

    def field(self, e: torch.Tensor) -> torch.Tensor:
        c = torch.complex(self.real, self.imag).to(e.dtype)
        return e + e @ c.transpose(0, 1)

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        corrected = self.field(e)
        return corrected.real**2 + corrected.imag**2


class DualAdaptive(Method):
    name = "dat"
    in_situ = True

    def __init__(self, lr: float = 1e-3, similarity_steps: int = 1, hidden: int = 64,
                 channels: int = 8, warmup_epochs: float = 0) -> None:
        if lr <= 0 or similarity_steps < 1 or warmup_epochs < 0:
            raise ValueError(f"dat: lr = {lr} must be > 0, similarity_steps = "
                             f"{similarity_steps} >= 1 and warmup_epochs = {warmup_epochs} >= 0.")
        self.lr, self.similarity_steps = float(lr), int(similarity_steps)
        self.warmup_epochs, self.steps = float(warmup_epochs), 0
        self.hidden, self.channels = int(hidden), int(channels)
        self.similarity: dict[str, list[float]] = {}

    def bind(self, model: nn.Module, context: TrainingContext) -> None:
        super().bind(model, context)
        self.model, self.system = model, context.system
        shapes: dict[str, tuple[int, ...]] = {}
        layers = model.physical_layers()
        handles = [layer.register_forward_hook(
            lambda layer, args, out, name=name: shapes.__setitem__(name, tuple(out.shape[1:])))
            for name, layer in layers.items()]
        param = next(model.parameters())
        was_training = model.training
        try:
            model.eval()
            with torch.no_grad():
                model(torch.zeros((2, *context.input_shape), device=param.device))
        finally:
            model.train(was_training)
            for handle in handles:
                handle.remove()
        # SEPN initialisation from the training seed, without touching the global RNG state
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(1_000_003 * int(context.seed) + 3)
            # a layer that exposes its field before detection gets a field predictor
            self.fields = {name for name, layer in layers.items()
                           if callable(getattr(layer, "output_field", None))}
            self.sepns = nn.ModuleDict({
                name: FieldSEPN(shape[-1]) if name in self.fields
                else SEPN(shape, self.hidden, self.channels) for name, shape in shapes.items()
            })
        self.sepns.to(param.device)
        self.optimizer = ieee.adam(self.sepns.parameters(), lr=self.lr)
        self.warmup_steps = round(self.warmup_epochs * context.steps_per_epoch)

    @property
    def warming_up(self) -> bool:
        """True during the warm-up: SEPNs fitted, gradients PAT's."""
        return self.steps < self.warmup_steps

    def fit_similarity(self, name: str, twin: torch.Tensor, measured: torch.Tensor) -> float:
        """Similarity phase for one layer; returns the relative error before the first update."""
        sepn = self.sepns[name]
        twin = twin.detach()
        with torch.enable_grad():
            for k in range(self.similarity_steps):
                self.optimizer.zero_grad(set_to_none=True)
                error = relative_error(sepn(twin), measured)
                error.backward()
                self.optimizer.step()
                if k == 0:
                    first = float(error.detach())
        return first

    def _fusion(self, name: str, layer: nn.Module, x: torch.Tensor, twin: torch.Tensor,
                measured: torch.Tensor) -> torch.Tensor:
        # the predictor's input: the twin's field before detection where the layer has one
        source = layer.output_field(x) if name in self.fields else twin
        self.similarity.setdefault(name, []).append(self.fit_similarity(name, source, measured))
        if self.warming_up:
            return straight_through(twin, measured)
        return straight_through(self.sepns[name](source), measured)

    def forward_context(self) -> contextlib.AbstractContextManager:
        """Every forward measures the device; each layer's output fuses twin + SEPN with the
        measurement (PAT's during the warm-up)."""
        return in_situ_forward(self.model, self.system, self._fusion)

    def after_step(self) -> None:
        self.steps += 1

    def epoch_metrics(self) -> dict[str, float]:
        """Mean relative twin+SEPN error per layer over the epoch (before each update)."""
        metrics = {f"similarity_error_{name}": sum(v) / len(v)
                   for name, v in self.similarity.items() if v}
        self.similarity = {}
        return metrics

    def state_dict(self) -> dict[str, Any]:
        return {"sepns": self.sepns.state_dict(), "optimizer": self.optimizer.state_dict(),
                "steps": self.steps}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.sepns.load_state_dict(state["sepns"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.steps = int(state.get("steps", 0))
