"""No silent wrong result: diverged or chance-level training, configs that would run the wrong
run or fail late, unreadable checkpoints and models, bad notebook parameters, bad CLI counts.
One test (or more) per case of the reliability issue."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import matplotlib.pyplot as plt
import pandas as pd
import pytest
import torch
from conftest import REPO

import pnnsat.training as training
from pnnsat import plotting
from pnnsat.accuracy import above_chance
from pnnsat.config import ConfigError, load_config
from pnnsat.data import DataError, locate
from pnnsat.evaluation import check_sweeps, training_rows
from pnnsat.model_files import load_model
from pnnsat.reports import ParameterError, check_parameters
from pnnsat.tables import left_out, read_table
from pnnsat.training import TrainingDiverged, TrainSpec, train

BLOCK = {"physics": {}, "device": {"seed": 1, "resonance_sigma_nm": 0.08, "crosstalk_kappa": 0.05}}


def spec(lr=3e-3, epochs=2):
    return TrainSpec(platform="mrr", method="bp", seed=3, platform_config=BLOCK, epochs=epochs,
                     batch_size=64, lr=lr)


def snakemake(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "snakemake", *args], capture_output=True,
                          text=True, cwd=cwd)


# 1. diverged or chance-level training -------------------------------------------------------

def test_non_finite_loss_stops_training_naming_model_epoch_and_step(synthetic_cache, tmp_path,
                                                                    monkeypatch):
    """The loss turns NaN in epoch 2, step 3: training stops there, names it, writes no model
    and keeps epoch 1's checkpoint."""
    real = training.build_method

    def nan_after(name, options):
        method, calls = real(name, options), {"n": 0}
        step = method.step

        def poisoned(*args, **kwargs):
            calls["n"] += 1
            result = step(*args, **kwargs)
            return dataclasses.replace(result, loss=float("nan")) if calls["n"] == 8 + 3 else result

        method.step = poisoned
        return method

    monkeypatch.setattr(training, "build_method", nan_after)
    out = tmp_path / "m.pt"
    with pytest.raises(TrainingDiverged, match=r"mrr/bp/seed3 diverged: loss nan at epoch 2, "
                                               r"step 3.*m\.pt\.partial, epoch 1\) is kept"):
        train(spec(), synthetic_cache, out, progress=False)
    assert not out.exists() and (tmp_path / "m.pt.partial").is_file()


def test_exploding_learning_rate_fails_from_the_cli(synthetic_cache, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "pnnsat", "train", "--spec",
         '{"platform": "mrr", "method": "bp", "seed": 0, "platform_config": {}, "epochs": 1, '
         '"batch_size": 64, "lr": 1e30}', "--data", str(synthetic_cache), "--out",
         str(tmp_path / "m.pt")], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 2 and not (tmp_path / "m.pt").exists()
    assert "diverged: loss" in out.stderr and "Lower training.lr" in out.stderr


def test_above_chance_is_a_binomial_test():
    assert above_chance(0.13, 1000, 10) and not above_chance(0.125, 1000, 10)
    assert not above_chance(0.3, 4, 10)  # 4 images prove nothing
    assert above_chance(0.9, 64, 10)


def test_chance_level_model_is_flagged_and_left_out_of_figures(synthetic_cache, tmp_path,
                                                               capsys):
    meta = train(spec(lr=1e-12, epochs=1), synthetic_cache, tmp_path / "m.pt", progress=False)
    assert meta["learned"] is False and meta["val_accuracy_target"] < 0.3
    assert "WARNING: did not learn" in capsys.readouterr().out
    good = train(spec(), synthetic_cache, tmp_path / "g.pt", progress=False)
    assert good["learned"] is True
    bad_row, good_row = training_rows(meta)[0], training_rows({**good, "seed": 4})[0]
    assert bad_row["learned"] is False and good_row["learned"] is True
    tables = tmp_path / "run/tables"
    tables.mkdir(parents=True)
    pd.DataFrame([bad_row, good_row]).to_csv(tables / "training.csv", index=False)
    pd.DataFrame([{"platform": "mrr", "method": "bp", "seed": s, "target": "device",
                   "delta_T_K": 0.0, "accuracy": 0.5} for s in (3, 4)]).to_csv(
        tables / "thermal_drift.csv", index=False)
    drift = read_table(tmp_path / "run", "thermal_drift")
    # the table's own columns (the learned flag used and dropped), plus the model's family
    assert list(drift.seed) == [4] and list(drift.columns)[-2:] == ["accuracy", "family"]
    assert list(drift.family) == ["in silico"]
    assert "left out of thermal_drift, did not learn: MRR weight bank bp seed 3" in \
        capsys.readouterr().out
    assert left_out(drift) == [f"MRR weight bank bp seed 3 (validation "
                               f"{100 * meta['val_accuracy_target']:.1f} %)"]
    fig = plt.figure()
    plotting.save_figure(fig, "f", tmp_path / "figs", left_out=left_out(drift))
    assert any("did not learn" in t.get_text() and "bp seed 3" in t.get_text()
               for t in fig.texts)
    plt.close(fig)


