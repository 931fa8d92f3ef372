"""Reading figS7's table (rows of :mod:`pnnsat.precision_sweep`): each model's hardware accuracy
per DAC resolution and photon budget, its loss against the exact chip paired over seeds, and the
resolution and light each method needs. Torch-free."""

from __future__ import annotations

import math

import pandas as pd

from .plotting import mean_ci95
from .reports import seed_values


def hardware_values(table: pd.DataFrame) -> pd.DataFrame:
    """Per platform, method, axis, value and seed: the hardware accuracy ``pct`` (%; an offline
    model's mean over device A and the fresh chips, an in situ model's device A — as every
    headline) and ``loss``, that minus the same model's exact accuracy (points, paired)."""
    rows = []
    for (axis, value), group in table.groupby(["axis", "value"], sort=False):
        values = seed_values(group[group.target == "device"], group[group.target == "fresh"])
        rows.append(values.assign(axis=axis, value=value))
    out = pd.concat(rows, ignore_index=True)
    exact = out[out.axis == "exact"].set_index(["platform", "method", "seed"]).pct
    out["loss"] = out.pct - exact.reindex(
        pd.MultiIndex.from_frame(out[["platform", "method", "seed"]])).to_numpy()
    return out


def intervals(values: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95 % half-width over seeds of ``pct`` and ``loss`` per platform, method, axis and
    value."""
    rows = []
    for key, group in values.groupby(["platform", "method", "axis", "value"], sort=False):
        pct, pct_ci = mean_ci95(group.pct.to_numpy())
        loss, loss_ci = mean_ci95(group.loss.to_numpy())
        rows.append({**dict(zip(["platform", "method", "axis", "value"], key, strict=True)),
                     "pct": pct, "ci95": pct_ci, "loss": loss, "loss_ci95": loss_ci,
                     "seeds": len(group)})
    return pd.DataFrame(rows)


def needed(summary: pd.DataFrame, axis: str, within: float = 1.0) -> pd.DataFrame:
    """Per platform and method, the smallest value of ``axis`` from which on (at it and every
    larger value swept) the mean loss is within ``within`` points of the exact chip; NaN if none
    of the swept values is. Columns: platform, method, needed."""
    rows = []
    for (platform, method), group in summary[summary.axis == axis].groupby(
            ["platform", "method"], sort=False):
        group = group.sort_values("value")
        ok = (group.loss >= -within).to_numpy()
        first = math.nan
        for i in range(len(ok)):
            if ok[i:].all():
                first = float(group.value.iloc[i])
                break
        rows.append({"platform": platform, "method": method, "needed": first})
    return pd.DataFrame(rows)
