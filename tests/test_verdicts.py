"""Each figure's verdict (pnnsat.verdicts): the README's headline numbers reproduced from the
committed tables, a line for every figure, the quick run's tables read without an error, and a
comparison whose rows a run lacks said to be missing instead of raising."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO

from pnnsat.catalog import FIGURES
from pnnsat.config import load_config
from pnnsat.verdicts import NOT_IN_RUN, VERDICTS, print_verdict, verdict_lines

#: the committed tables of the full run (3 seeds)
PUBLISHED = REPO / "figures"

#: the quick run as tests/test_quick_run.py finds it: PNNSAT_QUICK_RUN (then it must exist), or
#: the quick config's results_dir (skipped where no quick run was made); its notebooks read the
#: tables published to its figures_dir
RUN = os.environ.get("PNNSAT_QUICK_RUN")
QUICK_RUN = REPO / (RUN or load_config("config/quick.yaml")["results_dir"])
QUICK = QUICK_RUN / "figures" if (QUICK_RUN / "figures" / "tables").is_dir() else QUICK_RUN


def the_line(lines: list[str], *fragments: str) -> str:
    """The one line of ``lines`` that holds every fragment."""
    found = [line for line in lines if all(f in line for f in fragments)]
    assert len(found) == 1, (fragments, lines)
    return found[0]


# the README's results table (docs/results.md), to one decimal: (figure, fragments naming the
# line, the difference ± half-width as printed, the verdict)
HEADLINES = [
    ("fig4_thermal_drift", ("MRR, ΔT = 2 K, hardware: sat − bp",), "+10.8 ± 8.7", "separated"),
    ("fig4_thermal_drift", ("MRR, ΔT = 2 K, device A: sat − bp",), "+19.4 ± 17.4", "separated"),
    ("fig4_thermal_drift", ("MZI, ΔT = 2 K, hardware: sat − bp",), "+0.1 ± 1.8",
     "not separated"),
    ("fig4_thermal_drift", ("ΔT in its ascent − default sat",), "+38.0 ± 11.1", "separated"),
    ("fig2_offline_vs_online", ("MZI, nominal, hardware: sat − bp",), "+4.4 ± 0.5",
     "separated"),
    ("fig2_offline_vs_online", ("MRR, nominal, hardware: sat − bp",), "+13.5 ± 9.5",
     "separated"),
    ("fig2_offline_vs_online", ("MZI, nominal, hardware: sat − pat",), "-4.4 ± 2.0",
     "separated"),
    ("fig3_cross_device", ("MZI, fresh chips at σ = (0.15, 0.15): sat − dat",), "+65.4 ± 13.2",
     "separated"),
    ("fig3_cross_device", ("MRR, fresh chips at σ = 0.08 nm: sat − dat",), "+32.5 ± 12.1",
     "separated"),
    ("fig5_alignment", ("D2NN, rotation 1°, hardware: sat − bp",), "+11.2 ± 9.4", "separated"),
    ("fig5_alignment", ("D2NN, rotation 2°",), "+23.4 ± 21.9", "separated"),
    ("figS7_precision", ("MZI, 4-bit DAC",), "+7.9 ± 2.5", "separated"),
    ("figS7_precision", ("MRR, 100 photons",), "+17.5 ± 11.9", "separated"),
    ("figS7_precision", ("pat (noisy training) − pat (exact training)",), "+0.4 ± 0.8",
     "not separated"),
    ("figS6_ladder", ("MRR 2 K, toward resonance",
                      "sat (authors mrr budget) − bp (authors mrr budget)"), "-1.5 ± 5.2",
     "not separated"),
    ("figS6_ladder", ("MRR 2 K, toward resonance", "sat (authors mrr budget) − sat ="),
     "+70.3 ± 5.6", "separated"),
    ("figS5_ablations", ("bp (readout_power_fraction) − default bp",), "-37.4 ± 12.7",
     "separated"),
    ("figS5_ablations", ("sat (sat_all_parameters) − default sat",), "-16.7 ± 39.4",
     "not separated"),
    ("figS1_rho", ("ρ = 0.3 rad, fresh chips",), "+2.8 ± 3.2", "not separated"),
    ("figS3_yield", ("MRR yield",), "+70.0 ± 43.0", "separated"),
]


@pytest.mark.parametrize(("figure", "fragments", "number", "verdict"), HEADLINES)
def test_the_readme_headlines_from_the_committed_tables(figure, fragments, number, verdict):
    line = the_line(verdict_lines(figure, PUBLISHED), *fragments)
    assert f"= {number} " in line, line
    assert f"; {verdict})" in line, line


def test_fig1_flatness_ratio_and_rank_correlation():
    lines = verdict_lines("fig1_sharpness", PUBLISHED)
    mrr = the_line(lines, "MRR: λmax sat / bp")
    assert "= 0.045 [0.015, 0.14]" in mrr and "; separated)" in mrr
    assert "= 0.78 [0.64, 0.95]" in the_line(lines, "MZI: λmax sat / bp")
    assert "not separated" in the_line(lines, "D2NN: λmax sat / bp")
    device = the_line(lines, "twin → device A drop")
    assert "MRR +0.85 [+0.53, +0.99] (12 models; separated)" in device
    assert "MZI +0.34 [-0.36, +0.74] (12 models; not separated)" in device
    assert "MRR +0.93 [+0.70, +1.00] (12 models; separated)" in the_line(lines, "fresh chips")


def test_a_line_quotes_the_paper_where_it_has_a_number():
    line = the_line(verdict_lines("fig4_thermal_drift", PUBLISHED),
                    "MRR, ΔT = 2 K, hardware: sat − bp")
    assert line.endswith("— paper: bp 2, sat 88")
    assert "(bp 15.5, sat 26.3; 3 seeds, paired; separated)" in line


def test_every_figure_has_a_verdict_and_nothing_else():
    assert set(VERDICTS) == set(FIGURES)


def readable(line: str) -> bool:
    """A real result (with its verdict) or the statement that the run lacks its rows."""
    return "separated" in line or NOT_IN_RUN in line


@pytest.mark.parametrize("figure", list(FIGURES))
def test_every_figure_gives_a_few_lines_from_the_committed_tables(figure):
    lines = verdict_lines(figure, PUBLISHED)
    assert 1 <= len(lines) <= 5, lines
    assert all(readable(line) for line in lines), lines
    # the full run holds every comparison its verdict names
    assert not [line for line in lines if NOT_IN_RUN in line], lines


def test_print_verdict_prints_a_header_and_indented_lines(capsys):
    print_verdict("fig2_offline_vs_online", "figures")
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Verdict (fig2_offline_vs_online):"
    assert out[1:] == ["  " + line for line in verdict_lines("fig2_offline_vs_online",
                                                             "figures")]


def test_an_unknown_figure_names_the_known_ones():
    with pytest.raises(ValueError, match="fig4_thermal_drift"):
        verdict_lines("fig4_drift", PUBLISHED)
    with pytest.raises(ValueError, match="figS7_precision"):
        print_verdict("fig9", PUBLISHED)


def test_the_verdicts_import_no_torch():
    """Notebooks call the verdict first: reading tables must not pay torch's import."""
    code = ("import sys; from pnnsat.verdicts import verdict_lines; "
            "verdict_lines('fig1_sharpness', 'figures'); verdict_lines('figS7_precision', "
            "'figures'); assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


@pytest.mark.parametrize("figure", list(FIGURES))
def test_the_quick_run_gives_lines_for_every_figure(figure):
    if RUN is None and not (QUICK / "tables").is_dir():
        pytest.skip(f"no quick run in {QUICK_RUN} (run `make quick`; `make test` runs it)")
    assert (QUICK / "tables").is_dir(), f"PNNSAT_QUICK_RUN={RUN}: no tables in {QUICK}"
    lines = verdict_lines(figure, QUICK)
    assert lines and all(readable(line) for line in lines), lines


# ---------------------------------------------------------------------------------------------
# a run that lacks a comparison's rows


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """A copy of the committed tables, to drop rows from."""
    shutil.copytree(PUBLISHED / "tables", tmp_path / "tables")
    return tmp_path


def drop_rows(run: Path, name: str, **where: object) -> None:
    """Remove the rows of table ``name`` matching every column = value of ``where``."""
    path = run / "tables" / f"{name}.csv"
    table = pd.read_csv(path)
    match = pd.Series(True, index=table.index)
    for column, value in where.items():
        match &= table[column] == value
    assert match.any(), where
    table[~match].to_csv(path, index=False)


def test_a_missing_grid_point_is_said_not_raised(run):
    drop_rows(run, "thermal_drift", platform="mrr", method="sat", delta_T_K=2.0)
    lines = verdict_lines("fig4_thermal_drift", run)
    for fragments in (("MRR, ΔT = 2 K, hardware: sat − bp",),
                      ("MRR, ΔT = 2 K, device A: sat − bp",)):
        line = the_line(lines, *fragments)
        assert line.split(": ", 1)[1].startswith("sat − bp: " + NOT_IN_RUN), line
        assert "no rows of sat at this condition" in line and "paper: bp 2, sat 88" in line
    # the other comparisons still read
    assert "= +0.1 ± 1.8 " in the_line(lines, "MZI, ΔT = 2 K, hardware")


def test_a_missing_sigma_is_said_not_raised(run):
    table = pd.read_csv(run / "tables" / "cross_device.csv")
    table[~((table.platform == "mzi") & (table.sigma_phase_sigma_rad == 0.15))].to_csv(
        run / "tables" / "cross_device.csv", index=False)
    lines = verdict_lines("fig3_cross_device", run)
    assert all(NOT_IN_RUN in line for line in lines if line.startswith("MZI")), lines
    assert "= +32.5 ± 12.1 " in the_line(lines, "MRR, fresh chips at σ = 0.08 nm: sat − dat")


def test_a_missing_ablation_and_a_missing_table_are_said_not_raised(run):
    drop_rows(run, "ablation_thermal_drift", ablation="sat_thermal_ascent")
    (run / "tables" / "ladder.csv").unlink()
    lines = verdict_lines("fig4_thermal_drift", run)
    line = the_line(lines, "ΔT in its ascent")
    assert f"{NOT_IN_RUN} (no rows of sat with ΔT in its ascent at this condition)" in line
    assert f"{NOT_IN_RUN} (no ladder.csv)" in the_line(lines, "authors' budget")
    assert all(NOT_IN_RUN in line for line in verdict_lines("figS6_ladder", run))
    assert "= +10.8 ± 8.7 " in the_line(lines, "MRR, ΔT = 2 K, hardware: sat − bp")


def test_a_seed_one_method_lacks_leaves_the_others_paired(run):
    for name in ("thermal_drift", "fresh_chips"):  # an offline model: device A and fresh chips
        drop_rows(run, name, platform="mzi", method="sat", seed=2)
    lines = verdict_lines("fig2_offline_vs_online", run)
    line = the_line(lines, "MZI, nominal, hardware: sat − bp")
    assert "; 2 seeds, paired; " in line, line
    assert "; 3 seeds, paired; " in the_line(lines, "MRR, nominal, hardware: sat − bp")
