"""What a user sees for bad input on the command line: one clear line, exit code 2, no file."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO


def run(*args):
    return subprocess.run([sys.executable, "-m", "pnnsat", *args], capture_output=True, text=True,
                          cwd=REPO)


def test_unknown_method_gives_one_clear_line(synthetic_cache, tmp_path):
    spec = {"platform": "mrr", "method": "magic", "seed": 0, "platform_config": {}, "epochs": 1}
    out = tmp_path / "m.pt"
    result = run("train", "--spec", json.dumps(spec), "--data", str(synthetic_cache),
                 "--out", str(out))
    assert result.returncode == 2
    assert "Unknown method 'magic'" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_negative_sigma_gives_one_clear_line(synthetic_cache, tmp_path):
    block = {"physics": {}, "device": {"seed": 0, "resonance_sigma_nm": -1}}
    spec = {"platform": "mrr", "method": "bp", "seed": 0, "platform_config": block, "epochs": 1}
    result = run("train", "--spec", json.dumps(spec), "--data", str(synthetic_cache),
                 "--out", str(tmp_path / "m.pt"))
    assert result.returncode == 2
    assert "resonance_sigma_nm = -1 is negative" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "m.pt").exists()


def test_missing_data_cache_names_the_fix(tmp_path):
    spec = {"platform": "mrr", "method": "bp", "seed": 0, "platform_config": {}, "epochs": 1}
    result = run("train", "--spec", json.dumps(spec), "--data", str(tmp_path / "none.pt"),
                 "--out", str(tmp_path / "m.pt"))
    assert result.returncode == 2 and "snakemake" in result.stderr


def test_rho_sweep_with_bad_fresh_chips_json_names_the_option(synthetic_cache, tmp_path):
    out = tmp_path / "rho.csv"
    result = run("rho-sweep", "--models", str(tmp_path / "m.pt"), "--data", str(synthetic_cache),
                 "--out", str(out), "--fresh", "{devices: 3", "--images", "8", "--iterations", "1")
    assert result.returncode == 2
    assert "--fresh is not valid JSON" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_evaluate_labels_every_row_and_rejects_a_bad_label(synthetic_cache, tmp_path):
    spec = {"platform": "mrr", "method": "bp", "seed": 0, "epochs": 1,
            "platform_config": {"physics": {}, "device": {"seed": 0}}}
    model = tmp_path / "m.pt"
    assert run("train", "--spec", json.dumps(spec), "--data", str(synthetic_cache),
               "--out", str(model)).returncode == 0
    sweeps = json.dumps({"thermal_drift_K": [0.0, 1.0]})
    out = tmp_path / "thermal_drift.csv"
    result = run("evaluate", "--model", str(model), "--data", str(synthetic_cache), "--sweeps",
                 sweeps, "--out", str(out), "--label", "ablation=readout")
    assert result.returncode == 0, result.stderr
    header, *rows = out.read_text().splitlines()
    assert header.startswith("ablation,") and all(r.startswith("readout,") for r in rows)
    bad = run("evaluate", "--model", str(model), "--data", str(synthetic_cache), "--sweeps",
              sweeps, "--out", str(tmp_path / "x" / "thermal_drift.csv"), "--label", "readout")
    assert bad.returncode == 2 and "KEY=VALUE" in bad.stderr and "Traceback" not in bad.stderr


def test_gather_concatenates_sorted_and_never_imports_torch(tmp_path):
    """`pnnsat gather` (one job per table) starts without torch: a second or more saved per job."""
    (tmp_path / "b.csv").write_text("platform,method,seed,accuracy\nmrr,sat,1,0.5\n")
    (tmp_path / "a.csv").write_text("platform,method,seed,accuracy\nmrr,bp,0,0.25\n")
    out = tmp_path / "all.csv"
    code = ("import sys; from pnnsat.cli import main; "
            f"rc = main(['gather', '--out', {str(out)!r}, {str(tmp_path / 'b.csv')!r}, "
            f"{str(tmp_path / 'a.csv')!r}]); print(rc, 'torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO)
    assert result.stdout.split()[-2:] == ["0", "False"], result.stderr
    assert out.read_text().splitlines() == ["platform,method,seed,accuracy", "mrr,bp,0,0.25",
                                            "mrr,sat,1,0.5"]
