"""Mach–Zehnder (MZI) mesh: integrated photonics, coherent (``docs/physics.md``).

A Clements rectangular mesh of N modes: N columns of MZIs, even columns on mode pairs (0,1), (2,3),
…, odd columns on (1,2), (3,4), …, N(N−1)/2 MZIs in all, followed by one phase shifter per output
mode. Convention (stated once, used everywhere):

    MZI(θ, φ) = B₂ · diag(e^{iθ}, 1) · B₁ · diag(e^{iφ}, 1),   B(ε) = [[t, i r], [i r, t]],
    t = √((1+ε)/2), r = √((1−ε)/2)   (ε = 0: the ideal 50:50 coupler (1/√2)[[1, i], [i, 1]])

θ (internal) sets the split ratio, φ (external) the relative phase; Θ = all θ, φ and the output
phases (radians). B(ε) is unitary for every |ε| ≤ 1, so split-ratio errors keep the mesh lossless.

Performance: the N×N transfer matrix is built once per forward, column by column, each column one
batched 2×2 product over its MZIs (cost independent of the batch), then applied to the whole batch
as one complex matmul.

Network (:class:`MZINetwork`): digital LeNet conv front-end (conv 6, conv 16, fc 400→120→N) → N real
amplitudes (normalised to unit input power: the laser power is fixed) → mesh → |E|² at every output
→ class scores from the first 10 ports. Two readouts: ``l2_intensity`` (the authors' code, the
default): the output intensities divided by their L2 norm over all N ports, first 10 taken, used
as logits in [0, 1] with no digital gain or bias — the loss keeps pushing light into the correct
port; ``power_fraction`` (this project's first version): digital gain · P[:10]/ΣP + bias, which
stops pushing once the softmax margin is reached. Two front-ends: ``bn_linear`` (the authors'):
fc 400→120 → BatchNorm1d → fc 120→N, no ReLU, convolutions without BatchNorm; ``relu``: BatchNorm
after each convolution, ReLU between the fully connected layers.
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
    is_active,
    require_nonnegative,
    reuse_while_fixed,
)

TWO_PI = 2 * math.pi


@dataclass(frozen=True)
class MZIPhysics:
    """Nominal mesh physics, known to the twin.

    n_modes: N, number of waveguide modes (even, ≥ 2); 64 in the paper.
    beta_rad_per_K: β̄, mean phase drift per kelvin of one phase shifter (rad/K). Basis: silicon's
        dn/dT ≈ 1.8·10⁻⁴ /K on an arm-length imbalance ΔL gives dφ/dT = 2π·ΔL·(dn/dT)/λ; 0.1 rad/K
        corresponds to ΔL ≈ 140 µm at λ = 1550 nm (a heater-section-length imbalance).
    mode_radius_um: w, 1/e² intensity radius of the fibre and waveguide modes (µm); η = e^{−d²/w²}.
    pitch_um: fibre-array pitch (µm); 127 µm is the standard V-groove pitch.
    """

    n_modes: int = 64
    beta_rad_per_K: float = 0.1
    mode_radius_um: float = 2.5
    pitch_um: float = 127.0

    def __post_init__(self) -> None:
        if self.n_modes < 2 or self.n_modes % 2:
            raise ValueError(f"MZIPhysics.n_modes = {self.n_modes}: must be even and >= 2.")
        if self.mode_radius_um <= 0 or self.pitch_um <= 0:
            raise ValueError("MZIPhysics: mode_radius_um and pitch_um must be > 0.")


@dataclass(frozen=True)
class MZIFabrication:
    """Systematic errors of a fabricated mesh, unknown to the twin.

    splitter_sigma: σ_bs, standard deviation of every coupler's split-ratio error ε (dimensionless;
        amplitudes √((1±ε)/2)); clipped to |ε| ≤ 1. The paper's device: 0.15.
    phase_sigma_rad: σ_ph, standard deviation of every phase shifter's static phase error (rad).
    beta_spread: relative spread of the per-shifter drift coefficients, β_k = β̄(1 + N(0, spread)).
    crosstalk_kappa: heater crosstalk (dimensionless): a shifter's phase gains κ times the heater
        drive (its phase mod 2π) of its neighbours in the same column. 0 in the paper's device.
    """

    splitter_sigma: float = 0.15
    phase_sigma_rad: float = 0.15
    beta_spread: float = 0.1
    crosstalk_kappa: float = 0.0

    def __post_init__(self) -> None:
        require_nonnegative(self, "splitter_sigma", "phase_sigma_rad", "beta_spread",
                            "crosstalk_kappa")


@dataclass(frozen=True)
class MZIPerturbation:
    """Post-deployment changes of a mesh; applied at forward time, never written into Θ.

    delta_T_K: chip temperature change (K); shifter k drifts by β_k·ΔT (β̄·ΔT on the twin).
    input_offset_um / output_offset_um: lateral offset d of the input / output fibre array (µm).
    input_angle_deg / output_angle_deg: in-plane rotation α of the array about its centre (°);
        port i is then offset by d_i = d + (i − (N−1)/2)·pitch·sin α, power coupling e^{−d_i²/w²}.
    """

    delta_T_K: float = 0.0
    input_offset_um: float = 0.0
    input_angle_deg: float = 0.0
    output_offset_um: float = 0.0
    output_angle_deg: float = 0.0


def coupling_efficiency(offset_um: float, angle_deg: float, physics: MZIPhysics) -> torch.Tensor:
    """Power coupling η_i = exp(−d_i²/w²) of each of the N ports of a misaligned fibre array."""
    index = torch.arange(physics.n_modes, dtype=torch.float64) - (physics.n_modes - 1) / 2
    d = offset_um + index * physics.pitch_um * math.sin(math.radians(angle_deg))
    return torch.exp(-(d**2) / physics.mode_radius_um**2)


def complex_dtype(real: torch.Tensor) -> torch.dtype:
    """complex128 for float64 controls (exact checks), complex64 otherwise (the default)."""
    return torch.complex128 if real.dtype == torch.float64 else torch.complex64


def coupler(eps: torch.Tensor) -> torch.Tensor:
    """2×2 coupler matrices B(ε) = [[t, i r], [i r, t]] for a batch of split errors ε: (K, 2, 2)."""
    t = ieee.sqrt((1 + eps) / 2).to(complex_dtype(eps))
    r = 1j * ieee.sqrt((1 - eps) / 2).to(complex_dtype(eps))
    return torch.stack([torch.stack([t, r], -1), torch.stack([r, t], -1)], -2)


def split_amplitudes(eps: torch.Tensor | None, like: torch.Tensor) -> tuple[torch.Tensor,
                                                                             torch.Tensor]:
    """Real amplitudes (t, r) = (√((1+ε)/2), √((1−ε)/2)) of couplers with split errors ε
    (None: the ideal 50:50 coupler, ε = 0, as a scalar of ``like``'s dtype: the same rounding
    as a device whose errors are all zero)."""
    if eps is None:
        eps = torch.zeros((), dtype=like.dtype, device=like.device)
    return ieee.sqrt((1 + eps) / 2), ieee.sqrt((1 - eps) / 2)


def mzi_matrices(theta: torch.Tensor, phi: torch.Tensor, eps1: torch.Tensor | None = None,
                 eps2: torch.Tensor | None = None) -> torch.Tensor:
    """MZI(θ, φ) = B₂ · diag(e^{iθ}, 1) · B₁ · diag(e^{iφ}, 1) for K MZIs: (K, 2, 2) complex.

    Written out entry by entry (one vectorised expression each, no 2×2 matrix products): with
    couplers (tₖ, rₖ) = :func:`split_amplitudes` (εₖ),

        [[t₂t₁e^{i(θ+φ)} − r₂r₁e^{iφ},   i(t₂r₁e^{iθ} + r₂t₁)],
         [i(r₂t₁e^{i(θ+φ)} + t₂r₁e^{iφ}),   t₂t₁ − r₂r₁e^{iθ}]]

    (``tests/test_mzi.py`` checks it against the product of :func:`coupler` matrices)."""
    t1, r1 = split_amplitudes(eps1, theta)
    t2, r2 = split_amplitudes(eps2, theta)
    ones = torch.ones_like(theta)
    e_theta, e_phi = torch.polar(ones, theta), torch.polar(ones, phi)
    e_both = e_theta * e_phi
    top = torch.stack([t2 * t1 * e_both - r2 * r1 * e_phi, 1j * (t2 * r1 * e_theta + r2 * t1)], -1)
    bottom = torch.stack([1j * (r2 * t1 * e_both + t2 * r1 * e_phi), t2 * t1 - r2 * r1 * e_theta],
                         -1)
    return torch.stack([top, bottom], -2)


def column_layout(n_modes: int) -> list[tuple[int, int]]:
    """(first mode, number of MZIs) of each of the N columns of a Clements mesh."""
    return [(c % 2, n_modes // 2 - (c % 2)) for c in range(n_modes)]


#: column groups G of :func:`column_product` by mesh size (largest N listed ≥ the mesh's N);
#: measured fastest on a CPU core (``benchmarks/run.py``, section 4): more groups mean fewer,
#: larger column steps but a longer tree of dense N×N products.
PRODUCT_GROUPS = {16: 8, 64: 4, 128: 4, 10**9: 2}


def product_groups(n_modes: int) -> int:
    """G for an N-mode mesh (:data:`PRODUCT_GROUPS`), reduced until N/G is even."""
    groups = next(g for size, g in sorted(PRODUCT_GROUPS.items()) if n_modes <= size)
    while groups > 1 and (n_modes % groups or (n_modes // groups) % 2):
        groups //= 2
    return groups


def _pair_rows(u: torch.Tensor, odd: int) -> torch.Tensor:
    """The rows of ``u`` (G, N, N) a column acts on, as pairs (G, P, 2, N) (a view): (0,1), (2,3),
    … for an even column, (1,2), (3,4), … for an odd one."""
    groups, n = u.shape[0], u.shape[1]
    return (u[:, 1:-1] if odd else u).reshape(groups, (n - 2 * odd) // 2, 2, n)


def _set_pair_rows(u: torch.Tensor, rows: torch.Tensor, odd: int) -> torch.Tensor:
    """``u`` with the rows of :func:`_pair_rows` replaced by ``rows`` (G, P, 2, N): new tensor."""
    new = rows.reshape(u.shape[0], -1, u.shape[2])
    return torch.cat([u[:, :1], new, u[:, -1:]], 1) if odd else new


def _runs(mzis: torch.Tensor, n: int, groups: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Split the M MZIs (M, 2, 2, column by column: N/2 in even columns, N/2 − 1 in odd ones)
    into even- and odd-column coefficients per step of each run: (N/G/2, G, N/2, 2, 2) and
    (N/G/2, G, N/2 − 1, 2, 2) (views)."""
    half, run = n // 2, n // groups
    by_pair = mzis.view(half, n - 1, 2, 2)  # column pairs (2k, 2k+1): N − 1 MZIs each
    even = by_pair[:, :half].reshape(groups, run // 2, half, 2, 2).transpose(0, 1)
    odd = by_pair[:, half:].reshape(groups, run // 2, half - 1, 2, 2).transpose(0, 1)
    return even, odd


def _pair_step(coeff: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """One column on row pairs: new row r of pair p = coeff[p, r, 0]·row 0 + coeff[p, r, 1]·row 1.
    ``coeff`` (..., P, 2, 2), ``pairs`` (..., P, 2, N) → (..., P, 2, N). Written elementwise:
    a batched 2×2 complex matmul is several times slower on a CPU."""
    return coeff[..., 0, None] * pairs[..., 0:1, :] + coeff[..., 1, None] * pairs[..., 1:2, :]


def _grouped_product(mzis: torch.Tensor, n: int, groups: int,
                     saved: list[torch.Tensor] | None = None) -> torch.Tensor:
    """U from the mesh's MZI matrices (see :func:`column_product`); differentiable by autograd.
    ``saved``, if given, receives each step's input pairs and each tree level."""
    even, odd = _runs(mzis, n, groups)
    u = torch.eye(n, dtype=mzis.dtype, device=mzis.device).expand(groups, n, n)
    for step in range(n // groups):
        parity = step % 2
        pairs = _pair_rows(u, parity)
        if saved is not None:
            saved.append(pairs)
        u = _set_pair_rows(u, _pair_step((odd if parity else even)[step // 2], pairs), parity)
    while u.shape[0] > 1:  # the later run's product times the earlier one's
        if saved is not None:
            saved.append(u)
        u = u[1::2] @ u[::2]
    return u[0]


class _ColumnProduct(torch.autograd.Function):
    """:func:`_grouped_product` with a hand-written backward: one elementwise pass per column
    step and one batched product per tree level, instead of autograd's node per operation.
    Under ``create_graph`` (Hessian-vector products) the backward differentiates the plain
    product instead, so second derivatives stay exact."""

    @staticmethod
    def forward(ctx: Any, mzis: torch.Tensor, n: int, groups: int) -> torch.Tensor:
        saved: list[torch.Tensor] = []
        with torch.no_grad():
            u = _grouped_product(mzis, n, groups, saved)
        ctx.save_for_backward(mzis)
        ctx.n, ctx.groups, ctx.intermediates = n, groups, saved
        return u

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (mzis,) = ctx.saved_tensors
        n, groups, saved = ctx.n, ctx.groups, ctx.intermediates
        if torch.is_grad_enabled():  # create_graph=True: keep the backward differentiable
            with torch.enable_grad():
                u = _grouped_product(mzis, n, groups)
            return torch.autograd.grad(u, mzis, grad, create_graph=True)[0], None, None
        run = n // groups
        g = grad[None]
        for level in reversed(saved[run:]):  # out = A @ B: dA = g Bᴴ, dB = Aᴴ g
            g_level = torch.empty_like(level)
            g_level[1::2] = g @ level[::2].mH
            g_level[::2] = level[1::2].mH @ g
            g = g_level
        g_mzis = torch.empty_like(mzis)
        g_even, g_odd = _runs(g_mzis, n, groups)  # views: filled step by step
        even, odd = _runs(mzis, n, groups)
        for step in reversed(range(run)):
            parity = step % 2
            coeff = (odd if parity else even)[step // 2]
            g_new, pairs = _pair_rows(g, parity), saved[step]
            # new = c · pairs: dc[r, s] = Σₙ g[r, n] conj(pairs[s, n]); dpairs = cᴴ g
            (g_odd if parity else g_even)[step // 2] = (
                g_new[..., :, None, :] * pairs.conj()[..., None, :, :]).sum(-1)
            g = _set_pair_rows(g, _pair_step(coeff.mH, g_new), parity)
        return g_mzis, None, None


def column_product(mzis: torch.Tensor, n_modes: int, groups: int = 1) -> torch.Tensor:
    """U = C_{N−1} ⋯ C₁ C₀ of the N columns of a Clements mesh, from its M = N(N−1)/2 MZI
    matrices ``mzis`` (M, 2, 2) column by column (even columns: N/2 MZIs on modes (0,1), (2,3), …;
    odd columns: N/2 − 1 on (1,2), (3,4), …).

    The N columns are split into ``groups`` runs of N/G consecutive columns whose products are
    built side by side (one batched step per column of a run: N/G steps instead of N), then
    multiplied pairwise in a tree (log₂ G batched matrix products). Same U up to rounding.
    Fewer, larger operations and a hand-written backward (:class:`_ColumnProduct`) are what
    make it fast: each small operation and its autograd node costs more than its arithmetic.
    ``groups`` must be a power of two dividing N into runs of even length (every run then
    starts with an even column)."""
    n = n_modes
    if groups < 1 or groups & (groups - 1) or n % groups or (n // groups) % 2:
        raise ValueError(f"column_product: groups = {groups} must be a power of two that splits "
                         f"{n} columns into runs of even length.")
    return _ColumnProduct.apply(mzis, n, groups)


class ClementsMesh(PhysicalLayer):
    """N-mode Clements mesh. Θ = ``theta`` of shape (2, M + N): row 0 the θ and row 1 the φ of the
    M = N(N−1)/2 MZIs (column by column), then the N output phases in row 0 (row 1 unused there).

    ``forward(amplitudes)`` returns the detected output intensities |E|² (N per sample) after the
    output fibre array; :meth:`transfer_matrix` gives U itself (E_out = U E_in).
    """

    def __init__(self, physics: MZIPhysics) -> None:
        super().__init__()
        self.physics = physics
        n = physics.n_modes
        self.n_mzi = n * (n - 1) // 2
        self.layout = column_layout(n)
        self.theta = nn.Parameter(TWO_PI * torch.rand(2, self.n_mzi + n))

    # --- phases actually applied on a device under a perturbation -------------------------------
    def applied_phases(self, errors: LayerErrors | None = None,
                       perturbation: MZIPerturbation | None = None) -> torch.Tensor:
        phases = drive = program(self.theta, errors)  # the heaters' settings (a DAC, if any)
        if errors is not None:
            phases = phases + errors["phase_error_rad"]
            kappa = errors["crosstalk_kappa"]
            if float(kappa) != 0.0:
                phases = phases + kappa * self._neighbour_drive(drive.remainder(TWO_PI))
        if perturbation is not None and is_active(perturbation.delta_T_K):
            beta = (self.physics.beta_rad_per_K if errors is None
                    else errors["beta_rad_per_K"])
            phases = phases + beta * perturbation.delta_T_K
        return phases

    def _neighbour_drive(self, drive: torch.Tensor) -> torch.Tensor:
        """Sum of the heater drives of each shifter's neighbours in its own column."""
        out, start = [], 0
        for _, count in self.layout:
            block = drive[:, start:start + count]
            padded = F.pad(block, (1, 1))
            out.append(padded[:, :-2] + padded[:, 2:])
            start += count
        out.append(torch.zeros_like(drive[:, start:]))  # output phases: one per mode, no crosstalk
        return torch.cat(out, dim=1)

    def transfer_matrix(self, errors: LayerErrors | None = None,
                        perturbation: MZIPerturbation | None = None) -> torch.Tensor:
        """U (N×N complex64): all M MZI matrices at once, then their product column by column
        (:func:`column_product`)."""
        n = self.physics.n_modes
        phases = self.applied_phases(errors, perturbation)
        theta, phi = phases[0, : self.n_mzi], phases[1, : self.n_mzi]
        eps = None if errors is None else errors["splitter_error"].to(phases.dtype)
        mzis = mzi_matrices(theta, phi, None if eps is None else eps[0],
                            None if eps is None else eps[1])
        u = column_product(mzis, n, product_groups(n))
        out_phase = torch.polar(torch.ones_like(phases[0, self.n_mzi:]), phases[0, self.n_mzi:])
        return out_phase[:, None] * u

    def output_field(self, x: torch.Tensor) -> torch.Tensor:
        """The twin's complex output field E = U x (B, N) before detection, for real input
        amplitudes x (B, N); ``forward`` detects |E|². ``dat`` corrects this field: a chip's
        field is a fixed linear map of the twin's, E_device = U' U^† E, so its error is
        predictable from E — and not from the detected powers, which have lost the phases."""
        u = reuse_while_fixed(self, None, None, lambda: self.transfer_matrix())
        return x.to(complex_dtype(self.theta)) @ u.transpose(0, 1)

    def forward(self, x: torch.Tensor, errors: LayerErrors | None = None,
                perturbation: MZIPerturbation | None = None) -> torch.Tensor:
        """Real input amplitudes (B, N) → detected output powers |E|² (B, N)."""
        field = x.to(complex_dtype(self.theta))
        eta_out = None
        if perturbation is not None:
            eta_in = coupling_efficiency(perturbation.input_offset_um, perturbation.input_angle_deg,
                                         self.physics).to(x.device)
            field = field * ieee.sqrt(eta_in).to(field.real.dtype)
            eta_out = coupling_efficiency(perturbation.output_offset_um,
                                          perturbation.output_angle_deg, self.physics).to(x.device)
        u = reuse_while_fixed(self, errors, perturbation,
                              lambda: self.transfer_matrix(errors, perturbation))
        out = field @ u.transpose(0, 1)
        power = out.real**2 + out.imag**2
        power = power if eta_out is None else power * eta_out.to(power.dtype)
        if instrument_of(errors) is not None:  # each port's detector; full scale: all the light
            power = detect(power, errors, power.sum(1, keepdim=True))
        return power

    def sample_errors(self, generator: torch.Generator,
                      fabrication: MZIFabrication) -> dict[str, torch.Tensor]:
        shape = tuple(self.theta.shape)
        eps = fabrication.splitter_sigma * torch.randn(2, self.n_mzi, generator=generator)
        phase = fabrication.phase_sigma_rad * torch.randn(*shape, generator=generator)
        beta = self.physics.beta_rad_per_K * (
            1 + fabrication.beta_spread * torch.randn(*shape, generator=generator))
        dev = self.theta.device
        return {"splitter_error": eps.clamp(-1.0, 1.0).to(dev), "phase_error_rad": phase.to(dev),
                "beta_rad_per_K": beta.to(dev),
                "crosstalk_kappa": torch.tensor(fabrication.crosstalk_kappa)}


READOUTS = ("l2_intensity", "power_fraction")
FRONTENDS = ("bn_linear", "relu")
INITS = ("haar", "uniform")


def haar_diagonal_sequence(length: int) -> list[int]:
    """Sensitivity indices α along one diagonal of ``length`` MZIs of a rectangular mesh
    (Pai et al., Phys. Rev. Applied 11, 064044 (2019)): 1, 3, 5, … counted from the far end,
    then the even ones; e.g. length 4 → [2, 4, 3, 1]."""
    odd = [length + 1 - k for k in range(1, length + 1, 2)][::-1]
    even = [length + 1 - k for k in range(2, 2 * (length - len(odd)) + 1, 2)]
    return odd + even


def haar_alpha(n_modes: int) -> torch.Tensor:
    """α of every MZI of the Clements mesh, column by column (the order of Θ): the MZI on modes
    (i, i + 1) of column j lies on a diagonal of length d = N − |i − j| (j > i), N − 1 − |i − j|
    (j < i) or N − 1 (i = j), and takes the min(i, j)-th entry of that diagonal's sequence."""
    alphas = []
    for j, (first, count) in enumerate(column_layout(n_modes)):
        for i in range(first, first + 2 * count, 2):
            d = n_modes - abs(i - j) if j > i else n_modes - 1 - abs(i - j)
            alphas.append(haar_diagonal_sequence(d)[min(i, j)])
    return torch.tensor(alphas, dtype=torch.float64)


def haar_internal_phases(n_modes: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Internal phases θ for which the mesh's unitary is Haar-random (with uniform external
    phases): each MZI's cross-coupled power cos²(θ/2) = u^{1/α}, u ~ U(0, 1), i.e.
    θ = 2 arccos(u^{1/(2α)}) — MZIs deep in the mesh (large α) start near the cross state."""
    u = torch.rand(n_modes * (n_modes - 1) // 2, generator=generator, dtype=torch.float64)
    return (2 * torch.arccos(u ** (1 / (2 * haar_alpha(n_modes))))).float()


@dataclass(frozen=True)
class MZINetwork:
    """Architecture choices of the MZI network (module docstring).

    readout: ``l2_intensity`` (authors': P/‖P‖₂ over all ports, first 10 as logits) or
        ``power_fraction`` (gain · P[:10]/ΣP + bias).
    frontend: ``bn_linear`` (authors': fc → BatchNorm1d → fc) or ``relu`` (BatchNorm in the
        convolutions, ReLU between the fully connected layers).
    init: ``haar`` (authors': internal phases θ drawn so that the initial mesh is a
        Haar-random unitary, :func:`haar_internal_phases`) or ``uniform`` (θ ~ U(0, 2π)); the
        external and output phases are U(0, 2π) either way.
    """

    readout: str = "l2_intensity"
    frontend: str = "bn_linear"
    init: str = "haar"

    def __post_init__(self) -> None:
        if self.readout not in READOUTS:
            raise ValueError(f"platforms.mzi.network.readout = {self.readout!r}; choose one of "
                             f"{READOUTS}.")
        if self.frontend not in FRONTENDS:
            raise ValueError(f"platforms.mzi.network.frontend = {self.frontend!r}; choose one of "
                             f"{FRONTENDS}.")
        if self.init not in INITS:
            raise ValueError(f"platforms.mzi.network.init = {self.init!r}; choose one of "
                             f"{INITS}.")


def lenet_frontend(n_out: int, frontend: str) -> nn.Sequential:
    """LeNet's digital layers: 28×28 image → ``n_out`` real values (see :class:`MZINetwork`)."""
    if frontend == "bn_linear":
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(400, 120), nn.BatchNorm1d(120), nn.Linear(120, n_out),
        )
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, n_out),
    )


class ConvMZI(PNN):
    """Digital conv front-end → N amplitudes (unit power) → Clements mesh → 10 class scores."""

    def __init__(self, physics: MZIPhysics, network: MZINetwork | None = None,
                 n_classes: int = 10) -> None:
        super().__init__()
        if n_classes > physics.n_modes:
            raise ValueError(f"{n_classes} classes need at least as many modes; N = "
                             f"{physics.n_modes}.")
        self.network = network or MZINetwork()
        self.n_classes = n_classes
        self.frontend = channels_last(lenet_frontend(physics.n_modes, self.network.frontend))
        self.mesh = ClementsMesh(physics)
        if self.network.init == "haar":
            with torch.no_grad():  # drawn from torch's global generator, like every other init
                self.mesh.theta[0, : self.mesh.n_mzi] = haar_internal_phases(physics.n_modes)
        if self.network.readout == "power_fraction":
            # Port powers are fractions of the detected power (~1/N each): start with gain N.
            self.gain = nn.Parameter(torch.tensor(float(physics.n_modes)))
            self.bias = nn.Parameter(torch.zeros(n_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The digital front-end: images → N real input amplitudes of unit total power."""
        # fixed laser power: unit norm
        return F.normalize(self.frontend(channels_last_images(x)), dim=1)

    def head(self, amplitudes: torch.Tensor, device: Any | None = None,
             perturbation: MZIPerturbation | None = None) -> torch.Tensor:
        errors = None if device is None else device.for_layer("mesh")
        power = self.mesh(amplitudes, errors, perturbation)
        if self.network.readout == "l2_intensity":
            return F.normalize(power, dim=1)[:, : self.n_classes]
        scores = power[:, : self.n_classes] / power.sum(1, keepdim=True).clamp_min(1e-12)
        return self.gain * scores + self.bias


PLATFORM = Platform.from_classes(
    "mzi",
    model=ConvMZI, physics=MZIPhysics, fabrication=MZIFabrication, perturbation=MZIPerturbation,
    network=MZINetwork,
)
