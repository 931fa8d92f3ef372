"""Paired comparisons over seeds and the rank correlation with its bootstrap interval."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pnnsat.comparisons import difference_text, paired_difference, spearman
from pnnsat.plotting import t975
from pnnsat.reports import seed_values


def frame(rows):
    return pd.DataFrame(rows, columns=["platform", "method", "seed", "pct"])


def test_paired_difference_is_the_mean_and_t_interval_of_per_seed_differences():
    # b differs from seed to seed by 20 points, a is always 2 points above it: unpaired intervals
    # overlap widely, the paired difference is exactly +2 with no spread
    rows = [("mzi", "b", s, v) for s, v in enumerate([60.0, 80.0, 70.0])]
    rows += [("mzi", "a", s, v + 2) for s, v in enumerate([60.0, 80.0, 70.0])]
    d = paired_difference(frame(rows), "mzi", "a", "b")
    assert (d["diff"], d["ci95"], d["seeds"], d["separated"]) == (2.0, 0.0, 3, True)
    noisy = frame(rows[:3] + [("mzi", "a", 0, 63.0), ("mzi", "a", 1, 80.0),
                              ("mzi", "a", 2, 73.0)])
    d = paired_difference(noisy, "mzi", "a", "b")
    diffs = np.array([3.0, 0.0, 3.0])
    assert d["diff"] == pytest.approx(2.0)
    assert d["ci95"] == pytest.approx(t975(2) * diffs.std(ddof=1) / math.sqrt(3))
    assert d["separated"] is (abs(d["diff"]) > d["ci95"])
    assert "3 seeds" in difference_text(d)


def test_only_seeds_both_methods_have_are_paired_and_a_missing_method_is_named():
    rows = [("mrr", "a", 0, 50.0), ("mrr", "a", 1, 60.0), ("mrr", "b", 1, 55.0)]
    d = paired_difference(frame(rows), "mrr", "a", "b")
    assert d["seeds"] == 1 and d["diff"] == 5.0 and math.isnan(d["ci95"])
    assert not d["separated"]
    with pytest.raises(ValueError, match="'c'"):
        paired_difference(frame(rows), "mrr", "a", "c")


def test_seed_values_average_an_offline_model_over_device_a_and_fresh_chips_only():
    device = pd.DataFrame({"platform": "mrr", "method": ["bp", "pat"], "family":
                           ["in silico", "in situ"], "seed": 0, "accuracy": [0.5, 0.8]})
    fresh = pd.DataFrame({"platform": "mrr", "method": ["bp", "bp", "pat"], "seed": 0,
                          "accuracy": [0.7, 0.9, 0.1]})
    values = seed_values(device, fresh).set_index("method").pct
    assert values["bp"] == pytest.approx(70.0)  # (50 + 70 + 90) / 3
    assert values["pat"] == pytest.approx(80.0)  # device A only: the chip it trained on


def test_spearman_is_one_for_a_monotone_relation_and_its_interval_contains_it():
    x = np.arange(12.0)
    r = spearman(x, x**3 + 1)
    assert r["rho"] == pytest.approx(1.0) and r["low"] <= 1.0 <= r["high"] and r["n"] == 12
    rng = np.random.default_rng(1)
    noise = spearman(rng.normal(size=12), rng.normal(size=12))
    assert noise["low"] < 0 < noise["high"]  # no relation: the interval straddles zero
    assert spearman(x, -x)["rho"] == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="at least 3"):
        spearman([1.0, 2.0], [1.0, 2.0])


def test_the_vectorised_bootstrap_equals_scipys_spearman_on_each_resample():
    from scipy import stats

    rng = np.random.default_rng(4)
    x, y = rng.normal(size=9), rng.integers(0, 4, size=9).astype(float)  # ties in y
    r = spearman(x, y, resamples=200, seed=7)
    picks = np.random.default_rng(7).integers(0, 9, size=(200, 9))
    by_scipy = np.array([stats.spearmanr(x[i], y[i]).statistic for i in picks])
    by_scipy = by_scipy[np.isfinite(by_scipy)]
    low, high = np.percentile(by_scipy, [2.5, 97.5])
    assert (r["low"], r["high"]) == pytest.approx((low, high))
