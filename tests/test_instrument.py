"""Control precision and readout noise (pnnsat.instrument): the DAC has the levels it states, the
noise has the variance its photon count gives, and a chip without either is today's chip."""

from __future__ import annotations

import math

import pytest
import torch

from pnnsat.instrument import ControlDAC, Instrument, Readout, detect, program
from pnnsat.platforms import get_platform

TWO_PI = 2 * math.pi


@pytest.mark.parametrize("bits", [1, 3, 6, 8])
@pytest.mark.parametrize("law", ["linear", "quadratic"])
def test_b_bits_give_2_to_the_b_levels_over_the_stated_range(bits, law):
    dac = ControlDAC(bits=bits, low=-2.0, high=2.0, law=law)
    theta = torch.linspace(-3.0, 3.0, 200_001, dtype=torch.float64)
    applied = dac.quantise(theta)
    levels = torch.unique(applied)
    assert len(levels) == 2**bits
    assert torch.allclose(levels, dac.level_values())
    assert levels.min() == -2.0 and levels.max() == pytest.approx(2.0)
    # the levels are equally spaced in the drive voltage: in Θ for linear, in √(Θ − low) for
    # a heater
    v = (levels + 2.0) / 4.0 if law == "linear" else torch.sqrt((levels + 2.0) / 4.0)
    assert torch.allclose(torch.diff(v), torch.full((2**bits - 1,), 1 / (2**bits - 1),
                                                     dtype=torch.float64))
    # every control goes to its nearest level in voltage (half a step at most)
    inside = theta.abs() <= 2.0
    u = (theta[inside] + 2) / 4
    drive = u if law == "linear" else torch.sqrt(u)
    back = (applied[inside] + 2) / 4
    back = back if law == "linear" else torch.sqrt(back)
    assert (drive - back).abs().max() <= 0.5 / (2**bits - 1) + 1e-12


def test_a_periodic_control_keeps_its_period_and_the_gradient_passes_straight_through():
    dac = ControlDAC(bits=4, low=0.0, high=TWO_PI, law="quadratic", periodic=True)
    theta = torch.tensor([0.3, 2.0, 6.0, -1.0, 9.0], dtype=torch.float64, requires_grad=True)
    applied = dac.program(theta)
    # applied − θ is the quantisation step only (at most half the widest level gap), and the
    # applied phase is a DAC level modulo 2π
    assert (applied - theta).abs().max() < TWO_PI / 4
    wrapped = torch.remainder(applied.detach(), TWO_PI)
    levels = torch.remainder(dac.level_values(), TWO_PI)
    assert all(torch.isclose(levels, w, atol=1e-9).any() or abs(w - TWO_PI) < 1e-9
               for w in wrapped)
    applied.sum().backward()
    assert torch.equal(theta.grad, torch.ones_like(theta))  # straight through
    assert torch.allclose(dac.program(theta.detach() + TWO_PI), applied.detach() + TWO_PI)


def test_bad_instrument_settings_are_named():
    with pytest.raises(ValueError, match="ControlDAC.bits"):
        ControlDAC(bits=0, low=0.0, high=1.0)
    with pytest.raises(ValueError, match="must exceed low"):
        ControlDAC(bits=4, low=1.0, high=1.0)
    with pytest.raises(ValueError, match="ControlDAC.law"):
        ControlDAC(bits=4, low=0.0, high=1.0, law="cubic")
    with pytest.raises(ValueError, match="Readout.photons"):
        Readout(photons=0.0)
    with pytest.raises(ValueError, match="Readout.adc_bits"):
        Readout(adc_bits=0)


@pytest.mark.parametrize("photons", [10.0, 1_000.0])
def test_shot_noise_variance_matches_the_photon_count(photons):
    """A detection of power P at full scale F with N photons at full scale counts n = N·P/F
    photons: in power units, mean P and variance P·F/N (Poisson); thermal noise adds
    (thermal·F)²."""
    n = 200_000
    p, f = torch.full((n,), 0.3, dtype=torch.float64), torch.tensor(2.0, dtype=torch.float64)
    out = Readout(photons=photons, seed=1).detect(p, f)
    assert float(out.mean()) == pytest.approx(0.3, abs=4 * math.sqrt(0.3 * 2 / photons / n))
    assert float(out.var()) == pytest.approx(0.3 * 2.0 / photons, rel=0.02)
    both = Readout(photons=photons, thermal=0.01, seed=1).detect(p, f)
    assert float(both.var()) == pytest.approx(0.3 * 2.0 / photons + (0.01 * 2.0) ** 2, rel=0.02)
    # the photon count itself: (measured power / F) · N has the mean and variance of a Poisson
    counts = out / f * photons
    assert float(counts.var()) == pytest.approx(float(counts.mean()), rel=0.02)


