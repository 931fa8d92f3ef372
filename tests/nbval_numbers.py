"""nbval compares the notebooks' summary cells number by number, with a stated tolerance.

nbval's own comparison is textual: one last-digit difference in a printed mean fails it. Here a
summary output matches its reference when

* the text between the numbers is the same (runs of spaces count as one, so a column that widens
  by a digit still matches), and there are as many numbers;
* every number is within **one unit of the reference's last printed digit, or 0.2 % of the
  reference, whichever is larger** (66.9 accepts 66.8–67.0; 0.800 accepts 0.799–0.801;
  1.6e+04 accepts 1.5e+04–1.7e+04);
* integers printed without a decimal point or exponent (counts, seeds, grid points) are equal.

So a result printed one rounding step apart passes, and a real change (an accuracy moved by half a
point, a count changed) fails. With the pinned numerics (``pnnsat.numerics``) the quick run's
tables are bitwise the same on every supported CPU; the tolerance only absorbs how a printed
digit rounds. :func:`install` wires :func:`match` into nbval's comparison (conftest.py calls it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

#: a number as Python, pandas and numpy print it (sign, decimals, exponent); inf/nan stay text
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
#: relative part of the tolerance
RTOL = 0.002


def _split(text: str) -> tuple[list[str], list[str]]:
    """Text between the numbers (whitespace runs collapsed) and the numbers themselves."""
    parts = NUMBER.split(text)
    return [" ".join(p.split()) for p in parts], NUMBER.findall(text)


def last_digit_unit(token: str) -> float:
    """One unit of the last printed digit of ``token`` (0 for an integer: must be equal)."""
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    if "." not in mantissa and not exponent:
        return 0.0
    return 10.0 ** (-decimals + (int(exponent) if exponent else 0))


def number_close(reference: str, test: str) -> bool:
    """``test`` equals ``reference`` within the tolerance of the module docstring."""
    ref, got = float(reference), float(test)
    unit = last_digit_unit(reference)
    if unit == 0.0 and last_digit_unit(test) == 0.0:
        return ref == got
    allowed = max(unit, RTOL * abs(ref))
    return math.isclose(got, ref, rel_tol=0.0, abs_tol=allowed * (1 + 1e-9))


def mismatch(reference: str, test: str) -> str | None:
    """None if ``test`` matches ``reference``; otherwise the first difference, in words."""
    ref_text, ref_numbers = _split(reference)
    got_text, got_numbers = _split(test)
    if len(ref_numbers) != len(got_numbers):
        return f"{len(got_numbers)} numbers printed, the reference has {len(ref_numbers)}"
    for i, (a, b) in enumerate(zip(ref_text, got_text, strict=True)):
        if a != b:
            return f"text differs near number {i + 1}: reference {a!r}, got {b!r}"
    for i, (a, b) in enumerate(zip(ref_numbers, got_numbers, strict=True)):
        if not number_close(a, b):
            start = list(NUMBER.finditer(reference))[i].start()
            line = reference[reference.rfind("\n", 0, start) + 1:].split("\n")[0].strip()
            return (f"number {i + 1} (in the line {line!r}): reference {a}, got {b}; allowed: "
                    f"one unit of the last digit or {RTOL:.1%} of the reference")
    return None


def _stream_text(outputs: list[Any]) -> dict[str, str] | None:
    """The outputs' text per stream name, or None if any output is not a stream."""
    texts: dict[str, str] = {}
    for out in outputs:
        if out.get("output_type") != "stream":
            return None
        texts[out["name"]] = texts.get(out["name"], "") + out["text"]
    return texts


def install() -> None:
    """Make nbval compare printed (stream) outputs with :func:`mismatch` (others as before)."""
    from nbval.plugin import IPyNbCell

    original: Callable[..., bool] = IPyNbCell.compare_outputs
    if getattr(original, "numeric_tolerance", False):
        return

    def compare_outputs(self: Any, test: list[Any], ref: list[Any], skip_compare=None) -> bool:
        got, expected = _stream_text(test), _stream_text(ref)
        if got is None or expected is None or got.keys() != expected.keys():
            return original(self, test, ref, skip_compare)
        self.comparison_traceback = []
        for name in expected:
            problem = mismatch(expected[name], got[name])
            if problem is not None:
                self.comparison_traceback += [
                    f"summary output ({name}) differs from the reference: {problem}",
                    "reference:", expected[name], "this run:", got[name]]
                return False
        return True

    compare_outputs.numeric_tolerance = True  # type: ignore[attr-defined]
    IPyNbCell.compare_outputs = compare_outputs


def pytest_configure(config: Any) -> None:
    """As a pytest plugin (``-p nbval_numbers``, for a pytest run outside tests/): install."""
    install()
