"""Free-space diffractive network (D2NN): coherent optics (``docs/physics.md``).

Input image (amplitude) → free space → [thin lens + phase mask 1] → free space → intensity
threshold → [thin lens + phase mask 2] → free space → 10 square detectors. Θ = the two masks'
phases (radians). Propagation is the band-limited angular spectrum method (Matsushima & Shimobaba
2009) on a periodic N×N grid:

    H(fx, fy) = exp(i·2π·z·√(1/λ² − fx² − fy²)),  evanescent part (fx² + fy² > 1/λ²) cut,
    plus the band limit |f| < 1/(λ·√((2·Δf·z)² + 1)) per axis that prevents aliasing.

Transfer functions are computed once per geometry (z, λ) and cached; everything is complex64 and
batched over images. Misalignment (rotation, shift, magnification) warps each mask's complex
transmission with a differentiable bilinear ``grid_sample``; it never writes into Θ.

Grid (the trade-off vs the paper's 128×128): 64×64 pixels of 2 µm (a 128 µm aperture); images are
resized to 40×40 and centred. Four times fewer pixels make every FFT ~4.5× cheaper on a CPU; the
accuracy cost is measured by ``benchmarks/d2nn_grid.py`` and stated in ``docs/physics.md``.
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
    is_active,
    require_nonnegative,
)


@dataclass(frozen=True)
class D2NNPhysics:
    """Nominal optics, known to the twin.

    grid: N, pixels per side of the simulation grid (and of each mask).
    pixel_um: mask pixel pitch (µm); the paper's 2 µm.
    wavelength_nm: λ (nm); the paper's 532 nm (frequency-doubled Nd:YAG).
    distance_um: free-space gap between consecutive planes (input, mask 1, mask 2, detector) (µm).
        500 µm gives a Fresnel number N·dx²/(λ·z) ≈ 1: every pixel reaches the whole next plane.
    focal_mm: focal length of the thin lens at each mask (mm); the paper's 5 mm. 0 = no lens.
    image_px: the input image is resized to image_px × image_px pixels and centred on the grid.
    detector_px: side of each of the 10 square detector regions (pixels), in rows of 3, 4, 3.
    wavelength_drift_nm_per_K: laser wavelength drift (nm/K); 0.05 nm/K is typical of a
        temperature-tuned diode-pumped laser without active stabilisation.
    phase_drift_per_K: relative change of the modulator's phase response per kelvin (1/K);
        nematic liquid-crystal birefringence falls by ≈ 0.3 %/K near room temperature.
    """

    grid: int = 64
    pixel_um: float = 2.0
    wavelength_nm: float = 532.0
    distance_um: float = 500.0
    focal_mm: float = 5.0
    image_px: int = 40
    detector_px: int = 8
    wavelength_drift_nm_per_K: float = 0.05
    phase_drift_per_K: float = -0.003

    def __post_init__(self) -> None:
        if self.grid < 16 or self.image_px > self.grid:
            raise ValueError(f"D2NNPhysics: grid = {self.grid} must be >= 16 and >= image_px.")
        if self.detector_px * 4 > self.grid:
            raise ValueError("D2NNPhysics: 4 detectors of detector_px must fit across the grid.")
        for name in ("pixel_um", "wavelength_nm", "distance_um"):
            if getattr(self, name) <= 0:
                raise ValueError(f"D2NNPhysics.{name} must be > 0.")


@dataclass(frozen=True)
class D2NNFabrication:
    """Systematic errors of one fabricated set of masks and its mounting, unknown to the twin.

    phase_sigma_rad: per-pixel phase error of each mask (rad): thickness / LC-drive errors.
    axial_sigma_um: error of each gap between planes (µm): mechanical mounting tolerance.
    crosstalk: neighbouring-pixel crosstalk (fringing): each pixel's phase becomes
        (1 − 4c)·φ + c·Σ(4 neighbours' φ), a blur of the phase profile. 0 = none.
    """

    phase_sigma_rad: float = 0.2
    axial_sigma_um: float = 10.0
    crosstalk: float = 0.0

    def __post_init__(self) -> None:
        require_nonnegative(self, "phase_sigma_rad", "axial_sigma_um", "crosstalk")
        if self.crosstalk > 0.25:
            raise ValueError("D2NNFabrication.crosstalk must be <= 0.25 (weights stay >= 0).")


@dataclass(frozen=True)
class D2NNPerturbation:
    """Post-deployment changes of the optical bench; applied at forward time, never written into Θ.

    rotation_deg: in-plane rotation of every mask about the optical axis (°); positive is
        counter-clockwise with y up (array rows grow downwards, so it shows clockwise).
    shift_x_px / shift_y_px: lateral shift of every mask (pixels; +x to the right, +y down).
    scale: magnification of every mask's image on the beam (1 = nominal).
    axial_error_um: change of every gap between planes (µm).
    delta_T_K: temperature change (K): wavelength and phase-response drift.
    """

    rotation_deg: float = 0.0
    shift_x_px: float = 0.0
    shift_y_px: float = 0.0
    scale: float = 1.0
    axial_error_um: float = 0.0
    delta_T_K: float = 0.0

    def __post_init__(self) -> None:
        if self.scale <= 0:
            raise ValueError(f"D2NNPerturbation.scale = {self.scale} must be > 0.")

    def is_warp(self) -> bool:
        """True if the masks must be resampled: a non-nominal warp field, or one that is a
        tensor (SAT's perturbation-aware ascent differentiates through the warp at nominal)."""
        return any(is_active(getattr(self, f), nominal) for f, nominal in
                   (("rotation_deg", 0), ("shift_x_px", 0), ("shift_y_px", 0), ("scale", 1)))


def transfer_function(n: int, pixel_um: float, wavelength_um: float, z_um: float,
                      device: torch.device | None = None) -> torch.Tensor:
    """Band-limited angular-spectrum transfer function H (n×n complex64, FFT frequency order)."""
    f = torch.fft.fftfreq(n, d=pixel_um, dtype=torch.float64)  # cycles per µm
    fx, fy = torch.meshgrid(f, f, indexing="xy")
    arg = 1.0 / wavelength_um**2 - fx**2 - fy**2
    kz = 2 * math.pi * ieee.sqrt(arg.clamp_min(0.0))
    limit = 1.0 / (wavelength_um * math.sqrt((2 * z_um / (n * pixel_um)) ** 2 + 1))
    keep = (arg > 0) & (fx.abs() < limit) & (fy.abs() < limit)
    h = torch.polar(keep.double(), kz * z_um)
    return h.to(torch.complex64).to(device if device is not None else "cpu")


def propagate(field: torch.Tensor, h: torch.Tensor, prescaled: bool = False) -> torch.Tensor:
    """Free-space propagation of complex fields (..., n, n) with transfer function ``h``.

    ``prescaled``: ``h`` already holds the inverse DFT's 1/n² (what :class:`DiffractiveStack`
    caches), so the inverse transform skips its own pass over the batch, forward and backward."""
    if prescaled:
        return torch.fft.ifft2(torch.fft.fft2(field) * h, norm="forward")
    return torch.fft.ifft2(torch.fft.fft2(field) * h)


def warp(image: torch.Tensor, rotation_deg: float | torch.Tensor = 0.0,
         shift_px: tuple[float | torch.Tensor, float | torch.Tensor] = (0, 0),
         scale: float | torch.Tensor = 1.0) -> torch.Tensor:
    """Rotate (about the grid centre), magnify and shift real images (C, n, n) by bilinear
    resampling; zero outside the original support. Differentiable w.r.t. ``image`` and, when
    they are tensors, w.r.t. the rotation (°), shifts (pixels) and scale."""
    n = image.shape[-1]

    def scalar(v: float | torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(v).to(torch.float64)

    a = scalar(rotation_deg) * (math.pi / 180)
    c, s = torch.cos(a), torch.sin(a)
    # output point p samples input at R(−a)·(p − d)/s (normalised coordinates, align_corners=False)
    rot = torch.stack([torch.stack([c, s]), torch.stack([-s, c])]) / scalar(scale)
    d = torch.stack([2 * scalar(shift_px[0]) / n, 2 * scalar(shift_px[1]) / n])
    theta = torch.cat([rot, (-rot @ d)[:, None]], dim=1)[None].to(image.dtype).to(image.device)
    grid = F.affine_grid(theta, [1, image.shape[0], n, n], align_corners=False)
    return F.grid_sample(image[None], grid, mode="bilinear", padding_mode="zeros",
                         align_corners=False)[0]


def detector_masks(physics: D2NNPhysics) -> torch.Tensor:
    """(10, n, n) 0/1 masks of the 10 square detectors, in rows of 3, 4, 3 about the centre."""
    n, s = physics.grid, physics.detector_px
    masks = torch.zeros(10, n, n)
    gap = s  # one detector width between neighbours
    k = 0
    for row, count in enumerate((3, 4, 3)):
        y0 = n // 2 - s // 2 + (row - 1) * (s + gap)
        x_start = n // 2 - (count * s + (count - 1) * gap) // 2
        for i in range(count):
            x0 = x_start + i * (s + gap)
            masks[k, y0:y0 + s, x0:x0 + s] = 1.0
            k += 1
    return masks


class DiffractiveStack(PhysicalLayer):
    """The optical path from the input plane to the detector plane; Θ = mask phases (2, n, n).

    ``forward(amplitude)`` returns the detected intensity |E|² at the detector plane (B, n, n).
    """

    n_masks = 2

    def __init__(self, physics: D2NNPhysics) -> None:
        super().__init__()
        self.physics = physics
        n = physics.grid
        self.theta = nn.Parameter(2 * math.pi * torch.rand(self.n_masks, n, n))
        self._h_cache: dict[tuple[float, float, str], torch.Tensor] = {}
        coords = (torch.arange(n, dtype=torch.float64) - (n - 1) / 2) * physics.pixel_um
        self.register_buffer("r2_um2", (coords[None, :] ** 2 + coords[:, None] ** 2).float(),
                             persistent=False)

    def h(self, z_um: float, wavelength_um: float) -> torch.Tensor:
        """Cached transfer function for one gap z at one wavelength, divided by n² (for
        ``propagate(..., prescaled=True)``). The cache is bounded: NAT draws new gap errors every
        step, so old entries are dropped. Entries are ordinary tensors even when first asked for
        under ``torch.inference_mode`` (an evaluation), so that later training can use them."""
        key = (round(float(z_um), 9), round(float(wavelength_um), 12), str(self.theta.device))
        if key not in self._h_cache:
            if len(self._h_cache) >= 64:
                self._h_cache.clear()
            n = self.physics.grid
            with torch.inference_mode(False):
                self._h_cache[key] = transfer_function(n, self.physics.pixel_um, wavelength_um,
                                                       z_um, self.theta.device) / n**2
        return self._h_cache[key]

    def mask_phases(self, errors: LayerErrors | None = None,
                    perturbation: D2NNPerturbation | None = None) -> torch.Tensor:
        """Phases the masks impose (before any warp): Θ (through the instrument's DAC, if any) +
        fabrication errors, crosstalk, drift."""
        phases = program(self.theta, errors)
        if errors is not None:
            c = float(errors["crosstalk"])
            if c > 0:
                kernel = torch.tensor([[0, c, 0], [c, 1 - 4 * c, c], [0, c, 0]],
                                      dtype=phases.dtype, device=phases.device)
                drive = phases.remainder(2 * math.pi)[:, None]
                phases = F.conv2d(drive, kernel[None, None], padding=1)[:, 0]
            phases = phases + errors["phase_error_rad"]
        if perturbation is not None and is_active(perturbation.delta_T_K):
            phys = self.physics
            lam0 = phys.wavelength_nm
            lam = lam0 + phys.wavelength_drift_nm_per_K * perturbation.delta_T_K
            # response scaling of the modulator, and φ ∝ 1/λ for a fixed optical path difference
            phases = phases * (1 + phys.phase_drift_per_K * perturbation.delta_T_K) * lam0 / lam
        return phases

    def transmissions(self, errors: LayerErrors | None = None,
                      perturbation: D2NNPerturbation | None = None) -> torch.Tensor:
        """Complex transmission of each mask (2, n, n), warped by the misalignment if any."""
        phases = self.mask_phases(errors, perturbation)
        if perturbation is not None and perturbation.is_warp():
            channels = torch.stack([torch.cos(phases), torch.sin(phases)], 1)  # (2, 2, n, n)
            warped = torch.stack([
                warp(channels[k], perturbation.rotation_deg,
                     (perturbation.shift_x_px, perturbation.shift_y_px), perturbation.scale)
                for k in range(self.n_masks)])
            return torch.complex(warped[:, 0], warped[:, 1])
        return torch.polar(torch.ones_like(phases), phases)

    def forward(self, amplitude: torch.Tensor, errors: LayerErrors | None = None,
                perturbation: D2NNPerturbation | None = None) -> torch.Tensor:
        phys = self.physics
        wavelength_um = phys.wavelength_nm / 1000
        if perturbation is not None and is_active(perturbation.delta_T_K):
            wavelength_um += phys.wavelength_drift_nm_per_K * perturbation.delta_T_K / 1000
        gaps = [phys.distance_um] * (self.n_masks + 1)
        if errors is not None:
            gaps = [z + float(e) for z, e in zip(gaps, errors["axial_error_um"], strict=True)]
        if perturbation is not None:
            gaps = [z + perturbation.axial_error_um for z in gaps]
        lens = None
        if phys.focal_mm > 0:
            lens = torch.polar(torch.ones_like(self.r2_um2),
                               -math.pi * self.r2_um2 / (wavelength_um * phys.focal_mm * 1000))
        masks = self.transmissions(errors, perturbation)
        field = propagate(amplitude.to(torch.complex64), self.h(gaps[0], wavelength_um),
                          prescaled=True)
        for k in range(self.n_masks):
            if k > 0:
                field = intensity_threshold(field)
            field = field * masks[k] if lens is None else field * (masks[k] * lens)
            field = propagate(field, self.h(gaps[k + 1], wavelength_um), prescaled=True)
        return field.real**2 + field.imag**2

    def sample_errors(self, generator: torch.Generator,
                      fabrication: D2NNFabrication) -> dict[str, torch.Tensor]:
        phase = fabrication.phase_sigma_rad * torch.randn(*self.theta.shape, generator=generator)
        axial = fabrication.axial_sigma_um * torch.randn(self.n_masks + 1, generator=generator)
        return {"phase_error_rad": phase.to(self.theta.device), "axial_error_um": axial,
                "crosstalk": torch.tensor(fabrication.crosstalk)}


def intensity_threshold(field: torch.Tensor) -> torch.Tensor:
    """I ← ReLU(I − mean(I)/2) per sample, phase kept (the paper's nonlinearity).

    Written as one real scale per pixel, E·√ReLU(1 − mean(I)/(2I)) = E·√(I_new / I): no complex
    division and no branch. The clamps keep every derivative finite, second ones included (the
    Hessian-vector products of the sharpness measures): 1/I on dark pixels (I < 1e-12, cut off
    anyway), and √ at the cut, where a cut-off pixel keeps 1e-10 of its field (1e-20 of its
    intensity) and gets no gradient through its own scale."""
    intensity = field.real**2 + field.imag**2
    half_mean = intensity.mean(dim=(-2, -1), keepdim=True) / 2
    kept = F.relu(1 - half_mean / intensity.clamp_min(1e-12))  # I_new / I
    return field * ieee.sqrt(kept.clamp_min(1e-20))


class D2NN(PNN):
    """All-optical classifier: image amplitude → DiffractiveStack → 10 detector energies."""

    def __init__(self, physics: D2NNPhysics, n_classes: int = 10) -> None:
        super().__init__()
        if n_classes != 10:
            raise ValueError("D2NN: the detector layout has exactly 10 regions.")
        self.physics = physics
        self.optics = DiffractiveStack(physics)
        self.register_buffer("detectors", detector_masks(physics), persistent=False)
        self.gain = nn.Parameter(torch.tensor(10.0))  # scores are fractions (~0.1 each)
        self.bias = nn.Parameter(torch.zeros(n_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised images (B, 1, 28, 28) → non-negative amplitudes centred on the grid."""
        img = x[:, 0] - x[:, 0].amin(dim=(-2, -1), keepdim=True)  # background → 0
        p = self.physics
        img = F.interpolate(img[:, None], size=(p.image_px, p.image_px), mode="bilinear",
                            align_corners=False)[:, 0]
        before = (p.grid - p.image_px) // 2
        return F.pad(img, (before, p.grid - p.image_px - before, before,
                           p.grid - p.image_px - before))

    def head(self, amplitude: torch.Tensor, device: Any | None = None,
             perturbation: D2NNPerturbation | None = None) -> torch.Tensor:
        errors = None if device is None else device.for_layer("optics")
        intensity = self.optics(amplitude, errors, perturbation)
        energy = torch.einsum("bij,kij->bk", intensity, self.detectors)
        if instrument_of(errors) is not None:  # each detector; full scale: all detected light
            energy = detect(energy, errors, energy.sum(1, keepdim=True))
        scores = energy / energy.sum(1, keepdim=True).clamp_min(1e-12)
        return self.gain * scores + self.bias


PLATFORM = Platform.from_classes(
    "d2nn",
    model=D2NN, physics=D2NNPhysics, fabrication=D2NNFabrication, perturbation=D2NNPerturbation,
)
