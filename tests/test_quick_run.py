"""The quick run as an end-to-end smoke test, checked by properties that hold on any CPU.

`make test` runs the quick DAG first (every job, every notebook) and then these tests on its
tables (``PNNSAT_QUICK_RUN=results/quick``: a missing run fails). Its numbers are never compared
with digits written on another machine: two CPUs may round a kernel differently, and training
grows a last-bit difference into points of accuracy. What must hold everywhere: every job wrote
its rows, every model learned, a chip without errors computes as the twin, one measurement
computed by two routes agrees, and counts follow from the configuration.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO

from pnnsat.config import load_config
from pnnsat.platforms import get_platform

QUICK = load_config("config/quick.yaml")
RUN = os.environ.get("PNNSAT_QUICK_RUN")
TABLES = REPO / (RUN or QUICK["results_dir"]) / "tables"
if RUN is None and not TABLES.is_dir():
    pytest.skip(f"no quick run in {TABLES.parent} (run `make quick`; `make test` runs it)",
                allow_module_level=True)
MODELS = [(p, m, s) for p in QUICK["platforms"] for m in QUICK["methods"] for s in QUICK["seeds"]]


def quick_table(name: str) -> pd.DataFrame:
    path = TABLES / f"{name}.csv"
    assert path.is_file(), f"the quick run did not write {path}"
    return pd.read_csv(path)


def keys(frame: pd.DataFrame) -> set[tuple]:
    return set(frame[["platform", "method", "seed"]].itertuples(index=False, name=None))


@pytest.mark.parametrize("name", ["training", "curves", "thermal_drift", "cross_device",
                                  "fresh_chips", "alignment", "sharpness"])
def test_every_model_has_its_rows(name):
    assert keys(quick_table(name)) == set(MODELS)


def test_every_model_learned():
    """Above chance on what it trained on (the pipeline's own test, pnnsat.accuracy), and well
    above it: a quick model that stays at chance is a broken pipeline, not noise."""
    training = quick_table("training")
    assert training.learned.all(), training[~training.learned]
    assert (training.val_accuracy_target > 0.3).all(), training


def test_accuracies_are_fractions_of_the_test_images():
    subset = QUICK["data"]["test_subset"]
    for name in ["thermal_drift", "cross_device", "fresh_chips", "alignment"]:
        frame = quick_table(name)
        assert (frame.n_test == subset).all(), name
        counts = frame.accuracy * subset
        assert np.allclose(counts, counts.round(), atol=1e-6), f"{name}: not k / {subset}"
        assert frame.accuracy.between(0, 1).all(), name


def test_an_unperturbed_device_a_scores_the_same_by_every_route():
    """Device A at ΔT = 0 (thermal_drift), with zero misalignment (alignment) and the first point
    of each sweep: one measurement, computed by different tables, must agree exactly."""
    drift = quick_table("thermal_drift")
    at_rest = drift[(drift.target == "device") & (drift.delta_T_K == 0)]
    alignment = quick_table("alignment")
    zero = alignment[(alignment.target == "device") & (alignment.value == 0)]
    if zero.empty:
        pytest.skip("the quick alignment sweeps have no zero point")
    merged = zero.merge(at_rest, on=["platform", "method", "seed"], suffixes=("", "_drift"))
    assert len(merged) and (merged.accuracy == merged.accuracy_drift).all()


#: a chip's systematic errors that the cross-device grid does not sweep (they stay at device A's
#: value on every fresh chip); where they are zero, a chip at σ = 0 has no error left at ΔT = 0
UNSWEPT_ERRORS = {"mrr": ["crosstalk_kappa"], "mzi": ["crosstalk_kappa"],
                  "d2nn": ["axial_sigma_um", "crosstalk"]}


def test_an_error_free_chip_equals_the_twin():
    """A fresh chip drawn at σ = 0 on every fabrication axis of the cross-device grid, on a
    platform whose other static errors are zero too, computes exactly as the twin at ΔT = 0."""
    cross, drift = quick_table("cross_device"), quick_table("thermal_drift")
    twin = drift[(drift.target == "twin") & (drift.delta_T_K == 0)]
    checked = 0
    for platform, block in QUICK["platforms"].items():
        if any(block["device"].get(name, 0) for name in UNSWEPT_ERRORS[platform]):
            continue
        axes = [f"sigma_{a}" for a in block["cross_device"]["grid"]]
        rows = cross[cross.platform == platform]
        zero = rows[(rows[axes].fillna(-1) == 0).all(axis=1)]
        merged = zero.merge(twin, on=["platform", "method", "seed"], suffixes=("", "_twin"))
        assert (merged.accuracy == merged.accuracy_twin).all(), merged
        checked += len(merged)
    assert checked, "no error-free chip in the quick cross-device grids (the MZI's has one)"


def test_sharpness_and_landscape_are_finite():
    sharpness, landscape = quick_table("sharpness"), quick_table("landscape")
    assert np.isfinite(sharpness[["lambda_max", "hessian_trace"]]).all().all()
    # lambda_max is the converged top eigenvalue: its residual within the configured tolerance
    # (ARPACK's criterion is on the Ritz estimate: allow a factor of 10)
    assert sharpness.lambda_converged.all()
    assert (sharpness.lambda_residual <= 10 * QUICK["sharpness"]["tolerance"]).all()
    assert np.isfinite(landscape.loss).all() and (landscape.loss >= 0).all()
    steps = QUICK["sharpness"]["steps"]
    assert (landscape.groupby(["platform", "method", "seed"]).size() == steps * steps).all()


def test_ring_detunings_count_every_ring_once():
    rings = quick_table("ring_detuning")
    assert keys(rings) == {k for k in MODELS if k[0] == "mrr"}
    per_model = rings.groupby(["method", "seed"]).rings.sum()
    assert per_model.nunique() == 1 and per_model.iloc[0] == 120 * 84 + 84 * 10  # LeNet's banks
    assert (rings.steep_rings <= rings.rings).all()


def test_multitask_tables_are_complete():
    tasks = quick_table("multitask")
    mt = QUICK["multitask"]
    models = tasks[tasks.method != "data"]
    assert set(models.method) == set(mt["methods"])
    assert set(models.delta_T_K) == set(mt["delta_T_K"])
    assert (models[models.metric == "mse"].value.between(0, 1)).all()
    examples = quick_table("multitask_examples")
    pixels = examples.pixels.str.split()
    assert (pixels.str.len() == 28 * 28).all()
    assert all(0 <= int(v) <= 255 for row in pixels for v in row)
    shown = examples[examples.method != "data"]
    assert set(shown.delta_T_K) == set(mt["examples_K"])


def test_every_figure_was_drawn():
    figures = Path(REPO / QUICK["figures_dir"])
    for name in QUICK["figures"]:
        for ext in ("png", "pdf"):
            assert (figures / f"{name}.{ext}").stat().st_size > 1000, name
        assert (figures / "notebooks" / f"{name}.ipynb").is_file(), name


def test_quick_thermal_drift_table_is_complete_and_sane():
    table = quick_table("thermal_drift")
    grid = {p: QUICK["platforms"][p]["thermal_drift_K"] for p in QUICK["platforms"]}
    expected = sum(len(g) for g in grid.values()) * len(QUICK["methods"]) * len(QUICK["seeds"]) * 2
    assert len(table) == expected
    assert table.accuracy.between(0, 1).all()
    assert (table.n_test == QUICK["data"]["test_subset"]).all()
    keys = ["platform", "method", "seed", "target", "delta_T_K"]
    assert not table.duplicated(keys).any()
    nominal = table[(table.delta_T_K == 0) & (table.target == "twin") & (table.method == "bp")]
    assert (nominal.accuracy > 0.2).all()  # bp learns well above chance (0.1) even in quick
    # (not every method does in 2 quick epochs: nat on the 64-mode MZI mesh stays near chance)
    for ext in ("pdf", "png"):
        assert (REPO / QUICK["figures_dir"] / f"fig4_thermal_drift.{ext}").stat().st_size > 1000


def test_quick_alignment_table_covers_every_configured_sweep():
    table = quick_table("alignment")
    for platform, block in QUICK["platforms"].items():
        sweeps = block.get("alignment", {})
        rows = table[table.platform == platform]
        n_points = sum(len(v) for v in sweeps.values())
        # every point on the twin (the authors' protocol) and on device A (ours)
        assert len(rows) == 2 * n_points * len(QUICK["methods"]) * len(QUICK["seeds"]), platform
        assert set(rows.axis) == set(sweeps)
    assert set(table.target) == {"twin", "device"} and table.accuracy.between(0, 1).all()


#: forward passes on the device per sample and step (pnnsat.methods), in silico methods: none
DEVICE_PASSES = {"pat": 1, "dat": 1, "sat_pat": 2}


def test_quick_training_table_counts_device_queries_exactly():
    """Queries = (training samples × device forward passes + validation samples) × physical
    layers × epochs run, for every in situ run; none in silico."""
    table = quick_table("training")
    assert len(table) == len(QUICK["platforms"]) * len(QUICK["methods"]) * len(QUICK["seeds"])
    assert (table.wall_time_s > 0).all()
    n_train, n_val = QUICK["data"]["train_subset"], QUICK["data"]["validation_subset"]
    for row in table.itertuples():
        block = QUICK["platforms"][row.platform]
        layers = len(get_platform(row.platform).build_model(block).physical_layers())
        passes = DEVICE_PASSES.get(row.method, 0)
        per_epoch = (n_train * passes + n_val) * layers if passes else 0
        assert row.device_queries == per_epoch * row.epochs, row
        assert row.family == ("in situ" if passes else "in silico")


def test_quick_cross_device_table_covers_grid_and_devices():
    from pnnsat.cross_device import grid_points

    table = quick_table("cross_device")
    for platform, block in QUICK["platforms"].items():
        spec = block["cross_device"]
        rows = table[table.platform == platform]
        expected = len(grid_points(spec["grid"])) * spec["devices"]
        assert len(rows) == expected * len(QUICK["methods"]) * len(QUICK["seeds"]), platform
        assert not (rows.device_seed == block["device"]["seed"]).any()  # never device A
    assert set(table.target) == {"fresh"}  # the chips vocabulary (pnnsat.chips)
    assert table.accuracy.between(0, 1).all()


def test_quick_rho_sweep_table_has_every_rho_seed_and_target():
    """figS1: bp (ρ = 0) and sat at every swept ρ, each seed, on twin, device A and K fresh chips;
    the configured ρ is the main sat run (same λmax as the sharpness table)."""
    table = quick_table("rho_sweep")
    sweep, seeds = QUICK["rho_sweep"], QUICK["seeds"]
    for platform in sweep["platforms"]:
        rows = table[table.platform == platform]
        k = QUICK["platforms"][platform]["cross_device"]["devices"]
        assert sorted(rows.rho.unique()) == sorted([0.0, *sweep["rho"]])
        per_model = rows.groupby(["rho", "seed"]).target.value_counts().unstack()
        assert len(per_model) == (len(sweep["rho"]) + 1) * len(seeds)
        assert (per_model.twin == 1).all() and (per_model.device == 1).all()
        assert (per_model.fresh == k).all()
        rho = QUICK["platforms"][platform]["sat"]["rho"]
        sharp = quick_table("sharpness").set_index(["platform", "method", "seed"]).lambda_max
        main = rows[(rows.method == "sat") & (rows.rho == rho) & (rows.target == "twin")]
        for r in main.itertuples():
            assert r.lambda_max == pytest.approx(sharp[(platform, "sat", r.seed)], rel=1e-4)
    assert table.accuracy.between(0, 1).all()


def test_quick_fresh_chip_table_covers_every_chip_and_condition():
    table = quick_table("fresh_chips")
    for platform, block in QUICK["platforms"].items():
        spec = block["fresh_chips"]
        points = 1 + sum(len(v) for v in (spec.get("perturbations") or {}).values())
        rows = table[table.platform == platform]
        assert len(rows) == spec["devices"] * points * len(QUICK["methods"]) * len(QUICK["seeds"])
        assert set(rows.device_seed) == set(range(spec["first_seed"],
                                                  spec["first_seed"] + spec["devices"]))


def test_quick_ablation_tables_name_every_ablation_and_its_methods():
    training = quick_table("ablation_training")
    for name, spec in QUICK["ablations"].items():
        rows = training[training.ablation == name]
        assert set(rows.method) == set(spec["methods"]) and set(rows.platform) == {spec["platform"]}
        assert len(rows) == len(spec["methods"]) * len(QUICK["seeds"])
    drift = quick_table("ablation_thermal_drift")
    assert set(drift.ablation) == set(QUICK["ablations"])



def test_the_ladder_has_every_rung_of_every_model_and_its_first_rungs_agree_with_the_tables():
    """figS6: every headline's models (the matrix's and its ablations') on every rung; the rungs
    that change nothing but the target read what the evaluation tables read for the same model
    and conditions (scored in other batches: the same accuracy up to one image in a near tie)."""
    ladder = quick_table("ladder")
    drift, fresh, alignment = (quick_table(t) for t in ("thermal_drift", "fresh_chips",
                                                       "alignment"))
    n = QUICK["data"]["test_subset"]
    compared = 0
    for name, spec in QUICK["ladder"]["headlines"].items():
        rows = ladder[ladder.headline == name]
        lines = {("main", m) for m in spec["methods"]} | {
            (a, m) for a in spec.get("ablations") or [] for m in QUICK["ablations"][a]["methods"]}
        assert set(zip(rows.ablation, rows.method, strict=True)) == lines, name
        assert list(dict.fromkeys(rows.sort_values("order").rung)) == \
            [r["name"] for r in spec["rungs"]]
        assert (rows.n_test == n).all() and rows[rows.ablation == "main"].learned.all()
        main = rows[rows.ablation == "main"]
        fields = dict(spec["perturbation"])
        # the same measurement in the evaluation tables: (ladder rung, target) -> rows there
        if not fields or list(fields) == ["delta_T_K"]:
            dT = float(fields.get("delta_T_K", 0.0))
            there = drift[(drift.platform == spec["platform"]) & np.isclose(drift.delta_T_K, dT)]
        else:
            (axis, value), = fields.items()
            there = alignment[(alignment.platform == spec["platform"]) & (alignment.axis == axis)
                              & np.isclose(alignment.value, value)]
        for rung, target in (("ours", "device"), ("twin", "twin")):
            mine = main[(main.rung == rung) & (main.target == target)].set_index(
                ["method", "seed"]).accuracy
            theirs = there[there.target == target].set_index(["method", "seed"]).accuracy
            if mine.empty or theirs.empty:
                continue
            assert np.allclose(mine, theirs.reindex(mine.index), atol=1.5 / n), (name, rung)
            compared += 1
    assert compared >= 4  # MRR at 2 K (device A, twin), MZI device A, D2NN at 1° (device A, twin)


def test_the_precision_sweep_has_every_point_and_its_exact_chip_is_the_evaluation_tables():
    """figS7: every model of a platform with a DAC on device A and the fresh chips at every
    resolution and photon budget; its exact points read what thermal_drift.csv (ΔT = 0) and
    fresh_chips.csv (nominal) read for the same chips and images."""
    table, drift, fresh = (quick_table(t) for t in ("precision", "thermal_drift", "fresh_chips"))
    spec = QUICK["precision"]
    platforms = [p for p in QUICK["platforms"] if p in spec["controls"]]
    assert keys(table) == {k for k in MODELS if k[0] in platforms}
    points = 1 + len(spec["bits"]) + len(spec["photons"])
    assert len(table) == len(keys(table)) * (1 + spec["fresh_chips"]) * points
    n = min(spec["test_images"], QUICK["data"]["test_subset"])
    assert (table.n_test == n).all() and table.accuracy.between(0, 1).all()
    if n != QUICK["data"]["test_subset"]:
        return
    exact = table[table.axis == "exact"]
    on_a = exact[exact.target == "device"].set_index(["platform", "method", "seed"]).accuracy
    there = drift[(drift.target == "device") & (drift.delta_T_K == 0.0)].set_index(
        ["platform", "method", "seed"]).accuracy
    assert np.allclose(on_a, there.reindex(on_a.index), atol=1.5 / n)
    mine = exact[exact.target == "fresh"].set_index(
        ["platform", "method", "seed", "device_seed"]).accuracy
    theirs = fresh[fresh.axis == "nominal"].set_index(
        ["platform", "method", "seed", "device_seed"]).accuracy.reindex(mine.index)
    both = theirs.notna()  # a platform's fresh_chips may hold fewer chips than the sweep uses
    assert both.sum() >= len(keys(table)) and np.allclose(mine[both], theirs[both], atol=1.5 / n)
