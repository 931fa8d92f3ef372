"""Microring-resonator (MRR) weight banks: integrated photonics, incoherent WDM
(``docs/physics.md``).

A bank of ``out × in`` add-drop rings computes ``y = W(Θ) x`` on non-negative optical powers ``x``
(one WDM carrier per input channel, balanced drop/through detection per output). Ring ``(i, j)``
weights channel ``j`` into output ``i`` with the Lorentzian

    W(Θ) = A − 2A / (1 + (Δ/γ)²),   Δ = Θ − Θ0 (+ device errors + perturbations)   [nm]

so W ∈ [−A, A), W = −A on resonance (Δ = 0) and W → A far from it. Θ is the ring's detuning from
its carrier, set by its heater, measured from the heater's bias point (so Θ may be negative).

Network (the paper's): LeNet-5 whose last two fully connected layers (120→84, 84→10) are MRR banks;
the convolutions and fc 400→120 are digital. A digital gain and bias follow each bank (the
transimpedance amplifier and an electrical offset), as in balanced-detection weight banks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .. import ieee
from ..instrument import detect, instrument_of, program
from .base import (
    PNN,
    LayerErrors,
    PhysicalLayer,
    Platform,
    channels_last,
    channels_last_images,
    require_nonnegative,
    reuse_while_fixed,
)


@dataclass(frozen=True)
class MRRPhysics:
    """Nominal ring physics, known to the twin.

    gamma_nm: Lorentzian half width at half maximum of the drop response (nm). 0.15 nm at 1550 nm
        is a loaded Q ≈ 5·10³, typical of silicon weight-bank rings.
    amplitude: A, the weight range of balanced detection (dimensionless); W ∈ [−A, A).
    theta0_nm: Θ0, the detuning at which the twin's ring is on resonance (nm).
    drift_nm_per_K: resonance red-shift per kelvin (nm/K). Silicon's thermo-optic coefficient
        dn/dT ≈ 1.8·10⁻⁴ /K gives dλ/dT = λ·(∂n_eff/∂T)/n_g ≈ 70–80 pm/K at 1550 nm; 80 pm/K is
        the value measured on silicon microrings and used by the paper.
    """

    gamma_nm: float = 0.15
    amplitude: float = 1.0
    theta0_nm: float = 0.0
    drift_nm_per_K: float = 0.08

    def __post_init__(self) -> None:
        if self.gamma_nm <= 0 or self.amplitude <= 0:
            raise ValueError("MRRPhysics: gamma_nm and amplitude must be > 0.")


@dataclass(frozen=True)
class MRRFabrication:
    """Systematic errors of a fabricated chip, unknown to the twin.

    resonance_sigma_nm: standard deviation of each ring's resonance offset (nm); fabrication
        variance of ring width/thickness gives ≈ 0.08 nm after trimming.
    crosstalk_kappa: thermal crosstalk (dimensionless): tuning ring j by Θ_j shifts its nearest
        neighbours in the same bank by κ·Θ_j (heat spreading through the silicon slab; 0.05–0.1
        for rings a few tens of µm apart).
    """

    resonance_sigma_nm: float = 0.08
    crosstalk_kappa: float = 0.05

    def __post_init__(self) -> None:
        require_nonnegative(self, "resonance_sigma_nm", "crosstalk_kappa")


@dataclass(frozen=True)
class MRRPerturbation:
    """Post-deployment changes of an MRR chip; applied at forward time, never written into Θ.

    delta_T_K: chip temperature change (K); every ring shifts by drift_nm_per_K · ΔT.
    carrier_offset_nm: common offset of the laser grid (nm) — every carrier moves by this much.
    carrier_sigma_nm: per-channel carrier misalignment δ_j ~ N(0, σ_λ) (nm).
    carrier_seed: seed of the per-channel offsets (a given laser grid).
    """

    delta_T_K: float = 0.0
    carrier_offset_nm: float = 0.0
    carrier_sigma_nm: float = 0.0
    carrier_seed: int = 0

    def __post_init__(self) -> None:
        require_nonnegative(self, "carrier_sigma_nm")

    def carrier_offsets(self, n_channels: int, layer_index: int) -> torch.Tensor:
        """δ_j (nm) for the ``n_channels`` carriers feeding bank number ``layer_index``."""
        offsets = torch.full((n_channels,), float(self.carrier_offset_nm))
        if self.carrier_sigma_nm > 0:
            g = torch.Generator().manual_seed(int(self.carrier_seed) * 1009 + layer_index)
            offsets = offsets + self.carrier_sigma_nm * torch.randn(n_channels, generator=g)
        return offsets


def lorentzian_weight(detuning_nm: torch.Tensor, physics: MRRPhysics) -> torch.Tensor:
    """W(Δ) = A − 2A / (1 + (Δ/γ)²) for effective detuning Δ = Θ − Θ0 (nm)."""
    a = physics.amplitude
    return a - 2.0 * a / (1.0 + (detuning_nm / physics.gamma_nm) ** 2)


def detuning_for_weight(weight: torch.Tensor, physics: MRRPhysics) -> torch.Tensor:
    """Inverse of :func:`lorentzian_weight` on the red side: |Δ| (nm) giving ``weight``."""
    w = weight / physics.amplitude
    return physics.gamma_nm * ieee.sqrt((1.0 + w) / (1.0 - w))


class MRRWeightBank(PhysicalLayer):
    """``out_features × in_features`` rings; Θ = ring detunings (nm).

    Inputs must be non-negative (optical powers). Output: digital ``gain · W x + bias``.
    """

    def __init__(self, in_features: int, out_features: int, physics: MRRPhysics,
                 layer_index: int = 0) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.physics = physics
        self.layer_index = layer_index
        # Θ initialised so that W is uniform in [−0.9, 0.9], on a random side of the resonance.
        w0 = torch.empty(out_features, in_features).uniform_(-0.9, 0.9)
        side = torch.where(torch.rand(out_features, in_features) < 0.5, -1.0, 1.0)
        self.theta = nn.Parameter(physics.theta0_nm + side * detuning_for_weight(w0, physics))
        # Kaiming-like scale for ReLU networks: Var(W) of U(−0.9, 0.9) is 0.27.
        self.gain = nn.Parameter(torch.tensor(math.sqrt(2.0 / (in_features * 0.27))))
        self.bias = nn.Parameter(torch.zeros(out_features))

    def effective_detuning(self, errors: LayerErrors | None = None,
                           perturbation: MRRPerturbation | None = None) -> torch.Tensor:
        """Δ (nm) of every ring on a device under a perturbation; the twin when both are None.
        A device's instrument sets Θ through its DAC (:func:`pnnsat.instrument.program`)."""
        theta = program(self.theta, errors)
        detuning = theta - self.physics.theta0_nm
        if errors is not None:
            detuning = detuning + errors["resonance_offset_nm"]
            kappa = errors["crosstalk_kappa"]
            heat = theta - self.physics.theta0_nm
            neighbours = F.pad(heat, (1, 1))[:, :-2] + F.pad(heat, (1, 1))[:, 2:]
            detuning = detuning + kappa * neighbours
        if perturbation is not None:
            detuning = detuning + self.physics.drift_nm_per_K * perturbation.delta_T_K
            carriers = perturbation.carrier_offsets(self.in_features, self.layer_index)
            detuning = detuning - carriers.to(detuning)[None, :]
        return detuning

    def weights(self, errors: LayerErrors | None = None,
                perturbation: MRRPerturbation | None = None) -> torch.Tensor:
        return lorentzian_weight(self.effective_detuning(errors, perturbation), self.physics)

    def forward(self, x: torch.Tensor, errors: LayerErrors | None = None,
                perturbation: MRRPerturbation | None = None) -> torch.Tensor:
        weights = reuse_while_fixed(self, errors, perturbation,
                                    lambda: self.weights(errors, perturbation))
        y = F.linear(x, weights)
        if instrument_of(errors) is not None:
            # balanced detection: both diodes see the channels' total power Σx (lossless rings);
            # the difference spans ±A·Σx
            total = x.sum(1, keepdim=True)
            y = detect(y, errors, self.physics.amplitude * total, power=total.expand_as(y),
                       signed=True)
        return self.gain * y + self.bias

    def control_sensitivity(self, x: torch.Tensor, generator: torch.Generator,
                            step: float) -> torch.Tensor:
        """Exact mean of (∂W/∂Θ)² over the rings (nm⁻²) on the twin; W(Δ) = A − 2A/(1 + u²),
        u = Δ/γ, so ∂W/∂Θ = 4A·u / (γ(1 + u²)²). Zero on resonance and far from it."""
        p = self.physics
        u = (self.theta - p.theta0_nm) / p.gamma_nm
        return (4 * p.amplitude * u / (p.gamma_nm * (1 + u * u) ** 2)).pow(2).mean()

    def sample_errors(self, generator: torch.Generator,
                      fabrication: MRRFabrication) -> dict[str, torch.Tensor]:
        offsets = fabrication.resonance_sigma_nm * torch.randn(
            self.out_features, self.in_features, generator=generator)
        return {"resonance_offset_nm": offsets.to(self.theta.device),
                "crosstalk_kappa": torch.tensor(fabrication.crosstalk_kappa)}