def test_the_adc_has_2_to_the_b_levels_over_the_full_scale_and_the_noise_is_seeded():
    signal = torch.linspace(-3.0, 3.0, 10_001, dtype=torch.float64)
    f = torch.tensor(2.0, dtype=torch.float64)
    out = Readout(adc_bits=3).detect(signal, f)
    assert len(torch.unique(out)) == 8 and out.min() == 0.0 and out.max() == 2.0
    signed = Readout(adc_bits=3).detect(signal, f, signed=True)
    assert len(torch.unique(signed)) == 8 and signed.min() == -2.0
    a = Readout(photons=50.0, seed=3).detect(signal.clamp_min(0), f)
    b = Readout(photons=50.0, seed=3).detect(signal.clamp_min(0), f)
    c = Readout(photons=50.0, seed=4).detect(signal.clamp_min(0), f)
    assert torch.equal(a, b) and not torch.equal(a, c)


BLOCKS = {
    "mrr": {"physics": {}, "device": {"seed": 7, "resonance_sigma_nm": 0.08,
                                      "crosstalk_kappa": 0.05}},
    "mzi": {"physics": {"n_modes": 16}, "device": {"seed": 7, "splitter_sigma": 0.15,
                                                   "phase_sigma_rad": 0.15, "beta_spread": 0.1,
                                                   "crosstalk_kappa": 0.05}},
    "d2nn": {"physics": {"grid": 16, "image_px": 8, "detector_px": 2},
             "device": {"seed": 7, "phase_sigma_rad": 0.2, "axial_sigma_um": 10.0,
                        "crosstalk": 0.05}},
}


def _chip(name: str):
    platform = get_platform(name)
    torch.manual_seed(0)
    model = platform.build_model(BLOCKS[name]).eval()
    x = torch.rand(12, 1, 28, 28)
    with torch.no_grad():
        h = model.features(x)
    return platform, model, h, platform.sample_device(model, 7, BLOCKS[name])


@pytest.mark.parametrize("name", ["mrr", "mzi", "d2nn"])
def test_no_noise_and_exact_controls_are_todays_chip_bit_for_bit(name):
    platform, model, h, device = _chip(name)
    drift = platform.drift(0.5)
    with torch.no_grad():
        today = model.head(h, device, drift)
        for instrument in (Instrument(), Instrument(readout=Readout())):
            assert torch.equal(model.head(h, device.with_instrument(instrument), drift), today)
        assert torch.equal(model.head(h, device.with_instrument(Instrument()).with_instrument(
            None), drift), today)


@pytest.mark.parametrize("name", ["mrr", "mzi", "d2nn"])
def test_a_fine_dac_and_many_photons_approach_the_exact_chip(name):
    platform, model, h, device = _chip(name)
    control = {"mrr": (-2.0, 2.0, "quadratic", False), "mzi": (0.0, TWO_PI, "quadratic", True),
               "d2nn": (0.0, TWO_PI, "linear", True)}[name]
    low, high, law, periodic = control
    with torch.no_grad():
        today = model.head(h, device)
        fine = model.head(h, device.with_instrument(Instrument(
            dac=ControlDAC(bits=24, low=low, high=high, law=law, periodic=periodic),
            readout=Readout(photons=1e12, seed=0))))
        coarse = model.head(h, device.with_instrument(Instrument(
            dac=ControlDAC(bits=2, low=low, high=high, law=law, periodic=periodic))))
        noisy = model.head(h, device.with_instrument(Instrument(readout=Readout(photons=10.0))))
    scale = today.abs().max()
    assert torch.allclose(fine, today, atol=1e-3 * float(scale))
    assert not torch.allclose(coarse, today, atol=1e-2 * float(scale))
    assert not torch.allclose(noisy, today, atol=1e-3 * float(scale))


def test_program_and_detect_return_their_input_without_an_instrument():
    theta = torch.randn(5)
    assert program(theta, None) is theta and program(theta, {"x": theta}) is theta
    assert detect(theta, None, torch.tensor(1.0)) is theta


def test_needed_is_the_resolution_from_which_on_every_point_is_within_a_point():
    import pandas as pd

    from pnnsat.precision_report import needed

    summary = pd.DataFrame({"platform": "mrr", "method": "bp", "axis": "dac_bits",
                            "value": [2.0, 4.0, 6.0, 8.0], "loss": [-30.0, -0.5, -1.5, -0.2]})
    assert needed(summary, "dac_bits").needed.iloc[0] == 8.0  # 4 bits is not enough: 6 loses 1.5
    summary["loss"] = [-30.0, -5.0, -3.0, -2.0]
    assert math.isnan(needed(summary, "dac_bits").needed.iloc[0])


def test_a_bad_precision_block_is_named():
    from pnnsat.precision_sweep import check_spec

    spec = {"controls": {"mrr": {"low": -1.5, "high": 1.5, "law": "quadratic"}},
            "bits": [4, 8], "photons": [100.0]}
    check_spec(spec, ["mrr"])
    with pytest.raises(ValueError, match="precision.controls names 'mzi'"):
        check_spec({**spec, "controls": {"mzi": {"low": 0.0, "high": 1.0}}}, ["mrr"])
    with pytest.raises(ValueError, match=r"precision.controls.mrr: ControlDAC: high"):
        check_spec({**spec, "controls": {"mrr": {"low": 1.0, "high": -1.0}}}, ["mrr"])
    with pytest.raises(ValueError, match="precision.photons"):
        check_spec({**spec, "photons": [0.0]}, ["mrr"])
