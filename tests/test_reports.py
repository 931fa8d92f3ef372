"""The statistics behind every headline number (pnnsat.reports): intervals over training seeds,
and the seeds a ±5-point interval would need — checked against hand computations."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from pnnsat.plotting import t975
from pnnsat.reports import drift_accuracy, hardware_accuracy, seeds_for, seeds_text


def rows(family: str, values: dict[int, list[float]], target: str) -> pd.DataFrame:
    return pd.DataFrame([{"platform": "mrr", "method": "sat", "seed": seed, "target": target,
                          "accuracy": a, "family": family}
                         for seed, accs in values.items() for a in accs])


def test_offline_interval_is_over_seed_means_of_device_a_and_fresh_chips():
    device_a = rows("in silico", {0: [0.80], 1: [0.90]}, "device")
    fresh = rows("in silico", {0: [0.70, 0.60], 1: [0.80, 0.70]}, "fresh")
    (h,) = hardware_accuracy(device_a, fresh).itertuples()
    # seed means 70 and 80 %: the 6 chips of 2 models are 2 samples of the method, not 6
    assert h.pct == pytest.approx(75.0)
    assert h.sd == pytest.approx(math.sqrt(50.0))
    assert h.ci95 == pytest.approx(t975(1) * math.sqrt(50.0) / math.sqrt(2))
    assert (h.seeds, h.chips, h.n) == (2, 3, 6)


def test_in_situ_interval_is_over_seeds_on_device_a_only():
    device_a = rows("in situ", {0: [0.80], 1: [0.84], 2: [0.88]}, "device")
    fresh = rows("in situ", {0: [0.10], 1: [0.10], 2: [0.10]}, "fresh")  # not its chip
    (h,) = hardware_accuracy(device_a, fresh).itertuples()
    assert h.pct == pytest.approx(84.0)
    assert h.ci95 == pytest.approx(t975(2) * 4.0 / math.sqrt(3))
    assert (h.seeds, h.chips, h.n) == (3, 1, 3)


def test_one_seed_has_no_interval_and_no_seed_count():
    (h,) = hardware_accuracy(rows("in situ", {0: [0.8]}, "device")).itertuples()
    assert h.pct == pytest.approx(80.0)
    assert math.isnan(h.ci95) and math.isnan(h.sd) and math.isnan(h.seeds_for_5)


@pytest.mark.parametrize("sd", [0.5, 3.0, 7.5, 12.2])
def test_seeds_for_is_the_smallest_count_reaching_the_half_width(sd):
    n = int(seeds_for(sd, 5.0))
    assert t975(n - 1) * sd / math.sqrt(n) <= 5.0
    if n > 2:
        assert t975(n - 2) * sd / math.sqrt(n - 1) > 5.0


def test_seeds_for_known_values():
    # sd 7.5 points: 10 seeds give 2.262 * 7.5 / 3.162 = 5.37 > 5, 11 give
    # 2.228 * 7.5 / 3.317 = 5.04, 12 give 2.201 * 7.5 / 3.464 = 4.77
    assert seeds_for(7.5) == 12
    assert seeds_for(0.0) == 2
    assert math.isnan(seeds_for(math.nan))
    assert seeds_for(1e6, most=50) == 51


def test_drift_accuracy_reads_device_a_and_the_fresh_chips_at_that_temperature():
    drift = pd.concat([rows("in silico", {0: [0.8], 1: [0.9]}, "device").assign(delta_T_K=0.0),
                       rows("in silico", {0: [0.4], 1: [0.5]}, "device").assign(delta_T_K=2.0)])
    fresh = pd.concat([rows("in silico", {0: [0.2], 1: [0.3]}, "fresh")
                       .assign(axis="delta_T_K", value=2.0),
                       rows("in silico", {0: [0.9], 1: [0.9]}, "fresh")
                       .assign(axis="nominal", value=0.0)])
    (h,) = drift_accuracy(drift, fresh, 2.0).itertuples()
    assert h.pct == pytest.approx(35.0) and (h.seeds, h.chips) == (2, 2)  # means 30 and 40
    assert seeds_text(h.seeds_for_5) == f"{seeds_for(h.sd):.0f}" and seeds_text(math.nan) == "–"


def test_yield_is_the_passing_fraction_with_an_interval_over_seeds():
    from pnnsat.reports import yield_curves

    # seed 0 passes 2 of 2 chips, seed 1 one of 2, seed 2 none: yield 3/6, per seed 1, 0.5, 0
    rows = [{"platform": "mrr", "method": "sat", "seed": s, "device_seed": c,
             "sigma_resonance_sigma_nm": 0.08, "accuracy": a}
            for s, accs in enumerate([(0.9, 0.85), (0.9, 0.5), (0.4, 0.3)])
            for c, a in enumerate(accs)]
    curves = yield_curves(pd.DataFrame(rows), {"mrr": 80})
    row = curves.iloc[0]
    assert (row["yield"], row.n) == (0.5, 6)
    assert row.ci95 == pytest.approx(t975(2) * 0.5 / 3**0.5)  # t(2) · sd of (1, .5, 0) / √3
