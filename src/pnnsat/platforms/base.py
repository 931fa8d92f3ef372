"""The platform abstraction shared by every PNN type (``docs/physics.md``).

* **Control parameters Θ** — the ``theta`` parameters of :class:`PhysicalLayer` modules: what a
  user can set on the hardware (ring detunings, MZI phases, mask phases). Digital layers keep
  ordinary weights and are *not* controls.
* **Digital twin** — a :class:`PNN` called with ``device=None``: ideal components, nominal geometry.
* **Device** — :class:`Device`: the twin plus hidden systematic errors, drawn once from a seed.
  Two seeds are two chips of one design. Errors are stored per physical layer, outside the model.
* **Perturbation** — a platform's frozen dataclass (drift, misalignment) applied on top of a device
  at forward time. Neither devices nor perturbations ever write into Θ.

A physical layer's forward is ``layer(x, errors, perturbation)``; a network's forward is
``model(x, device=None, perturbation=None)``. In situ methods can therefore run the device layer by
layer while taking gradients from the twin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, fields
from typing import Any

import torch
from torch import nn

LayerErrors = Mapping[str, torch.Tensor]


@dataclass(frozen=True)
class Device:
    """One fabricated chip: hidden systematic errors per physical layer, fixed by ``seed``; and
    optionally the instrument it is driven and read with (:mod:`pnnsat.instrument`), which every
    layer's errors then carry under ``"instrument"``."""

    platform: str
    seed: int
    errors: dict[str, LayerErrors] = field(default_factory=dict)
    instrument: Any = None

    def for_layer(self, name: str) -> LayerErrors | None:
        return self.errors.get(name)

    def with_instrument(self, instrument: Any) -> Device:
        """This chip driven and read with ``instrument`` (a :class:`pnnsat.instrument.
        Instrument`): the same errors, each layer's also carrying the instrument."""
        errors = {name: {k: v for k, v in layer.items() if k != "instrument"}
                  for name, layer in self.errors.items()}
        if instrument is not None:
            errors = {name: {**layer, "instrument": instrument} for name, layer in errors.items()}
        return Device(self.platform, self.seed, errors, instrument)


#: input-independent physics kept while controls are fixed (:func:`fixed_controls`); None outside
_FIXED: ContextVar[dict | None] = ContextVar("pnnsat_fixed_controls", default=None)


@contextmanager
def fixed_controls() -> Iterator[None]:
    """Declare that no control, device or perturbation changes inside this block — an evaluation
    over many batches. Physical layers then compute their input-independent physics (a mesh's
    transfer matrix U, a weight bank's ring weights) once per (layer, device errors,
    perturbation) and reuse it for every batch (:func:`reuse_while_fixed`); the results are
    bitwise those computed batch by batch. Only where no gradient is recorded."""
    token = _FIXED.set({})
    try:
        yield
    finally:
        _FIXED.reset(token)


def reuse_while_fixed(layer: nn.Module, errors: Any, perturbation: Any,
                      compute: Callable[[], torch.Tensor]) -> torch.Tensor:
    """``compute()`` — or, inside :func:`fixed_controls` with gradients off, its first result for
    this layer (and the same version of its controls), errors and perturbation. The key objects and
    the controls' storage are held by the cache for the block's lifetime, so their ids and address
    cannot be reused by others."""
    cache = _FIXED.get()
    if cache is None or torch.is_grad_enabled():
        return compute()
    theta = getattr(layer, "theta", None)
    key = (id(layer), id(errors), id(perturbation),
           None if theta is None else (theta.data_ptr(), theta._version))
    if key not in cache:
        held = None if theta is None else theta.detach()
        cache[key] = (layer, errors, perturbation, held, compute())
    return cache[key][-1]


class PhysicalLayer(nn.Module):
    """A layer implemented by hardware. Subclasses own ``self.theta`` (the controls Θ)."""

    theta: nn.Parameter

    def forward(self, x: torch.Tensor, errors: LayerErrors | None = None,
                perturbation: Any | None = None) -> torch.Tensor:
        raise NotImplementedError

    def sample_errors(self, generator: torch.Generator,
                      fabrication: Any) -> dict[str, torch.Tensor]:
        """Draw this layer's device errors from ``fabrication`` (a platform dataclass)."""
        raise NotImplementedError

    def control_sensitivity(self, x: torch.Tensor, generator: torch.Generator,
                            step: float) -> torch.Tensor:
        """Differentiable estimate of how strongly the twin's output at inputs ``x`` depends on
        Θ: mean over outputs of ((f(Θ + h·v) − f(Θ)) / h)² for one random ±1 direction v and
        step h (Θ's units), i.e. an unbiased-in-the-limit estimate of ‖∂f/∂Θ‖²_F per output.
        Used by ``hat``; layers with a closed form override it."""
        v = (torch.randint(0, 2, self.theta.shape, generator=generator) * 2 - 1).to(self.theta)
        base = self.forward(x)
        moved = torch.func.functional_call(self, {"theta": self.theta + step * v}, (x,))
        return ((moved - base) / step).pow(2).mean()


