"""figS1's ρ sweep: each model's ρ, and rows that equal the shared measurements they report."""

from __future__ import annotations

import pytest
import torch

from pnnsat.chips import model_device_a as device_a
from pnnsat.data import load_splits
from pnnsat.platforms import get_platform
from pnnsat.platforms.base import sample_device
from pnnsat.rho_sweep import model_rho, rho_sweep_rows
from pnnsat.sharpness import top_eigenvalue

BLOCK = {"physics": {"n_modes": 16}, "device": {"seed": 7, "crosstalk_kappa": 0.0}}


def meta(method, method_config, seed=0):
    return {"platform": "mzi", "method": method, "seed": seed, "device_seed": 7,
            "spec": {"platform": "mzi", "platform_config": BLOCK, "method_config": method_config}}


def test_model_rho_reads_the_sat_config_and_bp_is_zero():
    assert model_rho(meta("sat", {"rho": 0.7})) == 0.7
    assert model_rho(meta("bp", {})) == 0.0
    with pytest.raises(ValueError, match="only bp and sat"):
        model_rho(meta("nat", {"error_scale": 1.0}))


def test_rows_equal_the_twin_device_a_fresh_chip_and_lambda_max(synthetic_cache):
    torch.manual_seed(0)
    model = get_platform("mzi").build_model(BLOCK).eval()
    splits = load_splits(synthetic_cache)
    m = meta("sat", {"rho": 0.3})
    rows = rho_sweep_rows([(model, m)], splits, {"devices": 2, "first_seed": 100},
                          tolerance=1e-3, max_hvps=100, sharpness_images=16)
    assert [(r["target"], r["device_seed"]) for r in rows] == [
        ("twin", -1), ("device", 7), ("fresh", 100), ("fresh", 101)]
    assert {r["rho"] for r in rows} == {0.3}
    x, y = splits.test_x, splits.test_y

    def by_hand(device=None):  # the whole network's forward, not the evaluation's helpers
        with torch.no_grad():
            return float((model(x, device=device).argmax(1) == y).float().mean())

    assert rows[0]["accuracy"] == pytest.approx(by_hand())
    assert rows[1]["accuracy"] == pytest.approx(by_hand(device_a(model, m)))
    fabrication = get_platform("mzi").fabrication(BLOCK)
    chip = sample_device(model, "mzi", 101, fabrication)
    assert rows[3]["accuracy"] == pytest.approx(by_hand(chip))
    lam = top_eigenvalue(model, splits.train_x[:16], splits.train_y[:16],
                         torch.Generator().manual_seed(0), 1e-3, 100)
    assert all(r["lambda_max"] == pytest.approx(lam.value) for r in rows)


def test_fresh_chips_never_include_device_a(synthetic_cache):
    model = get_platform("mzi").build_model(BLOCK).eval()
    with pytest.raises(ValueError, match="device A"):
        rho_sweep_rows([(model, meta("bp", {}))], load_splits(synthetic_cache),
                       {"devices": 3, "first_seed": 6}, tolerance=1e-3, max_hvps=10,
                       sharpness_images=4)
