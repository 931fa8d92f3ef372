"""What a user sees for bad input on the command line: one clear line, exit code 2, no file."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
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
                 "--out", str(out), "--fresh", "{devices: 3", "--images", "8",
                 "--tolerance", "0.1", "--max-hvps", "4")
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


# In-process (``pnnsat.cli.main``, no interpreter start): more bad input, each one line, no file.

def _trained(cache, folder):
    """A one-epoch MRR model trained on the synthetic cache."""
    from pnnsat.training import TrainSpec, train

    path = folder / "m.pt"
    train(TrainSpec(platform="mrr", method="bp", seed=0, epochs=1, batch_size=64,
                    platform_config={"physics": {}, "device": {"seed": 0}}),
          cache, path, progress=False)
    return path


def _main(capsys, *argv):
    from pnnsat.cli import main

    code = main(list(argv))
    return code, capsys.readouterr().err


def test_model_of_another_code_version_is_named_with_the_fix(synthetic_cache, tmp_path, capsys):
    import torch

    model = _trained(synthetic_cache, tmp_path)
    payload = torch.load(model, weights_only=True)
    payload["state_dict"].pop(next(iter(payload["state_dict"])))  # a layer this code expects
    torch.save(payload, model)
    out = tmp_path / "t" / "training.csv"
    code, err = _main(capsys, "evaluate", "--model", str(model), "--data", str(synthetic_cache),
                      "--sweeps", "{}", "--out", str(out))
    assert code == 2 and "does not fit the mrr model this code builds" in err
    assert f"--forcerun {model}" in err and "Traceback" not in err and not out.exists()


def test_unreadable_later_model_leaves_no_table_of_the_earlier_one(synthetic_cache, tmp_path,
                                                                   capsys):
    model = _trained(synthetic_cache, tmp_path)
    broken = tmp_path / "broken.pt"
    broken.write_bytes(model.read_bytes()[:100])
    first, second = tmp_path / "a" / "training.csv", tmp_path / "b" / "training.csv"
    code, err = _main(capsys, "evaluate", "--model", str(model), str(broken), "--data",
                      str(synthetic_cache), "--sweeps", "{}", "--out", str(first), str(second))
    assert code == 2 and "broken.pt is not a readable pnnsat model" in err
    assert "weights_only" not in err and len(err.strip().splitlines()) == 1
    assert not first.exists() and not second.exists()


def test_relative_data_path_is_read_from_the_working_directory(synthetic_cache, tmp_path, capsys,
                                                               monkeypatch):
    _trained(synthetic_cache, tmp_path)
    monkeypatch.chdir(tmp_path)  # synthetic_cache is tmp_path / "cache.pt"
    code, err = _main(capsys, "evaluate", "--model", "m.pt", "--data", "cache.pt", "--sweeps",
                      "{}", "--out", "out/training.csv")
    assert code == 0, err
    assert (tmp_path / "out" / "training.csv").is_file()


@pytest.mark.parametrize("sweeps, message", [
    ('{"thermal_drift_K": 1}', "give a list of temperature changes in K"),
    ('{"alignment": {"carrier_sigma_nm": 0.1}}', "give a mapping of misalignment axis"),
    ("[0, 1]", "sweeps must be a mapping"),
])
def test_sweeps_of_the_wrong_shape_are_refused_before_any_work(synthetic_cache, tmp_path, capsys,
                                                               sweeps, message):
    out = tmp_path / "thermal_drift.csv"
    code, err = _main(capsys, "evaluate", "--model", str(tmp_path / "none.pt"), "--data",
                      str(synthetic_cache), "--sweeps", sweeps, "--out", str(out))
    assert code == 2 and message in err and not out.exists()


@pytest.mark.parametrize("spec, message", [
    ("[1, 2]", "--spec must be a JSON object"),
    ('{"platform": "mrr", "method": "bp", "seed": 0, "platform_config": []}',
     "check its field names and value types"),
])
def test_spec_of_the_wrong_shape_is_one_line(synthetic_cache, tmp_path, capsys, spec, message):
    code, err = _main(capsys, "train", "--spec", spec, "--data", str(synthetic_cache), "--out",
                      str(tmp_path / "m.pt"))
    assert code == 2 and message in err and not (tmp_path / "m.pt").exists()


def test_landscape_of_methods_not_among_the_models_is_refused(synthetic_cache, tmp_path, capsys):
    model = _trained(synthetic_cache, tmp_path)
    out, land = tmp_path / "s.csv", tmp_path / "l.csv"
    code, err = _main(capsys, "sharpness", "--models", str(model), "--data", str(synthetic_cache),
                      "--out", str(out), "--landscape-out", str(land), "--images", "8",
                      "--tolerance", "0.1", "--max-hvps", "4", "--samples", "1", "--span", "1",
                      "--steps", "3",
                      "--landscape-methods", "pb")
    assert code == 2 and "--landscape-methods pb: no such model" in err and "methods: bp" in err
    assert not out.exists() and not land.exists()


@pytest.mark.parametrize("option, value, message", [
    ("--span", "nan", "must be a finite number > 0"),
    ("--steps", "1", "must be >= 2"),
])
def test_landscape_grid_is_checked_as_the_config_schema_does(capsys, option, value, message):
    argv = {"--models": "m", "--data": "d", "--out": "o", "--landscape-out": "l", "--images": "8",
            "--tolerance": "0.1", "--max-hvps": "4", "--samples": "1", "--span": "1",
            "--steps": "3", option: value}
    with pytest.raises(SystemExit) as stop:
        _main(capsys, "sharpness", *[x for kv in argv.items() for x in kv])
    assert stop.value.code == 2 and message in capsys.readouterr().err


def test_torch_device_names_are_checked():
    import torch

    from pnnsat.training import resolve_torch_device

    with pytest.raises(ValueError, match="'gpu' is not one of auto, cpu, cuda"):
        resolve_torch_device("gpu")
    assert resolve_torch_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="'cuda:0', but no CUDA device is available"):
            resolve_torch_device("cuda:0")


def test_unreadable_table_is_named_by_gather(tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("\n")
    code, err = _main(capsys, "gather", "--out", str(tmp_path / "all.csv"), str(empty))
    assert code == 2 and "empty.csv cannot be read" in err
    assert not (tmp_path / "all.csv").exists()


def test_config_with_broken_yaml_names_the_line(tmp_path):
    from pnnsat.config import ConfigError, load_config

    bad = tmp_path / "bad.yaml"
    bad.write_text("training: {epochs: 1\n")
    with pytest.raises(ConfigError, match=r"bad.yaml is not valid YAML \(line 2, column 1\)"):
        load_config(bad)