# 2. a config layered on top must not write the paper figures --------------------------------

def test_extra_config_file_does_not_overwrite_the_paper_figures(tmp_path):
    mine = tmp_path / "my.yaml"
    mine.write_text("training: {epochs: 1}\n")
    result = snakemake("-n", "-j2", "--workflow-profile", "profiles/quick", "--configfile",
                       str(mine))
    assert result.returncode != 0
    said = result.stdout + result.stderr
    assert "would write into figures/" in said and "training.epochs" in said
    layered = snakemake("-n", "-j2", "--quiet", "rules", "--configfile", "config/quick.yaml",
                        str(mine))
    assert layered.returncode == 0, layered.stderr


@pytest.mark.parametrize("setting", ["results_dir: figures", "results_dir: figures/mine",
                                     "figures_dir: figures/../figures/sub",
                                     "{results_dir: results/mine, figures_dir: figures}"])
def test_no_layered_config_writes_into_figures(tmp_path, setting):
    """results_dir or figures_dir at figures/ or inside it: refused before any work, for a config
    layered on the quick run too (nothing but the default full run writes the paper's files)."""
    mine = tmp_path / "my.yaml"
    mine.write_text(setting.strip("{}").replace(", ", "\n") + "\n")
    result = snakemake("-n", "--configfile", "config/quick.yaml", str(mine))
    assert result.returncode != 0
    said = result.stdout + result.stderr
    assert "would write into figures/" in said
    assert not (REPO / "figures/mine").exists() and not (REPO / "figures/sub").exists()


# 3. corrupt gzip (see also test_data) ---------------------------------------------------------

