"""Physics of the MRR weight bank: Lorentzian weights, device errors, drift, crosstalk, carriers."""

from __future__ import annotations

import pytest
import torch

from pnnsat.platforms import get_platform
from pnnsat.platforms.mrr import (
    MRRFabrication,
    MRRPerturbation,
    MRRPhysics,
    detuning_for_weight,
    lorentzian_weight,
)

PHYS = MRRPhysics()
MRR = get_platform("mrr")
BLOCK = {"physics": {}, "device": {"seed": 7, "resonance_sigma_nm": 0.08, "crosstalk_kappa": 0.05}}


def test_weight_range_and_resonance():
    detuning = torch.linspace(-50, 50, 200_001, dtype=torch.float64)
    w = lorentzian_weight(detuning, PHYS)
    assert w.min() >= -1.0 and w.max() < 1.0
    assert lorentzian_weight(torch.tensor(0.0), PHYS) == -1.0  # on resonance: W = -A
    assert w.argmin() == 100_000  # the minimum is at Θ = Θ0
    # half width: W(γ) = 0 (half way between -A and A)
    assert lorentzian_weight(torch.tensor(PHYS.gamma_nm), PHYS).abs() < 1e-7
    assert lorentzian_weight(torch.tensor(1e3), PHYS) > 0.9999  # far from resonance: W -> A


def test_inverse_weight_roundtrip():
    w = torch.linspace(-0.95, 0.95, 101, dtype=torch.float64)
    assert torch.allclose(lorentzian_weight(detuning_for_weight(w, PHYS), PHYS), w, atol=1e-12)


def test_device_with_zero_error_equals_twin(mrr_model):
    x = torch.randn(16, 1, 28, 28)
    mrr_model.eval()
    device = MRR.sample_device(mrr_model, 3, {"device": {"seed": 3, "resonance_sigma_nm": 0.0,
                                                         "crosstalk_kappa": 0.0}})
    assert torch.equal(mrr_model(x, device=device), mrr_model(x))
    real = MRR.sample_device(mrr_model, 3, BLOCK)
    assert not torch.allclose(mrr_model(x, device=real), mrr_model(x))


def test_same_seed_same_device_and_different_seeds_differ(mrr_model):
    a = MRR.sample_device(mrr_model, 11, BLOCK).errors["bank1"]["resonance_offset_nm"]
    b = MRR.sample_device(mrr_model, 11, BLOCK).errors["bank1"]["resonance_offset_nm"]
    c = MRR.sample_device(mrr_model, 12, BLOCK).errors["bank1"]["resonance_offset_nm"]
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert abs(float(a.std()) - 0.08) < 0.005  # σ of the resonance offsets as configured


@pytest.mark.parametrize("delta_T", [-1.0, 0.5, 2.0])
def test_drift_shifts_every_ring_by_80pm_per_kelvin(mrr_model, delta_T):
    bank = mrr_model.bank1
    device = MRR.sample_device(mrr_model, 5, BLOCK)
    errors = device.for_layer("bank1")
    base = bank.effective_detuning(errors, MRRPerturbation())
    drifted = bank.effective_detuning(errors, MRRPerturbation(delta_T_K=delta_T))
    shift = drifted - base
    assert torch.allclose(shift, torch.full_like(shift, 0.08 * delta_T), atol=1e-6)


def test_perturbations_never_write_into_controls(mrr_model):
    before = [p.detach().clone() for p in mrr_model.control_parameters()]
    device = MRR.sample_device(mrr_model, 5, BLOCK)
    mrr_model(torch.randn(4, 1, 28, 28), device=device,
              perturbation=MRRPerturbation(delta_T_K=2.0, carrier_sigma_nm=0.1))
    after = mrr_model.control_parameters()
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))


def test_thermal_crosstalk_is_nearest_neighbour_within_a_bank(mrr_model):
    bank = mrr_model.bank2
    with torch.no_grad():
        bank.theta.zero_()
        bank.theta[3, 5] = 1.0  # heat one ring
    kappa = 0.07
    errors = {"resonance_offset_nm": torch.zeros_like(bank.theta),
              "crosstalk_kappa": torch.tensor(kappa)}
    shift = bank.effective_detuning(errors) - bank.effective_detuning(None)
    expected = torch.zeros_like(shift)
    expected[3, 4] = expected[3, 6] = kappa  # same bank row, neighbouring channels only
    assert torch.allclose(shift, expected)


def test_carrier_misalignment_detunes_each_channel_column(mrr_model):
    bank = mrr_model.bank1
    common = bank.effective_detuning(None, MRRPerturbation(carrier_offset_nm=0.03))
    assert torch.allclose(common - bank.effective_detuning(None), torch.full_like(common, -0.03))
    pert = MRRPerturbation(carrier_sigma_nm=0.1, carrier_seed=4)
    shift = bank.effective_detuning(None, pert) - bank.effective_detuning(None)
    # one offset per input channel (column), shared by every ring reading that channel
    assert torch.allclose(shift, shift[:1].expand_as(shift), atol=1e-6)
    assert 0.05 < float(shift[0].detach().std()) < 0.15


def test_negative_sigma_is_rejected_with_the_field_name():
    with pytest.raises(ValueError, match="resonance_sigma_nm"):
        MRRFabrication(resonance_sigma_nm=-0.1)
    with pytest.raises(ValueError, match="unknown key"):
        MRR.fabrication({"device": {"seed": 0, "sigma": 0.1}})


def test_controls_are_only_the_ring_detunings(mrr_model):
    controls = mrr_model.control_parameters()
    assert [tuple(p.shape) for p in controls] == [(84, 120), (10, 84)]
    # each control is a physical layer's Θ; no other parameter is one (the digital weights)
    thetas = [layer.theta for layer in mrr_model.physical_layers().values()]
    assert all(any(c is t for t in thetas) for c in controls) and len(controls) == len(thetas)
    digital = [n for n, p in mrr_model.named_parameters() if not any(p is c for c in controls)]
    assert digital and not any(n.endswith("theta") for n in digital)