class LeNet5MRR(PNN):
    """LeNet-5 for 28×28 images; fc 120→84 and 84→10 are MRR weight banks (the paper's network).

    Digital front-end: conv 5×5 (6) → BN → ReLU → pool → conv 5×5 (16) → BN → ReLU → pool →
    fc 400→120 → ReLU. ReLU outputs are non-negative, as optical input powers must be.
    """

    def __init__(self, physics: MRRPhysics, n_classes: int = 10) -> None:
        super().__init__()
        self.frontend = channels_last(nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(400, 120), nn.ReLU(),
        ))
        self.bank1 = MRRWeightBank(120, 84, physics, layer_index=0)
        self.bank2 = MRRWeightBank(84, n_classes, physics, layer_index=1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The digital front-end: images → the 120 non-negative powers feeding bank 1."""
        return self.frontend(channels_last_images(x))

    def head(self, h: torch.Tensor, device: Any | None = None,
             perturbation: MRRPerturbation | None = None) -> torch.Tensor:
        def errors(name: str) -> LayerErrors | None:
            return None if device is None else device.for_layer(name)

        h = F.relu(self.bank1(h, errors("bank1"), perturbation))
        return self.bank2(h, errors("bank2"), perturbation)


PLATFORM = Platform.from_classes(
    "mrr",
    model=LeNet5MRR, physics=MRRPhysics, fabrication=MRRFabrication, perturbation=MRRPerturbation,
)
