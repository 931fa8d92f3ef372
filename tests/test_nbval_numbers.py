"""The numeric tolerance of the nbval summaries (tests/nbval_numbers.py): a printed rounding step
passes, a real change of a result fails."""

from __future__ import annotations

from types import SimpleNamespace

import nbformat
import pytest
from conftest import REPO
from nbval_numbers import install, last_digit_unit, mismatch

FIG4 = REPO / "tests/nbval/fig4_thermal_drift.ipynb"


def summary_text(path):
    nb = nbformat.read(path, as_version=4)
    # the summary: the last cell nbval compares (the verdict comes first)
    cell = [c for c in nb.cells if "nbval-check-output" in c.metadata.get("tags", [])][-1]
    return "".join(o["text"] for o in cell.outputs if o.get("output_type") == "stream")


def test_last_digit_unit():
    assert last_digit_unit("66.9") == pytest.approx(0.1)
    assert last_digit_unit("0.800") == pytest.approx(0.001)
    assert last_digit_unit("1.6e+04") == pytest.approx(1e3)
    assert last_digit_unit("14") == 0.0


def test_reference_matches_itself_and_one_rounding_step():
    text = summary_text(FIG4)
    assert mismatch(text, text) is None
    assert mismatch("mrr bp 46.7 34.8\n", "mrr bp 46.8   34.7\n") is None  # one step, wider
    assert mismatch("loss 0.533 over 14 models", "loss 0.534 over 14 models") is None
    assert mismatch("lambda 8.14e+05", "lambda 8.15e+05") is None


def test_shifted_accuracy_fails():
    text = summary_text(FIG4)
    line = next(ln for ln in text.splitlines() if "sat " in ln and "mrr" not in ln)
    first = line.split()[-1]
    shifted = text.replace(line, line[: line.rindex(first)] + f"{float(first) + 3:.1f}", 1)
    problem = mismatch(text, shifted)
    assert problem is not None and first in problem
    assert mismatch("acc 66.9", "acc 67.1") is not None  # two steps and > 0.2 %
    assert mismatch("loss 0.800", "loss 0.810") is not None


def test_changed_text_or_count_fails():
    assert "text" in mismatch("mrr bp 46.7", "mzi bp 46.7")
    assert mismatch("over 14 models", "over 15 models") is not None
    assert "numbers" in mismatch("a 1.0 b 2.0", "a 1.0 b")


def test_installed_comparison_uses_the_tolerance():
    from nbval.plugin import IPyNbCell

    install()
    install()  # idempotent
    ref = [{"output_type": "stream", "name": "stdout", "text": "mrr sat 49.6 51.1\n"}]
    close = [{"output_type": "stream", "name": "stdout", "text": "mrr sat 49.7 51.1\n"}]
    far = [{"output_type": "stream", "name": "stdout", "text": "mrr sat 52.6 51.1\n"}]
    cell = SimpleNamespace(comparison_traceback=[])
    assert IPyNbCell.compare_outputs(cell, close, ref) is True
    assert IPyNbCell.compare_outputs(cell, far, ref) is False
    assert "49.6" in cell.comparison_traceback[0] and "52.6" in cell.comparison_traceback[0]
