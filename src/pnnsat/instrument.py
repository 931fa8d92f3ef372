"""The instrument around a chip: finite control precision (DACs) and noisy detection
(``docs/physics.md`` "Control precision and readout noise"; figS7).

Every chip of :mod:`pnnsat.platforms` is otherwise noiseless and infinitely precise. A real one sets
its controls through digital-to-analogue converters and reads its outputs through photodetectors:

* :class:`ControlDAC` — a control is set by a ``bits``-bit DAC over the voltage range [0, V_max];
  the control value follows the actuator's law over [``low``, ``high``] (control units: nm of
  ring detuning, rad of phase): ``linear`` (an SLM's gray levels: Θ − low ∝ V) or ``quadratic``
  (a thermo-optic heater: the phase or detuning follows the dissipated power, Θ − low ∝ V²). A
  ``periodic`` control (a phase) is first wrapped into [low, high). The chip applies the nearest
  level; the gradient passes straight through (the twin's Θ is never changed).
* :class:`Readout` — a detection of optical power P at full scale F (the total power that
  detection could see) counts photons: ``photons`` at full scale, so P gives n = photons · P / F
  and a shot noise of standard deviation √(P·F/photons) in power units (the Gaussian limit of the
  Poisson count, exact in mean and variance); a detector/TIA noise of ``thermal`` · F; then an
  ADC of ``adc_bits`` over [0, F] (or [−F, F] for a balanced pair). Draws come from the
  instrument's own generator, seeded: an evaluation is reproducible.

An :class:`Instrument` (a DAC and a readout) rides on a :class:`~pnnsat.platforms.Device`
(:meth:`~pnnsat.platforms.Device.with_instrument`): the platforms call :func:`program` where they
read their controls and :func:`detect` where they detect light. Without one both return their
input itself, so today's chips are unchanged bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

LAWS = ("linear", "quadratic")


@dataclass(frozen=True)
class ControlDAC:
    """The DAC of every control of a chip.

    bits: resolution (2^bits levels of the drive voltage over [0, V_max]).
    low, high: control values (control units: nm, rad) at V = 0 and V = V_max.
    law: ``linear`` (Θ − low ∝ V) or ``quadratic`` (Θ − low ∝ V², a heater).
    periodic: wrap the control into [low, high) first (a phase with high − low = 2π).
    """

    bits: int
    low: float
    high: float
    law: str = "linear"
    periodic: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.bits, int) or not 1 <= self.bits <= 32:
            raise ValueError(f"ControlDAC.bits = {self.bits!r}: give an integer in 1..32.")
        if not self.high > self.low:
            raise ValueError(f"ControlDAC: high = {self.high} must exceed low = {self.low}.")
        if self.law not in LAWS:
            raise ValueError(f"ControlDAC.law = {self.law!r}; allowed: {list(LAWS)}.")

    @property
    def levels(self) -> int:
        return 2 ** self.bits

    def level_values(self) -> torch.Tensor:
        """The 2^bits control values the DAC can set (float64, ascending)."""
        v = torch.arange(self.levels, dtype=torch.float64) / (self.levels - 1)
        return self.low + (self.high - self.low) * (v if self.law == "linear" else v * v)

    def quantise(self, theta: torch.Tensor) -> torch.Tensor:
        """The control values the chip applies for ``theta`` (no gradient): wrapped if
        periodic, clipped to [low, high], then the nearest DAC level in voltage."""
        span = self.high - self.low
        t = theta.detach()
        if self.periodic:
            t = torch.remainder(t - self.low, span) + self.low
        u = ((t - self.low) / span).clamp(0.0, 1.0)  # fraction of the control range
        v = u if self.law == "linear" else torch.sqrt(u)  # fraction of V_max
        v = torch.round(v * (self.levels - 1)) / (self.levels - 1)
        return self.low + span * (v if self.law == "linear" else v * v)

    def program(self, theta: torch.Tensor) -> torch.Tensor:
        """``theta`` as the chip sets it, with a straight-through gradient: the forward value is
        :meth:`quantise`'s plus the periodic wrap's multiple of the period (so the applied phase
        equals the wrapped one modulo 2π), the backward the identity."""
        applied = self.quantise(theta)
        if self.periodic:  # keep theta's own period: only the quantisation step is added
            span = self.high - self.low
            applied = applied + span * torch.floor((theta.detach() - self.low) / span)
        return theta + (applied - theta.detach())

    def clipped_fraction(self, theta: torch.Tensor) -> float:
        """Fraction of the controls outside [low, high] (non-periodic controls are clipped)."""
        if self.periodic:
            return 0.0
        t = theta.detach()
        return float(((t < self.low) | (t > self.high)).float().mean())


@dataclass
class Readout:
    """The detectors of a chip.

    photons: mean photon count of a detection at full scale (None: no shot noise).
    thermal: detector and TIA noise, standard deviation as a fraction of full scale.
    adc_bits: resolution of the ADC over the full scale (None: exact).
    seed: seed of the noise (draws follow the order of the detections).
    """

    photons: float | None = None
    thermal: float = 0.0
    adc_bits: int | None = None
    seed: int = 0
    generator: torch.Generator = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.photons is not None and not self.photons > 0:
            raise ValueError(f"Readout.photons = {self.photons}: give a positive photon count "
                             "at full scale, or None for no shot noise.")
        if self.thermal < 0:
            raise ValueError(f"Readout.thermal = {self.thermal} must be >= 0.")
        if self.adc_bits is not None and (not isinstance(self.adc_bits, int)
                                          or not 1 <= self.adc_bits <= 32):
            raise ValueError(f"Readout.adc_bits = {self.adc_bits!r}: give an integer in 1..32 "
                             "or None.")
        self.generator = torch.Generator().manual_seed(int(self.seed))

    @property
    def noiseless(self) -> bool:
        return self.photons is None and self.thermal == 0 and self.adc_bits is None

    def _normal(self, like: torch.Tensor) -> torch.Tensor:
        return torch.randn(like.shape, generator=self.generator,
                           dtype=torch.float64).to(like.dtype).to(like.device)

    def detect(self, signal: torch.Tensor, full_scale: torch.Tensor,
               power: torch.Tensor | None = None, signed: bool = False) -> torch.Tensor:
        """The measured ``signal`` (power units): shot noise of the optical ``power`` reaching
        the detectors (default: the signal itself; a balanced pair: both diodes' sum), thermal
        noise, then the ADC over [0, F] ([−F, F] when ``signed``). ``full_scale`` F broadcasts
        against ``signal`` (e.g. one value per sample)."""
        out = signal
        f = full_scale.to(signal.dtype)
        if self.photons is not None:
            p = (signal if power is None else power).clamp_min(0)
            out = out + torch.sqrt(p * f / self.photons) * self._normal(signal)
        if self.thermal:
            out = out + self.thermal * f * self._normal(signal)
        if self.adc_bits is not None:
            low = -f if signed else torch.zeros_like(f)
            steps = 2 ** self.adc_bits - 1
            u = ((out - low) / (f - low).clamp_min(1e-30)).clamp(0.0, 1.0)
            out = low + (f - low) * torch.round(u * steps) / steps
        return out


@dataclass(frozen=True)
class Instrument:
    """What a chip is driven and read with: a DAC for its controls (None: exact) and its
    detectors (None: noiseless)."""

    dac: ControlDAC | None = None
    readout: Readout | None = None


def instrument_from_config(block: Mapping[str, Any]) -> Instrument:
    """An instrument from a config block ``{dac: {bits, low, high, law, periodic}, readout:
    {photons, thermal, adc_bits, seed}}`` (either may be left out: exact controls, noiseless
    detection) — e.g. ``platforms.<p>.instrument``, device A's while in situ methods train on it.
    Raises ValueError naming the field."""
    unknown = sorted(set(block) - {"dac", "readout"})
    if unknown:
        raise ValueError(f"instrument names {unknown}; allowed: ['dac', 'readout'].")
    dac = ControlDAC(**block["dac"]) if block.get("dac") else None
    readout = Readout(**block["readout"]) if block.get("readout") else None
    return Instrument(dac=dac, readout=readout)


def instrument_of(errors: Mapping[str, Any] | None) -> Instrument | None:
    """The instrument a physical layer's errors carry (``Device.with_instrument``), or None."""
    return None if errors is None else errors.get("instrument")


def program(theta: torch.Tensor, errors: Mapping[str, Any] | None) -> torch.Tensor:
    """The controls as the chip applies them: ``theta`` through the instrument's DAC, or
    ``theta`` itself (the same tensor) without one."""
    instrument = instrument_of(errors)
    if instrument is None or instrument.dac is None:
        return theta
    return instrument.dac.program(theta)


def detect(signal: torch.Tensor, errors: Mapping[str, Any] | None, full_scale: torch.Tensor,
           power: torch.Tensor | None = None, signed: bool = False) -> torch.Tensor:
    """``signal`` as the chip's detectors measure it (:meth:`Readout.detect`), or ``signal``
    itself (the same tensor) without a readout."""
    instrument = instrument_of(errors)
    if instrument is None or instrument.readout is None or instrument.readout.noiseless:
        return signal
    return instrument.readout.detect(signal, full_scale, power, signed)

