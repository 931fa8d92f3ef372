"""Cross-device evaluation: grid bookkeeping, seeds disjoint from device A, σ = 0 is the twin."""

from __future__ import annotations

import pytest
import torch

from pnnsat.accuracy import accuracy
from pnnsat.cross_device import cross_device_rows, fresh_chip_rows, grid_points
from pnnsat.data import load_splits
from pnnsat.platforms import get_platform

BLOCK = {"physics": {"n_modes": 16}, "device": {"seed": 7, "crosstalk_kappa": 0.0}}


def setup(synthetic_cache):
    torch.manual_seed(0)
    model = get_platform("mzi").build_model(BLOCK).eval()
    meta = {"platform": "mzi", "method": "bp", "seed": 0, "device_seed": 7,
            "spec": {"platform_config": BLOCK}}
    return model, meta, load_splits(synthetic_cache)


def test_grid_points_is_the_cartesian_product():
    points = grid_points({"b": [0.0, 0.3], "a": [0.1]})
    assert points == [{"a": 0.1, "b": 0.0}, {"a": 0.1, "b": 0.3}]


def test_rows_cover_grid_times_devices_and_zero_sigma_is_the_twin(synthetic_cache):
    model, meta, splits = setup(synthetic_cache)
    spec = {"devices": 3, "first_seed": 100,
            "grid": {"phase_sigma_rad": [0.0, 0.3], "splitter_sigma": [0.0, 0.3]}}
    rows = cross_device_rows(model, meta, splits, spec)
    assert len(rows) == 4 * 3
    assert {r["device_seed"] for r in rows} == {100, 101, 102}
    assert {r["target"] for r in rows} == {"fresh"}
    twin = accuracy(model, splits.test_x, splits.test_y)
    perfect = [r for r in rows if r["sigma_phase_sigma_rad"] == 0 == r["sigma_splitter_sigma"]]
    assert all(r["accuracy"] == pytest.approx(twin) for r in perfect)  # no errors: the twin
    noisy = [r["accuracy"] for r in rows if r["sigma_phase_sigma_rad"] == 0.3]
    assert len(set(noisy)) > 1  # different chips, different accuracies


def test_device_a_seed_and_unknown_fields_are_rejected(synthetic_cache):
    model, meta, splits = setup(synthetic_cache)
    with pytest.raises(ValueError, match="device A"):
        cross_device_rows(model, meta, splits,
                          {"devices": 3, "first_seed": 5, "grid": {"phase_sigma_rad": [0.1]}})
    with pytest.raises(ValueError, match="resonance_sigma_nm"):
        cross_device_rows(model, meta, splits,
                          {"devices": 1, "first_seed": 100, "grid": {"resonance_sigma_nm": [0.1]}})


def test_fresh_chips_of_a_perfect_process_are_the_twin_and_perturbations_are_scored(
        synthetic_cache):
    model, meta, splits = setup(synthetic_cache)
    perfect = {"physics": {"n_modes": 16},
               "device": {"seed": 7, "splitter_sigma": 0.0, "phase_sigma_rad": 0.0}}
    meta = {**meta, "spec": {"platform_config": perfect}}
    spec = {"devices": 3, "first_seed": 100, "perturbations": {"delta_T_K": [0.0, 2.0]}}
    rows = fresh_chip_rows(model, meta, splits, spec)
    assert len(rows) == 3 * 3  # chips x (nominal + two perturbation points)
    assert {r["target"] for r in rows} == {"fresh"}
    twin = accuracy(model, splits.test_x, splits.test_y)
    assert all(r["accuracy"] == pytest.approx(twin) for r in rows
               if r["axis"] == "nominal" or r["value"] == 0.0)
    with pytest.raises(ValueError, match="device A"):
        fresh_chip_rows(model, meta, splits, {"devices": 2, "first_seed": 6})


def test_device_a_is_one_chip_everywhere(synthetic_cache):
    """Training's device A (from the platform block) and evaluation's (from a model's metadata)
    are the same chip, and no fresh-chip range may contain it."""
    from pnnsat.chips import device_a, device_a_seed, fresh_seeds, model_device_a

    model, meta, _ = setup(synthetic_cache)
    block = meta["spec"]["platform_config"]
    a, b = device_a(model, "mzi", block), model_device_a(model, meta)
    assert a.seed == b.seed == device_a_seed(block) == meta["device_seed"]
    assert all(torch.equal(a.errors[n][k], b.errors[n][k]) for n in a.errors for k in a.errors[n])
    assert fresh_seeds({"devices": 3, "first_seed": 100}, 7, "x") == [100, 101, 102]
    with pytest.raises(ValueError, match="x seeds 5..7 include device A's seed 7"):
        fresh_seeds({"devices": 3, "first_seed": 5}, 7, "x")
