"""The Snakemake DAG: config errors stop it before any work; the quick run's tables are complete."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import REPO

from pnnsat.config import load_config
from pnnsat.evaluation import TABLES
from pnnsat.platforms import get_platform

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
QUICK = load_config("config/quick.yaml")


def snakemake(*args):
    return subprocess.run([*SNAKEMAKE, *args], capture_output=True, text=True, cwd=REPO)


def test_a_checked_config_is_planned_without_importing_torch():
    """The config checks (schema, method blocks, sweeps, ablations: jsonschema and torch, seconds)
    run once per config and library version; a second parse of the same config must not need
    torch at all (a cluster job parses the Snakefile twice)."""
    assert snakemake("-n", "--forceall", "--quiet", "rules").returncode == 0  # checks, stamp
    no_torch = ("import sys; sys.modules['torch'] = None; sys.modules['jsonschema'] = None; "
                "from snakemake.cli import main; "
                "sys.argv = ['snakemake', '-n', '--forceall', '--quiet', 'rules']; main()")
    result = subprocess.run([sys.executable, "-c", no_torch], capture_output=True, text=True,
                            cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]


def test_full_dag_plans_one_training_job_per_platform_and_method():
    result = snakemake("-n", "--forceall", "--quiet", "rules")
    assert result.returncode == 0, result.stderr
    full = load_config()
    n_runs = len(full["platforms"]) * len(full["methods"])  # each job: every seed
    counts = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    # one evaluate job per (platform, method) writes every table; one gather per table
    assert counts["train"] == n_runs and counts["evaluate"] == n_runs
    assert counts["gather"] == len(TABLES)
    assert counts["figure"] == len(full["figures"])
    # figS1: every swept rho but the configured one (the main sat run) is trained per seed
    sweep = full["rho_sweep"]
    extra = sum(r != full["platforms"][p]["sat"]["rho"] for p in sweep["platforms"]
                for r in sweep["rho"])
    assert counts["train_rho"] == extra


def test_bad_config_stops_the_dag_before_any_work(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"methods": ["bp", "telepathy"], "results_dir": str(tmp_path)}))
    result = snakemake("-n", "--configfile", str(bad))
    assert result.returncode != 0
    assert "telepathy" in result.stderr + result.stdout
    assert not any(Path(tmp_path).glob("models"))


def test_method_options_that_do_not_fit_the_platform_stop_the_dag(tmp_path):
    """Schema-valid but wrong for the platform: MZIs have no 'tilt_deg' perturbation."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"results_dir": str(tmp_path), "platforms": {"mzi": {
        "sat": {"rho": 0.3, "perturbation_ascent": {"tilt_deg": 1.0}}}}}))
    result = snakemake("-n", "--configfile", str(bad))
    assert result.returncode != 0
    output = result.stderr + result.stdout
    assert "platforms.mzi.sat" in output and "tilt_deg" in output
    assert not any(Path(tmp_path).glob("models"))


def quick_table(name: str) -> pd.DataFrame:
    path = REPO / QUICK["results_dir"] / "tables" / f"{name}.csv"
    if not path.is_file():
        pytest.fail(f"{path} missing: run the quick DAG first (`make test` does)")
    return pd.read_csv(path)


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


def planned_jobs(*args: str) -> dict[str, int]:
    """Rule -> job count of a forced dry run (Snakemake's `--quiet rules` summary table)."""
    result = snakemake("-n", "--forceall", "--quiet", "rules", *args)
    assert result.returncode == 0, result.stderr
    counts = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0] not in ("job", "total"):
            counts[parts[0]] = int(parts[1])
    return counts


def test_paper_config_is_valid_and_plans_the_same_dag():
    """config/paper.yaml (GPU, MNIST, 128x128 grid) validates and plans the same jobs, rule by
    rule, as the default full run: it changes settings, never the DAG's shape."""
    paper = load_config("config/paper.yaml")
    assert paper["dataset"] == "mnist" and paper["platforms"]["d2nn"]["physics"]["grid"] == 128
    full = planned_jobs()
    assert full["train"] == len(load_config()["platforms"]) * len(load_config()["methods"])
    assert planned_jobs("--configfile", "config/paper.yaml") == full


def test_quick_cross_device_table_covers_grid_and_devices():
    from pnnsat.cross_device import grid_points

    table = quick_table("cross_device")
    for platform, block in QUICK["platforms"].items():
        spec = block["cross_device"]
        rows = table[table.platform == platform]
        expected = len(grid_points(spec["grid"])) * spec["devices"]
        assert len(rows) == expected * len(QUICK["methods"]) * len(QUICK["seeds"]), platform
        assert not (rows.device_seed == block["device"]["seed"]).any()  # never device A
    assert set(table.target) == {"fresh"}  # the chips vocabulary (pnnsat.chips.TARGETS)
    assert table.accuracy.between(0, 1).all()


def test_quick_sharpness_tables_cover_every_model():
    import numpy as np

    sharp = quick_table("sharpness")
    assert len(sharp) == len(QUICK["platforms"]) * len(QUICK["methods"]) * len(QUICK["seeds"])
    assert np.isfinite(sharp[["lambda_max", "hessian_trace"]]).all().all()
    land = quick_table("landscape")
    steps = QUICK["sharpness"]["steps"]
    assert (land.groupby(["platform", "method"]).size() == steps * steps).all()


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


def test_rho_sweep_on_an_unknown_platform_stops_the_dag(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"results_dir": str(tmp_path),
                                   "rho_sweep": {"platforms": ["quantum"], "rho": [0.1]}}))
    result = snakemake("-n", "--configfile", str(bad))
    assert result.returncode != 0
    assert "quantum" in result.stderr + result.stdout


@pytest.mark.skipif(not (REPO / "results/quick/tables/training.csv").is_file(),
                    reason="needs the quick run (make test runs it first)")
def test_changing_the_numerics_level_retrains(monkeypatch):
    """The level (pnnsat.numerics) is a training parameter: the quick run, done at the default
    level, is up to date at that level and planned again from training at another."""
    import os

    from pnnsat.numerics import DEFAULT_LEVEL

    def planned_training_jobs(level):
        env = {**os.environ, "PNNSAT_NUMERICS": level}
        result = subprocess.run([*SNAKEMAKE, "-n", "--workflow-profile", "profiles/quick",
                                 "--quiet", "rules"], capture_output=True, text=True, cwd=REPO,
                                env=env)
        assert result.returncode == 0, result.stderr
        rows = [line.split() for line in result.stdout.splitlines()]
        return sum(int(r[1]) for r in rows if len(r) == 2 and r[0] in ("train", "train_rho"))

    assert planned_training_jobs(DEFAULT_LEVEL) == 0
    runs = len(QUICK["platforms"]) * len(QUICK["methods"])
    assert planned_training_jobs("baseline") >= runs


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
