"""Summaries of the gathered tables that figures and the README share (no computation on models:
these only read ``results/<run>/tables/*.csv``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .methods import METHODS
from .paths import resolve
from .plotting import EXCLUDED, PLATFORM_LABELS, SIGMA_LABELS, mean_ci95, note_excluded

#: columns that name one trained model in every table
MODEL_KEYS = ["platform", "method", "seed"]


class ParameterError(ValueError):
    """A bad notebook parameter. Jupyter shows it as one line, without a traceback."""

    def _render_traceback_(self) -> list[str]:  # IPython's hook for custom error display
        return [f"ParameterError: {self}"]


def check_parameters(results_dir: str | Path, platforms: list[str],
                     methods: list[str] | None = None) -> None:
    """Check a figure notebook's parameters before it reads anything (one line if wrong).
    Called first by every notebook, it also starts the figure's list of left-out models."""
    from .platforms import PLATFORMS

    EXCLUDED.clear()
    checks = [("platforms", platforms, PLATFORMS)]
    checks += [("methods", methods, METHODS)] if methods is not None else []
    for name, values, known in checks:
        if isinstance(values, str) or not values:
            raise ParameterError(f"{name} = {values!r}: give a non-empty list, e.g. "
                                 f"{list(known)[:2]}.")
        unknown = [v for v in values if v not in known]
        if unknown:
            raise ParameterError(f"{name} = {values!r}: unknown {unknown}; known: "
                                 f"{', '.join(known)}.")
    run = resolve(results_dir)
    if not ((run / "tables").is_dir() or (run / "models").is_dir()):
        raise ParameterError(f"results_dir = {str(results_dir)!r} holds no run ({run} has no "
                             "tables/ or models/): run the pipeline first (README), or set "
                             "results_dir to a finished run, e.g. 'results/full'.")


def read_table(results_dir: str | Path, name: str, platforms: list[str] | None = None,
               methods: list[str] | None = None) -> pd.DataFrame:
    """``results/<run>/tables/<name>.csv`` for ``platforms`` and ``methods`` (None: all), without
    the rows of models that did not learn.

    A model did not learn when its validation accuracy on what it trained on is chance level
    (``learned`` in ``training.csv``, or in the table itself for models outside the method
    matrix, such as the ρ sweep's). Each one left out is printed and recorded for the figure's
    footnote (:func:`pnnsat.plotting.note_excluded`): a broken model never reads as a result.
    Rows of the method matrix's and the ablations' models also gain their model's training
    ``family`` (in silico / in situ) from the training table.
    """
    tables = resolve(results_dir) / "tables"
    path = tables / f"{name}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run the pipeline for {results_dir} "
                                "first (see the README), or point results_dir at a finished run.")
    frame = pd.read_csv(path)
    if platforms is not None and "platform" in frame:
        frame = frame[frame.platform.isin(platforms)]
    if methods is not None and "method" in frame:
        frame = frame[frame.method.isin(methods)]
    columns = list(frame.columns)
    # an ablation's models have their own training table (keyed by the ablation too)
    keys = MODEL_KEYS + (["ablation"] if "ablation" in frame else [])
    flags = tables / ("ablation_training.csv" if "ablation" in frame else "training.csv")
    if "learned" not in frame and set(MODEL_KEYS) <= set(frame.columns) and not flags.is_file():
        # without it a model that did not learn could reach a figure unnoticed
        raise FileNotFoundError(f"{flags} does not exist: {path.name}'s models need their "
                                "training table (learned flags, families); run the pipeline "
                                f"for {results_dir} to the end, or list it among the figure's "
                                "inputs.")
    if "learned" not in frame and flags.is_file():
        training = pd.read_csv(flags)
        if "learned" in training and set(keys) <= set(frame.columns):
            extra = [c for c in ("learned", "val_accuracy_target", "family")
                     if c not in frame and c in training]
            frame = frame.merge(training[keys + extra], on=keys, how="left")
            frame["learned"] = frame["learned"].fillna(True)
            if "family" in extra:  # kept: the model's training family, for hardware_accuracy
                columns.append("family")
    if "learned" not in frame:  # tables from before the flag existed: every model counts
        return frame
    bad = frame[~frame["learned"].astype(bool)]
    keys = [k for k in MODEL_KEYS + ["rho", "ablation"] if k in bad]
    for _, row in bad.drop_duplicates(keys).iterrows():
        what = (f"{PLATFORM_LABELS.get(row.platform, row.platform)} {row.method}"
                + (f" ({row.ablation})" if "ablation" in keys else "")
                + (f" (ρ = {row.rho:g})" if "rho" in keys else "") + f" seed {row.seed}")
        if "val_accuracy_target" in row and pd.notna(row.val_accuracy_target):
            what += f" (validation {100 * row.val_accuracy_target:.1f} %)"
        if what not in EXCLUDED:  # once per figure, however many tables name it
            print(f"left out of this figure, did not learn: {what}")
            note_excluded(what)
    return frame.loc[frame["learned"].astype(bool), columns].reset_index(drop=True)