class PNN(nn.Module):
    """A network with digital layers and named physical layers.

    Subclasses implement ``features(x)`` — the part before the first physical layer, which no
    device or perturbation changes — and ``head(h, device=None, perturbation=None)``, which passes
    ``device.for_layer(name)`` and ``perturbation`` to each physical layer. ``forward`` is their
    composition; evaluation sweeps compute ``features`` once per model and reuse them.
    """

    def features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def head(self, h: torch.Tensor, device: Device | None = None,
             perturbation: Any | None = None) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor, device: Device | None = None,
                perturbation: Any | None = None) -> torch.Tensor:
        return self.head(self.features(x), device, perturbation)

    def physical_layers(self) -> dict[str, PhysicalLayer]:
        return {n: m for n, m in self.named_modules() if isinstance(m, PhysicalLayer)}

    def control_parameters(self) -> list[nn.Parameter]:
        """Θ: the parameters a user sets on the hardware (SAT perturbs only these)."""
        return [layer.theta for layer in self.physical_layers().values()]


def channels_last(module: nn.Module) -> nn.Module:
    """``module``'s convolution weights in channels-last memory order (in place; returns it).
    With its inputs passed through :func:`channels_last_images`, oneDNN's CPU convolutions run
    1.2–1.3× faster per training step (MRR, MZI; ``benchmarks/run.py``). Same model, same
    initialisation; the rounding of the convolutions differs from the default order."""
    return module.to(memory_format=torch.channels_last)


def channels_last_images(x: torch.Tensor) -> torch.Tensor:
    """Images (B, C, H, W) in channels-last memory order (same values)."""
    return x.contiguous(memory_format=torch.channels_last)


def is_active(value: float | torch.Tensor, nominal: float = 0.0) -> bool:
    """Whether a perturbation field must be applied: off nominal, or a tensor (SAT's
    perturbation-aware ascent differentiates through it at the nominal value)."""
    return isinstance(value, torch.Tensor) or value != nominal


def sample_device(model: PNN, platform: str, seed: int, fabrication: Any) -> Device:
    """Draw device ``seed`` for ``model``: each physical layer samples its own errors.

    The generator is seeded once and consumed layer by layer in a fixed (module) order, so the same
    seed gives the same chip and different seeds give independent chips.
    """
    generator = torch.Generator().manual_seed(int(seed))
    errors = {name: layer.sample_errors(generator, fabrication)
              for name, layer in model.physical_layers().items()}
    return Device(platform=platform, seed=int(seed), errors=errors)


def dataclass_from_config(cls: type, values: Mapping[str, Any] | None, where: str) -> Any:
    """Build dataclass ``cls`` from a config mapping; unknown keys raise a clear ValueError."""
    values = dict(values or {})
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(known)}.")
    return cls(**values)


def require_nonnegative(obj: Any, *names: str) -> None:
    """Raise ValueError naming the first field in ``names`` that is negative."""
    for name in names:
        value = getattr(obj, name)
        if value < 0:
            raise ValueError(
                f"{type(obj).__name__}.{name} = {value} is negative; it is a standard deviation "
                "or magnitude and must be >= 0. Fix it in the config."
            )


@dataclass(frozen=True)
class Platform:
    """Everything the pipeline needs to know about one PNN type (one row of the registry)."""

    name: str
    build_model: Callable[[Mapping[str, Any]], PNN]  # config block -> fresh twin model
    fabrication: Callable[[Mapping[str, Any]], Any]  # config block -> fabrication dataclass
    perturbation: type  # the platform's perturbation dataclass
    drift_field: str  # name of the perturbation field holding ΔT (K)
    physics: type | None = None  # the dataclass of its config block's `physics`
    network: type | None = None  # the dataclass of its config block's `network` (if any)

    @classmethod
    def from_classes(cls, name: str, model: Callable[[Any], PNN],
                     physics: type, fabrication: type, perturbation: type,
                     drift_field: str = "delta_T_K", network: type | None = None) -> Platform:
        """A registry row from a platform's model class and its config dataclasses.

        The config block's ``physics`` mapping builds ``physics``; its ``device`` mapping (less
        ``seed``) builds ``fabrication``; a platform with architecture choices (``network``, e.g.
        the MZI readout) gets its ``network`` mapping as the model's second argument; unknown keys
        raise a ValueError naming the block.
        """

        def parse_physics(block: Mapping[str, Any]) -> Any:
            return dataclass_from_config(physics, block.get("physics"), f"platforms.{name}.physics")

        def parse_fabrication(block: Mapping[str, Any]) -> Any:
            values = {k: v for k, v in dict(block.get("device") or {}).items() if k != "seed"}
            return dataclass_from_config(fabrication, values, f"platforms.{name}.device")

        def build(block: Mapping[str, Any]) -> PNN:
            if network is None:
                return model(parse_physics(block))
            return model(parse_physics(block), dataclass_from_config(
                network, block.get("network"), f"platforms.{name}.network"))

        return cls(name=name, build_model=build,
                   fabrication=parse_fabrication, perturbation=perturbation,
                   drift_field=drift_field, physics=physics, network=network)

    def sample_device(self, model: PNN, seed: int, block: Mapping[str, Any]) -> Device:
        return sample_device(model, self.name, seed, self.fabrication(block))

    def drift(self, delta_T_K: float) -> Any:
        return self.perturbation(**{self.drift_field: float(delta_T_K)})