def test_corrupt_deflate_stream_is_named(tmp_path):
    import gzip

    from pnnsat.data import _read_bytes

    raw = bytearray(gzip.compress(bytes(range(256)) * 400))
    raw[len(raw) // 2: len(raw) // 2 + 40] = bytes(40)  # damage the compressed body
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz: corrupt or truncated gzip"):
        _read_bytes(path)


# 4. config errors surface before any work ------------------------------------------------------

@pytest.mark.parametrize("platform,change,message", [
    ("d2nn", {"alignment": {"rotation_dge": [1.0]}}, r"platforms.d2nn.alignment names "
                                                     r"\['rotation_dge'\].*rotation_deg"),
    ("mzi", {"cross_device": {"devices": 2, "first_seed": 10000, "grid": {"phase_sigma": [0.1]}}},
     r"platforms.mzi.cross_device.grid names \['phase_sigma'\].*phase_sigma_rad"),
    ("mrr", {"thermal_drift_K": [1.0, 2.0]}, r"platforms.mrr.thermal_drift_K .* lacks 0.0"),
    ("mrr", {"cross_device": {"devices": 3, "first_seed": 2023, "grid": {}}},
     r"include device A's seed 2024"),
])
def test_evaluation_sweeps_are_checked_before_any_work(platform, change, message):
    block = {**load_config()["platforms"][platform], **change}
    with pytest.raises(ValueError, match=message):
        check_sweeps(platform, block)


def test_misspelt_sweep_stops_the_dry_run(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("platforms: {d2nn: {alignment: {rotation_dge: [1.0]}}}\n")
    result = snakemake("-n", "--configfile", "config/quick.yaml", str(bad))
    assert result.returncode != 0 and "rotation_dge" in result.stdout + result.stderr


def test_every_configured_sweep_passes_the_check():
    for path in ((), ("config/quick.yaml",), ("config/paper.yaml",)):
        config = load_config(*path)
        for platform, block in config["platforms"].items():
            check_sweeps(platform, block)


# 5. a truncated model: the advice works -------------------------------------------------------

def test_truncated_model_message_gives_a_command_that_retrains_it(synthetic_cache, tmp_path):
    train(spec(epochs=1), synthetic_cache, tmp_path / "m.pt", progress=False)
    data = (tmp_path / "m.pt").read_bytes()
    (tmp_path / "m.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(RuntimeError, match=r"snakemake -j4 --forcerun .*m\.pt"):
        load_model(tmp_path / "m.pt")


@pytest.mark.skipif(not (REPO / "results/quick/models/mrr/bp/seed0.pt").is_file(),
                    reason="needs the quick run (make test runs it first)")
def test_forcerun_of_a_model_plans_its_training_and_everything_downstream():
    result = snakemake("-n", "--workflow-profile", "profiles/quick", "--quiet", "rules",
                       "--forcerun", "results/quick/models/mrr/bp/seed0.pt")
    assert result.returncode == 0, result.stderr
    planned = {line.split()[0] for line in result.stdout.splitlines() if len(line.split()) == 2}
    assert {"train", "evaluate", "gather", "figure"} <= planned


# 6. a corrupt resume checkpoint is named and discarded ----------------------------------------

def test_corrupt_checkpoint_is_discarded_and_training_completes(synthetic_cache, tmp_path, capsys):
    (tmp_path / "m.pt.partial").write_bytes(b"not a checkpoint")
    meta = train(spec(epochs=1), synthetic_cache, tmp_path / "m.pt", progress=False)
    assert [h["epoch"] for h in meta["history"]] == [1]
    assert f"discarding unreadable checkpoint {tmp_path / 'm.pt.partial'}" in \
        capsys.readouterr().out
    assert torch.load(tmp_path / "m.pt")["meta"]["epochs"] == 1


# 7. notebook parameters ------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,message", [
    ({"platforms": ["mrr", "quantum"], "methods": ["bp"]}, "unknown \\['quantum'\\]"),
    ({"platforms": "mrr", "methods": ["bp"]}, "give a non-empty list"),
    ({"platforms": ["mrr"], "methods": ["sgd"]}, "methods = \\['sgd'\\]: unknown"),
])
def test_bad_notebook_parameters_are_one_line(kwargs, message, tmp_path):
    (tmp_path / "tables").mkdir()
    with pytest.raises(ParameterError, match=message) as err:
        check_parameters("fig2_offline_vs_online", tmp_path, **kwargs)
    assert len(err.value._render_traceback_()) == 1  # how Jupyter shows it: one line


@pytest.mark.parametrize("bad", ["", None, 3, "afile/figures"])
def test_notebook_figures_dir_is_checked_first(tmp_path, bad):
    (tmp_path / "afile").write_text("a file\n")
    bad = str(tmp_path / bad) if bad == "afile/figures" else bad
    if bad is None:  # not given: not checked
        check_parameters("fig2_offline_vs_online", "figures", ["mrr"], ["bp"], None)
        return
    with pytest.raises(ParameterError,
                       match="figures_dir = .*(give a folder path|is a file, not a directory)"):
        check_parameters("fig2_offline_vs_online", "figures", ["mrr"], ["bp"], bad)


def test_none_parameters_resolve_to_the_catalogs_choice_among_the_tables(tmp_path):
    """platforms = None and methods = None: the figure's catalog selection among the ids the
    tables it reads hold, in catalog order (fig4 never draws the D2NN; figS2 only MRR bp, sat);
    an unknown figure is one line."""
    tables = tmp_path / "tables"
    tables.mkdir()
    rows = [{"platform": p, "method": m, "seed": 0} for p in ("d2nn", "mzi", "mrr")
            for m in ("sat", "nat", "bp")]
    for name in ("thermal_drift", "fresh_chips", "curves"):
        pd.DataFrame(rows).to_csv(tables / f"{name}.csv", index=False)
    assert check_parameters("fig4_thermal_drift", tmp_path) == (["mrr", "mzi"],
                                                                 ["bp", "nat", "sat"])
    assert check_parameters("figS2_mrr_training", tmp_path) == (["mrr"], ["bp", "sat"])
    assert check_parameters("fig4_thermal_drift", tmp_path, methods=["sat"]) == (
        ["mrr", "mzi"], ["sat"])
    with pytest.raises(ParameterError, match="not in pnnsat.catalog.FIGURES"):
        check_parameters("fig99_nothing", tmp_path)


def test_a_quick_run_says_it_is_a_smoke_test_and_the_published_run_does_not(tmp_path, capsys):
    """A notebook on a run that trained on less than the published full run prints a banner
    saying its numbers are not results (the quick run); on the published tables it prints none."""
    from pnnsat.reports import smoke_test_banner

    tables = tmp_path / "tables"
    tables.mkdir()
    pd.DataFrame([{"platform": "mrr", "method": "bp", "seed": s, "n_train": 2000, "epochs": 2,
                   "learned": True} for s in (0, 1)]).to_csv(tables / "training.csv",
                                                             index=False)
    banner = smoke_test_banner(tmp_path)
    assert banner.startswith("SMOKE TEST, NOT RESULTS") and "2,000 images" in banner
    assert "55,000 images" in banner  # the published run's, read from figures/tables
    check_parameters("fig2_offline_vs_online", tmp_path, ["mrr"], ["bp"])
    assert "SMOKE TEST" in capsys.readouterr().out
    assert smoke_test_banner("figures") == ""
    check_parameters("fig2_offline_vs_online", "figures", ["mrr"], ["bp"])
    assert "SMOKE TEST" not in capsys.readouterr().out


def test_notebook_pointed_at_a_missing_run_says_so(tmp_path):
    with pytest.raises(ParameterError, match="has no tables/.*set it to .figures. "):
        check_parameters("fig2_offline_vs_online", tmp_path / "nowhere", ["mrr"], ["bp"])


# 9. minor ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["sharpness", "--images", "0", "--models", "m", "--data", "d", "--out", "o",
     "--landscape-out", "l"],
    ["evaluate", "--model", "m", "--data", "d", "--sweeps", "{}", "--out", "o",
     "--test-subset", "0"],
])
def test_zero_counts_are_refused_by_the_cli(argv):
    out = subprocess.run([sys.executable, "-m", "pnnsat", *argv], capture_output=True, text=True,
                         cwd=REPO)
    assert out.returncode == 2 and "must be >= 1" in out.stderr


