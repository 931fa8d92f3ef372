"""The Snakemake DAG: config errors stop it before any work; the quick run's tables are complete."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO

from pnnsat.config import load_config
from pnnsat.evaluation import TABLES

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


def planned_jobs(*args: str) -> dict[str, int]:
    """Rule -> job count of a forced dry run (Snakemake's `--quiet rules` summary table)."""
    return planned_jobs_of("--forceall", *args)


def planned_jobs_of(*args: str) -> dict[str, int]:
    """Rule -> job count of a dry run with ``args``."""
    result = snakemake("-n", "--quiet", "rules", *args)
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




@pytest.mark.skipif(not (REPO / "results/quick/tables/training.csv").is_file(),
                    reason="needs the quick run (make test runs it first)")
def test_a_deleted_model_is_retrained_by_the_plain_rerun():
    """A model removed from a finished run (say, found unreadable) is planned again by the
    documented command, without --forcerun: `all` lists every model and per-model table.
    (In this file: pytest-xdist's loadfile keeps it apart from the other quick-run dry runs.)"""
    model = REPO / "results/quick/models/mrr/bp/seed1.pt"
    aside = model.with_name("seed1.pt.aside")
    os.replace(model, aside)
    try:
        result = subprocess.run([*SNAKEMAKE, "-n", "--workflow-profile", "profiles/quick"],
                                capture_output=True, text=True, cwd=REPO)
    finally:
        os.replace(aside, model)
    assert result.returncode == 0, result.stderr
    assert "Missing output files: results/quick/models/mrr/bp/seed1.pt" in result.stdout
    assert "rule train:" in result.stdout or "localrule train:" in result.stdout


@pytest.mark.skipif(not (REPO / "results/quick/tables/training.csv").is_file(),
                    reason="needs the quick run (make test runs it first)")
def test_a_methods_new_colour_redraws_the_figures_that_draw_it_and_nothing_else():
    """A method's colour lives in one catalog row (src/pnnsat/catalog.py, edited here and
    restored): the figures that draw that method are replanned (their `rows` param changed),
    no other figure, and no training or evaluation (the catalog is no job's code input)."""
    from pnnsat.catalog import METHODS, figure_selection

    path = REPO / "src/pnnsat/catalog.py"
    text, before = path.read_bytes(), path.stat()
    old = f'"{METHODS["nat"].colour}"'.encode()
    assert text.count(old) == 1
    path.write_bytes(text.replace(old, b'"#123456"'))
    try:
        result = snakemake("-n", "--workflow-profile", "profiles/quick")
    finally:
        path.write_bytes(text)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert result.returncode == 0, result.stderr[-2000:]
    planned = set(re.findall(r"wildcards: fig=(\w+)", result.stdout))
    drawing_nat = {f for f in QUICK["figures"] if "nat" in figure_selection(f, QUICK)["methods"]}
    assert planned == drawing_nat and "figS2_mrr_training" not in planned, planned
    assert not re.search(r"^rule (train|evaluate)\w*:", result.stdout, re.M), result.stdout


def test_every_figure_job_injects_only_parameters_its_notebook_declares():
    """papermill adds an undeclared name as a new variable: the published notebook would then
    differ from what Run All on the source draws (figS1 was injected `methods`, unused)."""
    import nbformat

    from pnnsat.published import declared_parameters, parameters

    result = snakemake("-n", "--forceall", "-p")
    assert result.returncode == 0, result.stderr
    injected = dict(re.findall(r"papermill notebooks/(\w+)\.ipynb \S+ .*?-y '(\{.*?\})'",
                               result.stdout + result.stderr))
    assert set(injected) == set(load_config()["figures"])
    for fig, values in injected.items():
        source = REPO / "notebooks" / f"{fig}.ipynb"
        declared = parameters(nbformat.read(source, as_version=4))
        assert declared_parameters(source) == declared  # the Snakefile's reader agrees
        names = set(yaml.safe_load(values))
        assert names <= set(declared), (fig, names - set(declared))
        assert {"results_dir", "figures_dir"} <= names, fig
