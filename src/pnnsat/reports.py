"""Summaries of the gathered tables that figures and the README share (no computation on models:
these only read ``results/<run>/tables/*.csv``)."""

from __future__ import annotations

import pandas as pd

from .methods import METHODS
from .plotting import mean_ci95


def method_matrix(thermal_drift: pd.DataFrame, training: pd.DataFrame) -> pd.DataFrame:
    """The offline-vs-online table: per platform and method, accuracy on device A and on the twin
    at nominal conditions (ΔT = 0; mean and 95 % half-width over seeds, in %), training wall
    time (s, mean over seeds) and device queries (samples × physical layers, mean over seeds).
    Methods come in registry order (in silico first)."""
    nominal = thermal_drift[thermal_drift.delta_T_K == 0]
    if nominal.empty:
        raise ValueError("the thermal-drift table has no ΔT = 0 rows; add 0.0 to the platform's "
                         "thermal_drift_K sweep.")
    rows = []
    for (platform, method), group in nominal.groupby(["platform", "method"], sort=False):
        device = group[group.target == "device"].accuracy.to_numpy() * 100
        twin = group[group.target == "twin"].accuracy.to_numpy() * 100
        cost = training[(training.platform == platform) & (training.method == method)]
        d_mean, d_half = mean_ci95(device)
        t_mean, t_half = mean_ci95(twin)
        rows.append({"platform": platform, "method": method, "family": METHODS[method][0],
                     "device_pct": d_mean, "device_ci95": d_half, "twin_pct": t_mean,
                     "twin_ci95": t_half, "seeds": len(device),
                     "wall_time_s": cost.wall_time_s.mean(),
                     "device_queries": cost.device_queries.mean()})
    order = {m: i for i, m in enumerate(METHODS)}
    frame = pd.DataFrame(rows)
    return (frame.assign(_o=frame.method.map(order))
            .sort_values(["platform", "_o"], kind="stable").drop(columns="_o")
            .reset_index(drop=True))


def markdown(frame: pd.DataFrame, floatfmt: str = ".1f") -> str:
    """A GitHub-flavoured Markdown table of ``frame`` (numbers formatted with ``floatfmt``)."""
    def cell(v: object) -> str:
        return format(v, floatfmt) if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(frame.columns) + " |",
             "|" + "|".join("---" for _ in frame.columns) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(False)]
    return "\n".join(lines)