def test_empty_config_file_is_named(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing\n")
    with pytest.raises(ConfigError, match="empty.yaml is empty"):
        load_config(empty)


def test_missing_data_message_carries_the_download_error(tmp_path, monkeypatch):
    import urllib.error
    import urllib.request

    def refuse(url, timeout):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.delenv("PNNSAT_OFFLINE", raising=False)
    with pytest.raises(DataError, match="could not be downloaded.*no route to host"):
        locate("mnist", tmp_path)


def test_divergence_in_the_first_epoch_names_no_checkpoint(synthetic_cache, tmp_path,
                                                           monkeypatch):
    """A leftover checkpoint of another spec is not 'the last good checkpoint' of this run."""
    train(spec(epochs=1), synthetic_cache, tmp_path / "m.pt", progress=False, keep_checkpoint=True)
    real = training.build_method

    def nan_first(name, options):
        method = real(name, options)
        step = method.step
        method.step = lambda *a, **k: dataclasses.replace(step(*a, **k), loss=float("inf"))
        return method

    monkeypatch.setattr(training, "build_method", nan_first)
    with pytest.raises(TrainingDiverged) as err:
        train(spec(lr=1e-2, epochs=2), synthetic_cache, tmp_path / "m.pt", progress=False)
    assert "epoch 1, step 1" in str(err.value) and "checkpoint" not in str(err.value)


def test_footnote_names_only_this_figures_models(tmp_path, capsys):
    """The left-out models travel with the tables a figure read (no state shared between
    figures): one figure's footnote never names another's models."""
    tables = tmp_path / "run/tables"
    tables.mkdir(parents=True)
    rows = [{"platform": p, "method": "bp", "seed": 0, "learned": False,
             "val_accuracy_target": 0.1} for p in ("mrr", "mzi")]
    pd.DataFrame(rows).to_csv(tables / "training.csv", index=False)
    pd.DataFrame([{"platform": p, "method": "bp", "seed": 0, "accuracy": 0.1}
                  for p in ("mrr", "mzi")]).to_csv(tables / "thermal_drift.csv", index=False)
    both = read_table(tmp_path / "run", "thermal_drift")  # an earlier figure, both platforms
    mine = read_table(tmp_path / "run", "thermal_drift", ["mrr"], ["bp"])
    assert len(left_out(both)) == 2
    assert left_out(mine) == ["MRR weight bank bp seed 0 (validation 10.0 %)"]
    assert left_out(mine, mine[mine.seed == 0]) == left_out(mine)  # once, also after a filter


def test_a_model_table_without_its_training_table_is_refused(tmp_path):
    """read_table needs training.csv to leave out models that did not learn: without it (a figure
    job started too early, a half-copied run) it stops, naming the file, instead of drawing them."""
    tables = tmp_path / "run/tables"
    tables.mkdir(parents=True)
    pd.DataFrame([{"platform": "mrr", "method": "bp", "seed": 0, "accuracy": 0.1}]).to_csv(
        tables / "thermal_drift.csv", index=False)
    with pytest.raises(FileNotFoundError, match="training.csv does not exist"):
        read_table(tmp_path / "run", "thermal_drift")


def test_a_typo_in_an_ablation_set_is_refused_naming_its_key(tmp_path):
    """An ablation's `set` is merged onto its platform's block and validated like it: a typo no
    longer trains the baseline under the ablation's name (dry run: before any job)."""
    mine = tmp_path / "my.yaml"
    mine.write_text("ablations:\n  authors_optimiser: {platform: mzi, methods: [bp], "
                    "set: {trainig: {lr: 0.1}}}\n")
    result = snakemake("-n", "--configfile", "config/quick.yaml", str(mine))
    assert result.returncode != 0
    said = result.stdout + result.stderr
    assert "ablations.authors_optimiser.set" in said and "'trainig' was unexpected" in said


@pytest.mark.parametrize("setting, key", [("rho_sweep: {platforms: [], rho: [0.3]}",
                                           "rho_sweep.platforms"),
                                          ("ablations: null", "ablations")])
def test_an_empty_list_that_feeds_a_figure_is_refused_at_parse_time(tmp_path, setting, key):
    mine = tmp_path / "my.yaml"
    mine.write_text(setting + "\n")
    result = snakemake("-n", "--configfile", "config/quick.yaml", str(mine))
    assert result.returncode != 0
    assert f"config {key} is empty but figures lists" in result.stdout + result.stderr


def test_results_dir_under_a_regular_file_is_one_line(tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder\n")
    mine = tmp_path / "my.yaml"
    mine.write_text(f"results_dir: {blocker}/run\nfigures_dir: {blocker}/run/figures\n")
    result = snakemake("-n", "--configfile", "config/quick.yaml", str(mine))
    assert result.returncode != 0
    said = result.stdout + result.stderr
    assert f"{blocker} is a file, not a directory" in said and "NotADirectoryError" not in said


@pytest.mark.parametrize("err, expected", [
    (OSError(28, "No space left on device", "/r/tables/x.csv"),
     "/r/tables/x.csv: No space left on device (errno 28)"),
    (NotADirectoryError(20, "Not a directory", "/r/afile/x"), "/r/afile/x: Not a directory"),
    (RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 640 vs 548"),
     "is the disk full?"),
])
def test_io_errors_are_one_line_naming_path_and_reason(err, expected):
    from pnnsat.cli import error_line

    line = error_line(err)
    assert expected in line and "\n" not in line


def test_a_failed_write_in_a_command_is_one_line(tmp_path, monkeypatch, capsys):
    """gather on a full disk: the OSError of the write reaches the user as one line."""
    import pandas as pd

    from pnnsat import cli, tables

    part = tmp_path / "part.csv"
    pd.DataFrame({"platform": ["mrr"], "method": ["bp"], "seed": [0], "accuracy": [0.5]}).to_csv(
        part, index=False)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "out.csv"))

    monkeypatch.setattr(tables, "concat_tables", full_disk)
    assert cli.main(["gather", "--out", str(tmp_path / "out.csv"), str(part)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "No space left on device" in err and "out.csv" in err


def test_discarded_checkpoint_line_gives_no_unsafe_advice(tmp_path, capsys):
    """torch's weights-only refusal advises re-running with weights_only=False (unsafe for a
    file of unknown origin): the discard line keeps only its first sentence."""
    from pathlib import PurePosixPath

    from pnnsat.training import _read_checkpoint

    path = tmp_path / "seed0.pt.partial"
    torch.save({"epoch": 1, "odd": PurePosixPath("x")}, path)
    assert _read_checkpoint(path) == {} and not path.exists()
    said = capsys.readouterr().out
    assert "discarding unreadable checkpoint" in said and "weights_only" not in said
    assert said.count("\n") == 1
