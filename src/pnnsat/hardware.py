"""The narrow interface between in situ training methods and a physical device.

In situ methods (``pat``, ``dat``, ``sat_pat``) never touch a device's hidden errors; they only ask
it for **forward measurements**:

* :meth:`PhysicalSystem.measure_layer` — set one physical layer's controls Θ, send a batch of
  inputs, read the outputs (for MRR: the bank's detected and amplified outputs; for MZI: the port
  powers; for D2NN: the camera image behind the last mask);
* :meth:`PhysicalSystem.measure_network` — the whole physical network's outputs (class scores)
  for a batch of its inputs: the digital front-end's outputs ``model.features(x)``, which the
  lab's computer computes and sends to the chip (modulator powers, MZI input amplitudes, the
  D2NN's input field), with every layer programmed with its current controls.

Every call counts **device queries**: samples × physical layers measured. Calls never return
gradients. A lab plugs a real instrument in by implementing these two methods (and ``queries``):
in situ training measures through them, and so does every accuracy this library reports
(:func:`pnnsat.accuracy.measured_accuracy`), so a trained model is scored on a lab's chip with
the same code. :class:`SimulatedSystem` is the implementation used here: the twin's physics with
a :class:`~pnnsat.platforms.base.Device`'s hidden errors (or none: the ideal twin).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch

from .platforms.base import PNN, Device


@runtime_checkable
class PhysicalSystem(Protocol):
    """What an in situ method may ask of hardware (see module docstring)."""

    #: forward measurements made so far, in samples × physical layers.
    queries: int

    def measure_layer(self, name: str, theta: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """Program layer ``name`` with controls ``theta`` (its Θ, in the layer's units), send
        ``inputs`` (batch first, the layer's input units) and return the measured outputs."""
        ...

    def measure_network(self, inputs: torch.Tensor) -> torch.Tensor:
        """Outputs (class scores) of the whole physical network, every layer at its current
        controls, for ``inputs`` (batch first): the digital front-end's outputs
        ``model.features(x)`` for images ``x``."""
        ...


class SimulatedSystem:
    """A simulated chip: the model's physics with ``device``'s hidden errors (None: the ideal
    twin, a chip without errors), under an optional fixed ``perturbation`` (e.g. the lab's
    temperature). Implements :class:`PhysicalSystem`."""

    def __init__(self, model: PNN, device: Device | None,
                 perturbation: Any | None = None) -> None:
        self._model = model
        self._layers = model.physical_layers()
        self._device = device
        self._perturbation = perturbation
        self.queries = 0

    @torch.no_grad()
    def measure_layer(self, name: str, theta: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        if name not in self._layers:
            raise KeyError(f"No physical layer {name!r}; this system has {sorted(self._layers)}.")
        self.queries += int(inputs.shape[0])
        layer = self._layers[name]
        # Program the controls, then run the layer's physics directly (``forward``, not
        # ``__call__``: hooks that in situ methods put on the twin must not fire on the device).
        programmed, layer.theta.data = layer.theta.data, theta.detach()
        try:
            errors = self._device.for_layer(name) if self._device is not None else None
            return layer.forward(inputs.detach(), errors, self._perturbation)
        finally:
            layer.theta.data = programmed

    @torch.no_grad()
    def measure_network(self, inputs: torch.Tensor) -> torch.Tensor:
        self.queries += int(inputs.shape[0]) * len(self._layers)
        return self._model.head(inputs, device=self._device, perturbation=self._perturbation)
