"""Physics of the diffractive network: propagation, warps, device errors, drift."""

from __future__ import annotations

import math

import pytest
import torch

from pnnsat.platforms import get_platform
from pnnsat.platforms.d2nn import (
    D2NN,
    D2NNFabrication,
    D2NNPerturbation,
    D2NNPhysics,
    detector_masks,
    intensity_threshold,
    propagate,
    transfer_function,
    warp,
)

D2 = get_platform("d2nn")
SMALL = D2NNPhysics(grid=32, image_px=24, detector_px=4)


def band_limited_field(n: int, h: torch.Tensor, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    f = torch.complex(torch.randn(3, n, n, generator=g), torch.randn(3, n, n, generator=g))
    return torch.fft.ifft2(torch.fft.fft2(f) * (h.abs() > 0))


def test_propagation_conserves_energy_and_is_reversible():
    h = transfer_function(64, 2.0, 0.532, 500.0)
    field = band_limited_field(64, h)
    out = propagate(field, h)
    energy_in, energy_out = field.abs().pow(2).sum(), out.abs().pow(2).sum()
    assert abs(float(energy_out / energy_in) - 1) < 1e-4
    back = propagate(out, transfer_function(64, 2.0, 0.532, -500.0))
    assert torch.allclose(back, field, atol=1e-4)


def test_propagating_zero_distance_is_the_identity():
    field = band_limited_field(32, torch.ones(32, 32))
    assert torch.allclose(propagate(field, transfer_function(32, 2.0, 0.532, 0.0)), field,
                          atol=1e-5)


def test_evanescent_waves_are_cut():
    # 0.2 µm pixels: the grid holds spatial frequencies above 1/λ, which must not propagate
    f = torch.fft.fftfreq(64, d=0.2, dtype=torch.float64)
    fx, fy = torch.meshgrid(f, f, indexing="xy")
    h = transfer_function(64, 0.2, 0.532, 1.0)
    assert (h[(fx**2 + fy**2) > 1 / 0.532**2].abs() == 0).all()


def test_zero_warp_is_the_identity():
    img = torch.rand(2, 32, 32)
    assert torch.allclose(warp(img), img, atol=1e-6)


def test_quarter_turn_of_a_symmetric_mask_is_the_mask():
    y, x = torch.meshgrid(torch.arange(32.0) - 15.5, torch.arange(32.0) - 15.5, indexing="ij")
    symmetric = torch.cos(0.3 * torch.sqrt(x**2 + y**2))[None]  # radially symmetric
    assert torch.allclose(warp(symmetric, rotation_deg=90.0), symmetric, atol=1e-5)
    asymmetric = torch.rand(1, 32, 32)  # +90°: counter-clockwise with y up (rows grow downwards)
    assert torch.allclose(warp(asymmetric, rotation_deg=90.0), torch.rot90(asymmetric, -1, (1, 2)),
                          atol=1e-5)


def test_integer_shift_equals_a_roll_away_from_borders():
    img = torch.rand(1, 32, 32)
    shifted = warp(img, shift_px=(2.0, -3.0))
    rolled = torch.roll(img, shifts=(-3, 2), dims=(1, 2))
    assert torch.allclose(shifted[:, 4:-4, 4:-4], rolled[:, 4:-4, 4:-4], atol=1e-6)


def test_device_at_zero_sigma_equals_twin_and_errors_change_output():
    torch.manual_seed(0)
    model = D2NN(SMALL)
    x = torch.randn(4, 1, 28, 28)
    zero = D2.sample_device(model, 1, {"device": {"seed": 1, "phase_sigma_rad": 0.0,
                                                  "axial_sigma_um": 0.0}})
    assert torch.equal(model(x, device=zero), model(x))
    real = D2.sample_device(model, 1, {"device": {"seed": 1, "phase_sigma_rad": 0.3,
                                                  "axial_sigma_um": 20.0}})
    assert not torch.allclose(model(x, device=real), model(x), atol=1e-4)


def test_nominal_perturbation_equals_no_perturbation():
    torch.manual_seed(0)
    model = D2NN(SMALL)
    x = torch.randn(3, 1, 28, 28)
    assert torch.allclose(model(x, perturbation=D2NNPerturbation()), model(x))


def test_misalignment_changes_output_but_never_the_controls():
    torch.manual_seed(0)
    model = D2NN(SMALL)
    before = model.optics.theta.detach().clone()
    x = torch.randn(3, 1, 28, 28)
    for pert in (D2NNPerturbation(rotation_deg=1.0), D2NNPerturbation(shift_x_px=2.0),
                 D2NNPerturbation(scale=1.1), D2NNPerturbation(axial_error_um=20.0),
                 D2NNPerturbation(delta_T_K=2.0)):
        assert not torch.allclose(model(x, perturbation=pert), model(x), atol=1e-6), pert
    assert torch.equal(model.optics.theta, before)


def test_warp_is_differentiable_for_perturbation_aware_training():
    img = torch.rand(1, 16, 16, requires_grad=True)
    warp(img, rotation_deg=3.0, shift_px=(0.5, 0.0), scale=1.05).sum().backward()
    assert img.grad is not None and img.grad.abs().sum() > 0


def test_threshold_keeps_phase_and_cuts_dim_light():
    field = torch.polar(torch.tensor([[[1.0, 0.1], [2.0, 0.5]]]),
                        torch.tensor([[[0.3, 1.0], [-2.0, 0.7]]]))
    out = intensity_threshold(field)
    intensity = field.abs() ** 2
    expected = torch.relu(intensity - intensity.mean() / 2)
    assert torch.allclose(out.abs() ** 2, expected, atol=1e-6)
    lit = expected > 0
    assert torch.allclose(torch.angle(out)[lit], torch.angle(field)[lit], atol=1e-6)


def test_detectors_are_ten_disjoint_squares_inside_the_grid():
    masks = detector_masks(D2NNPhysics())
    assert masks.shape == (10, 64, 64)
    assert (masks.sum((1, 2)) == 64).all() and masks.sum(0).max() == 1


def test_thermal_drift_scales_phases_as_stated():
    torch.manual_seed(0)
    optics = D2NN(SMALL).optics
    p = optics.physics
    drifted = optics.mask_phases(None, D2NNPerturbation(delta_T_K=2.0))
    lam = p.wavelength_nm + 2.0 * p.wavelength_drift_nm_per_K
    factor = (1 + 2.0 * p.phase_drift_per_K) * p.wavelength_nm / lam
    assert torch.allclose(drifted, optics.theta * factor)


def test_bad_values_are_rejected():
    with pytest.raises(ValueError, match="phase_sigma_rad"):
        D2NNFabrication(phase_sigma_rad=-0.1)
    with pytest.raises(ValueError, match="scale"):
        D2NNPerturbation(scale=0.0)
    assert math.isfinite(D2NNPhysics().distance_um)


def test_threshold_gradient_matches_finite_differences():
    g = torch.Generator().manual_seed(3)
    field = torch.complex(torch.randn(2, 6, 6, generator=g, dtype=torch.float64),
                          torch.randn(2, 6, 6, generator=g, dtype=torch.float64))
    intensity = field.abs() ** 2
    margin = (intensity / (intensity.mean((-2, -1), keepdim=True) / 2) - 1).abs()
    assert margin.min() > 0.01  # no pixel on the kink, where the derivative jumps
    assert torch.autograd.gradcheck(intensity_threshold, (field.requires_grad_(),))


def test_threshold_gradient_is_finite_and_exact_on_dark_pixels():
    # L = sum |out|^2 = sum relu(I - mean(I)/2): dL/dI_k = [k lit] - n_lit / (2 N), and torch's
    # gradient w.r.t. E_k is 2 E_k dL/dI_k, also on dark (cut off, or exactly 0) pixels
    field = torch.tensor([[[1.0 + 0j, 0.0], [1e-8, 2.0]]], requires_grad=True)
    intensity_threshold(field).abs().pow(2).sum().backward()
    lit = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    expected = 2 * field.detach() * (lit - lit.sum() / (2 * lit.numel()))
    assert torch.isfinite(torch.view_as_real(field.grad)).all()
    assert torch.allclose(field.grad, expected, rtol=1e-5, atol=1e-12)


def test_threshold_hessian_vector_products_are_finite_on_cut_off_and_dark_pixels():
    g = torch.Generator().manual_seed(0)
    field = torch.complex(torch.randn(2, 8, 8, generator=g), torch.randn(2, 8, 8, generator=g))
    field[0, :2, :2] = 0  # exactly dark pixels; about half the others are cut off
    field.requires_grad_()
    weights = torch.rand(2, 8, 8, generator=g)
    (grad,) = torch.autograd.grad((intensity_threshold(field).abs() ** 2 * weights).sum(), field,
                                  create_graph=True)
    v = torch.randn(2, 8, 8, 2, generator=g)
    (hvp,) = torch.autograd.grad((torch.view_as_real(grad) * v).sum(), field)
    assert torch.isfinite(torch.view_as_real(hvp)).all() and hvp.abs().sum() > 0


def test_a_model_evaluated_first_can_then_be_trained():
    """The cached transfer functions first computed in an evaluation (torch.inference_mode) are
    ordinary tensors: training the same model afterwards differentiates through them."""
    torch.manual_seed(0)
    model = D2NN(SMALL)
    x = torch.rand(4, 1, 28, 28)
    with torch.inference_mode():
        before = model(x)
    loss = model(x).logsumexp(1).sum()
    loss.backward()
    assert torch.isfinite(model.optics.theta.grad).all() and model.optics.theta.grad.abs().sum() > 0
    assert torch.equal(model(x).detach(), before)
