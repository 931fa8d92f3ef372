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

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
QUICK = load_config("config/quick.yaml")


def snakemake(*args):
    return subprocess.run([*SNAKEMAKE, *args], capture_output=True, text=True, cwd=REPO)


def test_full_dag_plans_one_training_job_per_platform_method_seed():
    result = snakemake("-n", "--forceall", "--quiet", "rules")
    assert result.returncode == 0, result.stderr
    full = load_config()
    n_runs = len(full["platforms"]) * len(full["methods"]) * len(full["seeds"])
    counts = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    per_model_tables = sum(
        len(full["methods"]) * len(full["seeds"])
        for block in full["platforms"].values() for key in ("thermal_drift_K", "alignment")
        if key in block)
    assert counts["train"] == n_runs and counts["evaluate"] == per_model_tables
    assert counts["figure"] == len(full["figures"])


def test_bad_config_stops_the_dag_before_any_work(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"methods": ["bp", "telepathy"], "results_dir": str(tmp_path)}))
    result = snakemake("-n", "--configfile", str(bad))
    assert result.returncode != 0
    assert "telepathy" in result.stderr + result.stdout
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
    assert table.accuracy.between(0, 1).all() and (table.n_test == 10000).all()
    keys = ["platform", "method", "seed", "target", "delta_T_K"]
    assert not table.duplicated(keys).any()
    nominal = table[(table.delta_T_K == 0) & (table.target == "twin")]
    assert (nominal.accuracy > 0.2).all()  # every quick model is well above chance (0.1)
    for ext in ("pdf", "png"):
        assert (REPO / QUICK["figures_dir"] / f"fig4_thermal_drift.{ext}").stat().st_size > 1000


def test_quick_alignment_table_covers_every_configured_sweep():
    table = quick_table("alignment")
    for platform, block in QUICK["platforms"].items():
        sweeps = block.get("alignment", {})
        rows = table[table.platform == platform]
        n_points = sum(len(v) for v in sweeps.values())
        assert len(rows) == n_points * len(QUICK["methods"]) * len(QUICK["seeds"]), platform
        assert set(rows.axis) == set(sweeps)
    assert (table.target == "device").all() and table.accuracy.between(0, 1).all()
