"""Summaries of the gathered tables that figures and the README share (no computation on models:
these only read ``results/<run>/tables/*.csv``)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .methods import METHODS
from .paths import resolve, unwritable_folder
from .plotting import SIGMA_LABELS, mean_ci95, t975


class ParameterError(ValueError):
    """A bad notebook parameter. Jupyter shows it as one line, without a traceback."""

    def _render_traceback_(self) -> list[str]:  # IPython's hook for custom error display
        return [f"ParameterError: {self}"]


def check_parameters(figure: str, results_dir: str | Path, platforms: list[str] | None = None,
                     methods: list[str] | None = None,
                     figures_dir: str | Path | None = None) -> tuple[list[str], list[str]]:
    """Check a figure notebook's parameters before it reads anything (one line if wrong):
    known platforms and methods, a ``results_dir`` with tables, a ``figures_dir`` that can be
    written; and return the platforms and methods it draws — ``None`` resolves to the figure's
    catalog selection among the ids in the tables it reads (:func:`pnnsat.catalog.
    figure_selection`: a pipeline run passes its own). Called first by every notebook."""
    from .catalog import FIGURES, PLATFORMS, figure_selection

    if figure not in FIGURES:
        raise ParameterError(f"figure {figure!r} is not in pnnsat.catalog.FIGURES "
                             f"({', '.join(FIGURES)}).")
    checks = [("platforms", platforms, PLATFORMS), ("methods", methods, METHODS)]
    for name, values, known in checks:
        if values is None:
            continue
        if isinstance(values, str) or not values:
            raise ParameterError(f"{name} = {values!r}: give a non-empty list, e.g. "
                                 f"{list(known)[:2]}, or None (the figure's own selection).")
        unknown = [v for v in values if v not in known]
        if unknown:
            raise ParameterError(f"{name} = {values!r}: unknown {unknown}; known: "
                                 f"{', '.join(known)}.")
    if figures_dir is not None:
        _check_figures_dir(figures_dir)
    run = resolve(results_dir)
    if not ((run / "tables").is_dir() or (run / "models").is_dir()):
        raise ParameterError(f"results_dir = {str(results_dir)!r} holds no tables ({run} has no "
                             "tables/ or models/): set it to 'figures' (the committed tables of "
                             "the published figures) or to a finished run's figures_dir, e.g. "
                             "'results/quick/figures' after `make quick`.")
    banner = smoke_test_banner(results_dir)
    if banner:
        print(banner)
    if platforms is None or methods is None:
        present: dict[str, set[str]] = {"platforms": set(), "methods": set()}
        for table in FIGURES[figure].tables:
            path = run / "tables" / f"{table}.csv"
            if path.is_file():
                ids = pd.read_csv(path, usecols=lambda c: c in ("platform", "method"))
                present["platforms"] |= set(ids.get("platform", pd.Series(dtype=str)))
                present["methods"] |= set(ids.get("method", pd.Series(dtype=str)))
        chosen = figure_selection(figure, present={k: sorted(v) for k, v in present.items()})
        platforms = chosen["platforms"] if platforms is None else platforms
        methods = chosen["methods"] if methods is None else methods
    return list(platforms), list(methods)


def smoke_test_banner(results_dir: str | Path, published: str | Path = "figures") -> str:
    """A one-paragraph warning when ``results_dir``'s models trained on fewer images or epochs
    than the published full run's (``<published>/tables/training.csv``): the quick run is a smoke
    test of the pipeline, and its numbers and intervals are not results. Empty for the published
    run itself, or when either training table is missing."""
    run, full = (resolve(d) / "tables" / "training.csv" for d in (results_dir, published))
    if not (run.is_file() and full.is_file()) or run.resolve() == full.resolve():
        return ""
    mine, theirs = (pd.read_csv(p, usecols=["seed", "n_train", "epochs"]) for p in (run, full))
    images, epochs = int(mine.n_train.max()), int(mine.epochs.max())
    if images >= int(theirs.n_train.max()) and epochs >= int(theirs.epochs.max()):
        return ""
    return (f"SMOKE TEST, NOT RESULTS: the models in {results_dir} trained on {images:,} images "
            f"for at most {epochs} epochs, {mine.seed.nunique()} seeds (the published full run: "
            f"{int(theirs.n_train.max()):,} images, up to {int(theirs.epochs.max())} epochs) — "
            "a check that the pipeline runs end to end; its accuracies and intervals say nothing "
            f"about the methods. The results are the figures in {published}/.")


def _check_figures_dir(figures_dir: Any) -> None:
    """``figures_dir`` is a folder path that can be created and written."""
    if not isinstance(figures_dir, (str, Path)) or not str(figures_dir).strip():
        raise ParameterError(f"figures_dir = {figures_dir!r}: give a folder path, e.g. "
                             "'results/by-hand/figures'.")
    problem = unwritable_folder(figures_dir)
    if problem:
        raise ParameterError(f"figures_dir = {str(figures_dir)!r}: {problem}; give a writable "
                             "folder, e.g. 'results/by-hand/figures'.")


def _family(rows: pd.DataFrame) -> str:
    """The training family (in silico / in situ) of one method's rows, as ``training.csv``
    records it for every model (one value per method)."""
    if "family" not in rows or rows.family.nunique() != 1:
        raise ValueError("rows need one training family (column `family`, from training.csv): "
                         "read the table with pnnsat.tables.read_table, next to its training.csv.")
    return str(rows.family.iloc[0])


#: the widest 95 % half-width (points) that issue-level conclusions accept: ``seeds_for`` says
#: how many training seeds would reach it
TARGET_HALF_WIDTH = 5.0


def seeds_for(sd: float, half_width: float = TARGET_HALF_WIDTH, most: int = 1000) -> float:
    """The number of training seeds n whose 95 % t-interval over seed means, t₀.₉₇₅(n−1)·sd/√n,
    is at most ``half_width`` for a spread ``sd`` of the seed means (points): the seeds a
    headline number needs. NaN where the spread is unknown (one seed); ``most`` + 1 beyond it."""
    if not np.isfinite(sd):
        return math.nan
    for n in range(2, most + 1):
        if t975(n - 1) * sd / math.sqrt(n) <= half_width:
            return float(n)
    return float(most + 1)


def seed_values(device_a: pd.DataFrame, fresh: pd.DataFrame | None = None) -> pd.DataFrame:
    """Accuracy on hardware (%) per platform, method and training seed — the unit of every
    interval and paired comparison. ``device_a``: rows of device A (one per seed) with the
    model's ``family`` (as :func:`pnnsat.tables.read_table` returns them, from ``training.csv``);
    ``fresh``: rows of the fresh chips of the same design (one per seed and chip) at the same
    conditions. An in situ model is scored on device A, the chip it trained on. An offline model
    never sees a chip, so it is scored by its mean over device A and the fresh chips (a model that
    only works on one lucky chip does not read as robust). Columns: platform, method, family,
    seed, pct, chips (the chips averaged, device A included)."""
    fresh = fresh if fresh is not None else device_a.iloc[0:0]
    rows = []
    for (platform, method), group in device_a.groupby(["platform", "method"], sort=False):
        family = _family(group)
        values = group[["seed", "accuracy"]]
        if family == "in silico":
            more = fresh[(fresh.platform == platform) & (fresh.method == method)]
            values = pd.concat([values, more[["seed", "accuracy"]]], ignore_index=True)
        for seed, chips in values.groupby("seed").accuracy:
            rows.append({"platform": platform, "method": method, "family": family,
                         "seed": int(seed), "pct": float(chips.mean() * 100),
                         "chips": len(chips)})
    return pd.DataFrame(rows, columns=["platform", "method", "family", "seed", "pct", "chips"])


def hardware_accuracy(device_a: pd.DataFrame, fresh: pd.DataFrame | None = None) -> pd.DataFrame:
    """Accuracy on hardware per platform and method (%): mean and 95 % t-interval over training
    seeds of :func:`seed_values` (the chips of one seed share its model, so they are not
    independent samples of the method: an interval over every (seed, chip) pair would be too
    narrow), the seeds' spread ``sd`` and the seeds that would give an interval of ±5 points
    (:func:`seeds_for`). Columns: ``pct``, ``ci95`` (half-width), ``seeds``, ``chips`` (per
    seed), ``n`` (seeds × chips measured), ``sd`` (of the seed means), ``seeds_for_5``."""
    rows = []
    for (platform, method), group in seed_values(device_a, fresh).groupby(
            ["platform", "method"], sort=False):
        means = group.pct.to_numpy()
        mean, half = mean_ci95(means)
        sd = float(np.std(means, ddof=1)) if len(means) > 1 else math.nan
        rows.append({"platform": platform, "method": method, "family": group.family.iloc[0],
                     "pct": mean, "ci95": half, "seeds": len(means),
                     "chips": int(group.chips.max()), "n": int(group.chips.sum()), "sd": sd,
                     "seeds_for_5": seeds_for(sd)})
    return pd.DataFrame(rows, columns=["platform", "method", "family", "pct", "ci95", "seeds",
                                       "chips", "n", "sd", "seeds_for_5"])


def drift_accuracy(thermal_drift: pd.DataFrame, fresh_chips: pd.DataFrame,
                   delta_T_K: float) -> pd.DataFrame:
    """:func:`hardware_accuracy` at temperature change ``delta_T_K`` (K): device A's rows of
    ``thermal_drift`` there, with the fresh chips that ``fresh_chips`` measured at that ΔT (none
    if it did not: then offline methods are read on device A alone)."""
    on_a = thermal_drift[(thermal_drift.target == "device")
                         & (thermal_drift.delta_T_K == delta_T_K)]
    chips = fresh_chips[(fresh_chips.axis == "delta_T_K") & (fresh_chips.value == delta_T_K)]
    return hardware_accuracy(on_a, chips)


def method_matrix(thermal_drift: pd.DataFrame, training: pd.DataFrame,
                  fresh_chips: pd.DataFrame | None = None) -> pd.DataFrame:
    """The offline-vs-online table: per platform and method, accuracy on hardware at nominal
    conditions (ΔT = 0; :func:`hardware_accuracy` with the nominal rows of ``fresh_chips``: mean
    and 95 % half-width over seeds, the seeds' spread, the seeds a ±5-point interval needs), on
    device A alone and on the twin (mean and 95 % half-width over seeds, in %), training wall time
    (s, mean over seeds) and device queries (samples × physical layers, mean over seeds). Methods
    come in registry order (in silico first)."""
    nominal = thermal_drift[thermal_drift.delta_T_K == 0]
    if nominal.empty:
        raise ValueError("the thermal-drift table has no ΔT = 0 rows; add 0.0 to the platform's "
                         "thermal_drift_K sweep.")
    fresh = None if fresh_chips is None else fresh_chips[fresh_chips.axis == "nominal"]
    hardware = hardware_accuracy(nominal[nominal.target == "device"], fresh).set_index(
        ["platform", "method"])
    rows = []
    for (platform, method), group in nominal.groupby(["platform", "method"], sort=False):
        on_a = group[group.target == "device"].accuracy.to_numpy() * 100
        twin = group[group.target == "twin"].accuracy.to_numpy() * 100
        cost = training[(training.platform == platform) & (training.method == method)]
        a_mean, a_half = mean_ci95(on_a)
        t_mean, t_half = mean_ci95(twin)
        hw = hardware.loc[(platform, method)]
        rows.append({"platform": platform, "method": method, "family": _family(cost),
                     "device_pct": hw.pct, "device_ci95": hw.ci95, "n": int(hw.n),
                     "chips": int(hw.chips), "device_sd": hw.sd, "seeds_for_5": hw.seeds_for_5,
                     "device_a_pct": a_mean, "device_a_ci95": a_half,
                     "twin_pct": t_mean, "twin_ci95": t_half, "seeds": len(on_a),
                     "wall_time_s": cost.wall_time_s.mean(),
                     "device_queries": cost.device_queries.mean()})
    order = {m: i for i, m in enumerate(METHODS)}
    frame = pd.DataFrame(rows)
    return (frame.assign(_o=frame.method.map(order))
            .sort_values(["platform", "_o"], kind="stable").drop(columns="_o")
            .reset_index(drop=True))


def sigma_axes(frame: pd.DataFrame) -> list[str]:
    """The fabrication-σ columns (``sigma_*``) one platform's cross-device rows sweep."""
    return [c for c in frame.columns if c.startswith("sigma_") and frame[c].notna().any()]


def on_diagonal(frame: pd.DataFrame) -> pd.DataFrame:
    """One platform's cross-device rows along its σ axis — where every σ it sweeps is equal
    (the MZI's phase σ (rad) = splitter σ; the MRR's resonance σ (nm) and the D2NN's phase σ
    (rad) are single axes) — with that σ in a column ``sigma``."""
    axes = sigma_axes(frame)
    on = frame[frame[axes].nunique(axis=1) == 1] if len(axes) > 1 else frame
    return on.assign(sigma=on[axes[0]])


def yield_curves(cross_device: pd.DataFrame, spec_pct: dict[str, float]) -> pd.DataFrame:
    """Yield against fabrication σ: per platform, method and σ, the fraction of (seed, chip)
    pairs of the cross-device table whose accuracy reaches ``spec_pct[platform]`` (%), their count
    ``n``, and the 95 % t half-width ``ci95`` over training seeds of each seed's fraction of
    passing chips (the chips of one seed share its model, so they are not independent samples of
    the method: the seed is the unit, as in :func:`hardware_accuracy`). A platform with several σ
    axes is read on its diagonal (all σ equal, e.g. MZI phase σ = splitter σ); ``sigma_label``
    names the axis."""
    rows = []
    for platform, frame in cross_device.groupby("platform", sort=False):
        if platform not in spec_pct:
            raise ValueError(f"spec_pct has no specification for {platform}; give one, e.g. "
                             f"{{'{platform}': 80}}.")
        label = " = ".join(SIGMA_LABELS.get(a, a) for a in sigma_axes(frame))
        diagonal = on_diagonal(frame)
        passed = diagonal.assign(ok=diagonal.accuracy * 100 >= spec_pct[platform])
        for (method, sigma), group in passed.groupby(["method", "sigma"], sort=False):
            _, half = mean_ci95(group.groupby("seed").ok.mean().to_numpy())
            rows.append({"platform": platform, "method": method, "sigma": sigma,
                         "yield": group.ok.mean(), "ci95": half, "n": len(group),
                         "sigma_label": label})
    columns = ["platform", "method", "sigma", "yield", "ci95", "n", "sigma_label"]
    return pd.DataFrame(rows, columns=columns).sort_values(["platform", "method", "sigma"],
                                                           kind="stable").reset_index(drop=True)


def interval_text(pct: float, ci95: float) -> str:
    """``mean ± half-width`` (%), or ``mean (one value)`` where no interval exists."""
    return f"{pct:.1f} (one value)" if np.isnan(ci95) else f"{pct:.1f} ± {ci95:.1f}"


def seeds_text(n: float) -> str:
    """A seed count from :func:`seeds_for` as text: the integer, or "–" where the spread is
    unknown (one seed)."""
    return "–" if np.isnan(n) else f"{n:.0f}"
