"""One style for every figure: colours per method, column-width sizes, byte-stable PDF/PNG output,
and 95 % intervals over seeds."""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .catalog import FAMILY_LINESTYLE, METHODS, PLATFORMS
from .paths import atomic_path, resolve

#: platform id -> panel title (from the catalog, pnnsat.catalog.PLATFORMS)
#: the committed folder of the published figures; only publishing jobs write it (save_figure)
PUBLISHED = "figures"
#: where a run by hand saves a figure aimed at the published folder
BY_HAND = "results/by-hand/figures"
#: the environment variable the publishing jobs set ("1")
PUBLISHING = "PNNSAT_PUBLISHING"

PLATFORM_LABELS = {name: row.label for name, row in PLATFORMS.items()}
#: cross-device table column (``sigma_<fabrication field>``) -> axis label (from the catalog)
SIGMA_LABELS = {f"sigma_{field}": label for row in PLATFORMS.values()
                for field, label in row.field_labels.items()}

# t_{0.975, df} for df = 1..30; beyond 30 a Cornish–Fisher expansion is accurate to 1e-3.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t975(df: int) -> float:
    """Two-sided 95 % Student-t quantile for ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError("t975 needs df >= 1")
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959964
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def mean_ci95(values: Sequence[float]) -> tuple[float, float]:
    """Mean and half-width of the 95 % t-interval (NaN for a single value: no interval)."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return (float(v.mean()) if len(v) else math.nan), math.nan
    return float(v.mean()), t975(len(v) - 1) * float(v.std(ddof=1)) / math.sqrt(len(v))


def summarise(frame: pd.DataFrame, by: Sequence[str], value: str = "accuracy") -> pd.DataFrame:
    """Mean, 95 % interval (low/high) and count of ``value`` over the rows of each group."""
    rows = []
    for key, group in frame.groupby(list(by), sort=True):
        mean, half = mean_ci95(group[value].to_numpy())
        rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True)),
                     "mean": mean, "low": mean - half, "high": mean + half, "n": len(group)})
    return pd.DataFrame(rows)


def use_style() -> None:
    """Apply the project's matplotlib style (readable at column width, no date in outputs).

    The backend is left alone: Jupyter's inline backend shows each figure under its cell (and
    papermill keeps it in the executed notebook); a script without a display gets Agg."""
    plt.rcParams.update({
        "figure.dpi": 150, "savefig.dpi": 300, "font.size": 8, "axes.titlesize": 9,
        "axes.labelsize": 8, "legend.fontsize": 7, "xtick.labelsize": 7, "ytick.labelsize": 7,
        "axes.spines.top": False, "axes.spines.right": False, "lines.linewidth": 1.4,
        "savefig.bbox": "tight", "pdf.fonttype": 42, "svg.hashsalt": "pnnsat",
    })


def method_label(method: str) -> str:
    """The method's label in figures (the catalog's)."""
    return METHODS[method].label


def method_color(method: str) -> str:
    """The method's colour in every figure (the catalog's)."""
    return METHODS[method].colour


def method_style(method: str) -> dict[str, str]:
    """Keyword arguments for ``ax.plot``: colour and marker of the method, line style of its
    family (solid in silico, dashed in situ), label — all from the catalog."""
    row = METHODS[method]
    return {"color": row.colour, "marker": row.marker, "linestyle": FAMILY_LINESTYLE[row.family],
            "label": row.label}


def platform_marker(platform: str) -> str:
    """The platform's scatter marker where platforms share a panel (the catalog's)."""
    return PLATFORMS[platform].marker


def field_label(platform: str, field: str) -> str:
    """Axis label, with units, of a fabrication or perturbation field of ``platform``."""
    return PLATFORMS[platform].field_labels.get(field, field)


def rho_unit(platform: str) -> str:
    """Unit of SAT's ascent radius ρ on ``platform``."""
    return PLATFORMS[platform].rho_unit


def control_unit(platform: str) -> str:
    """Unit of the controls Θ of ``platform`` (nm for ring detunings, rad for phases)."""
    return PLATFORMS[platform].control_unit


def panel_letters(axes: Sequence[plt.Axes]) -> None:
    """Label panels (a), (b), ... at their top-left corner."""
    for i, ax in enumerate(axes):
        ax.text(-0.14, 1.04, f"({chr(ord('a') + i)})", transform=ax.transAxes,
                fontweight="bold", fontsize=9, va="bottom", ha="left")


def save_figure(fig: plt.Figure, name: str, figures_dir: str | Path = "figures",
                left_out: Sequence[str] = ()) -> list[Path]:
    """Write ``<figures_dir>/<name>.pdf`` and ``.png`` atomically, without dates or versions in
    their metadata, so that rerunning on the same data gives byte-identical files. Models left
    out because they did not learn (``left_out``: :func:`pnnsat.tables.left_out` of the tables
    the figure read) are named in a footnote on the figure.

    The published folder (``figures/``, committed) is written only by the jobs that publish
    (the figure rule and :func:`pnnsat.published.redraw`, which set ``PNNSAT_PUBLISHING=1``):
    Run All by hand on a published execution, whose parameters name ``figures/``, saves into
    ``results/by-hand/figures/`` and says so."""
    if left_out:  # above the panels: clear of the legends, which sit below
        # wrapped by hand to the figure's width (6-pt text: ~24 characters per inch); matplotlib's
        # own wrapping leaves the unwrapped height in the saved bounding box
        note = textwrap.fill("Left out, did not learn (chance-level validation accuracy): "
                             + "; ".join(left_out), width=int(24 * fig.get_figwidth()))
        fig.text(0.01, 1.0, note, fontsize=6, color="#B00000", ha="left", va="bottom")
    folder = resolve(figures_dir)
    if folder == resolve(PUBLISHED) and os.environ.get(PUBLISHING) != "1":
        folder = resolve(BY_HAND)
        print(f"figures_dir = {str(figures_dir)!r} holds the published figures, which only the "
              f"pipeline and `make redraw` write: saved into {BY_HAND}/ instead.")
    written = []
    for ext, metadata in (("pdf", {"CreationDate": None, "ModDate": None, "Producer": None,
                                   "Creator": None}),
                          ("png", {"Software": None})):
        target = folder / f"{name}.{ext}"
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=ext, metadata=metadata)
        written.append(target)
    return written