def _family(rows: pd.DataFrame) -> str:
    """The training family (in silico / in situ) of one method's rows, as ``training.csv``
    records it for every model (one value per method)."""
    if "family" not in rows or rows.family.nunique() != 1:
        raise ValueError("rows need one training family (column `family`, from training.csv): "
                         "read the table with reports.read_table, next to its training.csv.")
    return str(rows.family.iloc[0])


def hardware_accuracy(device_a: pd.DataFrame, fresh: pd.DataFrame | None = None) -> pd.DataFrame:
    """Accuracy on hardware per platform and method (%, mean, 95 % half-width, ``n`` values).

    ``device_a``: rows of device A (one per seed) with the model's ``family`` (as
    :func:`read_table` returns them, from ``training.csv``); ``fresh``: rows of the fresh chips
    of the same design (one per seed and chip) at the same conditions. An in situ method is
    scored on device A, the chip it trained on, over seeds. An offline method never sees a chip,
    so its score is over every (seed, chip) pair of device A and the fresh chips: a model that
    only works on one lucky chip does not read as robust."""
    fresh = fresh if fresh is not None else device_a.iloc[0:0]
    rows = []
    for (platform, method), group in device_a.groupby(["platform", "method"], sort=False):
        values = group.accuracy.to_numpy() * 100
        family = _family(group)
        if family == "in silico":
            more = fresh[(fresh.platform == platform) & (fresh.method == method)]
            values = np.concatenate([values, more.accuracy.to_numpy() * 100])
        mean, half = mean_ci95(values)
        rows.append({"platform": platform, "method": method, "family": family, "pct": mean,
                     "ci95": half, "n": len(values)})
    return pd.DataFrame(rows, columns=["platform", "method", "family", "pct", "ci95", "n"])


def method_matrix(thermal_drift: pd.DataFrame, training: pd.DataFrame,
                  fresh_chips: pd.DataFrame | None = None) -> pd.DataFrame:
    """The offline-vs-online table: per platform and method, accuracy on hardware at nominal
    conditions (ΔT = 0; :func:`hardware_accuracy` with the nominal rows of ``fresh_chips``), on
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
                     "device_a_pct": a_mean, "device_a_ci95": a_half,
                     "twin_pct": t_mean, "twin_ci95": t_half, "seeds": len(on_a),
                     "wall_time_s": cost.wall_time_s.mean(),
                     "device_queries": cost.device_queries.mean()})
    order = {m: i for i, m in enumerate(METHODS)}
    frame = pd.DataFrame(rows)
    return (frame.assign(_o=frame.method.map(order))
            .sort_values(["platform", "_o"], kind="stable").drop(columns="_o")
            .reset_index(drop=True))


def yield_curves(cross_device: pd.DataFrame, spec_pct: dict[str, float]) -> pd.DataFrame:
    """Yield against fabrication σ: per platform, method and σ, the fraction of (seed, chip)
    pairs of the cross-device table whose accuracy reaches ``spec_pct[platform]`` (%), and their
    count ``n``. A platform with several σ axes is read on its diagonal (all σ equal, e.g. MZI
    phase σ = splitter σ); ``sigma_label`` names the axis."""
    rows = []
    for platform, frame in cross_device.groupby("platform", sort=False):
        if platform not in spec_pct:
            raise ValueError(f"spec_pct has no specification for {platform}; give one, e.g. "
                             f"{{'{platform}': 80}}.")
        axes = [c for c in frame.columns if c.startswith("sigma_") and frame[c].notna().any()]
        diagonal = frame[(frame[axes].nunique(axis=1) == 1)] if len(axes) > 1 else frame
        label = " = ".join(SIGMA_LABELS.get(a, a) for a in axes)
        passed = diagonal.assign(sigma=diagonal[axes[0]],
                                 ok=diagonal.accuracy * 100 >= spec_pct[platform])
        for (method, sigma), group in passed.groupby(["method", "sigma"], sort=False):
            rows.append({"platform": platform, "method": method, "sigma": sigma,
                         "yield": group.ok.mean(), "n": len(group), "sigma_label": label})
    columns = ["platform", "method", "sigma", "yield", "n", "sigma_label"]
    return pd.DataFrame(rows, columns=columns).sort_values(["platform", "method", "sigma"],
                                                           kind="stable").reset_index(drop=True)


def interval_text(pct: float, ci95: float) -> str:
    """``mean ± half-width`` (%), or ``mean (one value)`` where no interval exists."""
    return f"{pct:.1f} (one value)" if np.isnan(ci95) else f"{pct:.1f} ± {ci95:.1f}"

