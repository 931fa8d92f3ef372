"""An evaluation holds a chip's settings fixed over many batches (`fixed_controls`): a mesh's U and
a weight bank's ring weights are then built once per (layer, device, perturbation) instead of once
per batch. The results must be bitwise those of building them every batch."""

from __future__ import annotations

import pytest
import torch

from pnnsat.accuracy import measured_accuracy
from pnnsat.config import load_config
from pnnsat.hardware import SimulatedSystem
from pnnsat.platforms import get_platform
from pnnsat.platforms.base import fixed_controls
from pnnsat.platforms.mrr import MRRWeightBank
from pnnsat.platforms.mzi import ClementsMesh
from pnnsat.training import TrainSpec, build_model

QUICK = load_config("config/quick.yaml")
#: the layer class whose input-independent physics is kept, and the method that builds it
KEPT = {"mrr": (MRRWeightBank, "weights"), "mzi": (ClementsMesh, "transfer_matrix")}


def setup(platform: str):
    block = QUICK["platforms"][platform]
    spec = TrainSpec(platform=platform, method="bp", seed=0, epochs=1,
                     platform_config={k: block[k] for k in ("physics", "device")})
    torch.manual_seed(0)
    model = build_model(spec).eval()
    device = get_platform(platform).sample_device(model, 3, spec.platform_config)
    drift = get_platform(platform).drift(0.5)
    h = model.features(torch.rand(40, 1, 28, 28)).detach()
    return model, device, drift, h


def counting(monkeypatch, platform: str) -> list[int]:
    cls, name = KEPT[platform]
    original, calls = getattr(cls, name), []

    def counted(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, counted)
    return calls


@pytest.mark.parametrize("platform", ["mrr", "mzi", "d2nn"])
def test_fixed_controls_give_bitwise_the_batch_by_batch_results(platform):
    model, device, drift, h = setup(platform)
    y = torch.arange(len(h)) % 10
    for chip in (None, device):
        for perturbation in (None, drift):
            system = SimulatedSystem(model, chip, perturbation)
            with torch.inference_mode():
                every_batch = [system.measure_network(h[i:i + 10]) for i in range(0, 40, 10)]
                with fixed_controls():
                    kept = [system.measure_network(h[i:i + 10]) for i in range(0, 40, 10)]
            assert all(torch.equal(a, b) for a, b in zip(every_batch, kept, strict=True))
            by_batch = sum(int((o.argmax(1) == y[i * 10:(i + 1) * 10]).sum())
                           for i, o in enumerate(every_batch)) / len(h)
            assert measured_accuracy(system, h, y, batch_size=10) == by_batch


@pytest.mark.parametrize("platform", ["mrr", "mzi"])
def test_the_physics_is_built_once_per_chip_and_perturbation_and_only_while_fixed(platform,
                                                                                  monkeypatch):
    model, device, drift, h = setup(platform)
    layers = sum(isinstance(m, KEPT[platform][0]) for m in model.modules())
    calls = counting(monkeypatch, platform)
    y = torch.zeros(len(h), dtype=torch.long)
    measured_accuracy(SimulatedSystem(model, device, drift), h, y, batch_size=10)  # 4 batches
    assert len(calls) == layers
    calls.clear()
    with torch.inference_mode():
        for i in range(0, 40, 10):  # outside the block: every batch builds it
            model.head(h[i:i + 10], device=device, perturbation=drift)
    assert len(calls) == 4 * layers
    calls.clear()
    with fixed_controls():  # gradients recorded: never reused (a graph is not shared)
        for i in range(0, 40, 10):
            model.head(h[i:i + 10], device=device, perturbation=drift).sum().backward()
    assert len(calls) == 4 * layers
    calls.clear()
    with fixed_controls(), torch.no_grad():  # one layer's controls changed in place: it rebuilds
        model.head(h[:10], device=device)
        next(p for n, p in model.named_parameters() if n.endswith("theta")).add_(0.01)
        model.head(h[:10], device=device)
        model.head(h[:10], device=device)
    assert len(calls) == layers + 1
