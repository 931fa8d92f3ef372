"""Method-vs-method comparisons as the experiment's design allows: paired over training seeds.

Every method of one seed starts from the same initialisation and sees the same batches
(``torch.manual_seed(spec.seed)`` and the epoch order of :mod:`pnnsat.training`), so the seed is a
shared block: a comparison of methods A and B is the mean of the per-seed differences A − B with
its 95 % t-interval over seeds (not two separate intervals that may overlap although every seed
agrees). A difference is **separated** from zero when its interval excludes zero; that, and only
that, makes a verdict.

Per-seed values on hardware come from :func:`pnnsat.reports.seed_values`: an offline model's value
is its mean over device A and the fresh chips of the same design, an in situ model's its accuracy
on device A.

Also here: the rank correlation of a per-model measure with a per-model outcome, with a
bootstrap interval over models (``spearman``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .plotting import mean_ci95
from .reports import seeds_for, seeds_text


def paired_difference(values: pd.DataFrame, platform: str, a: str, b: str,
                      value: str = "pct") -> dict[str, float | str | bool]:
    """Mean over seeds of ``a − b`` on ``platform`` (both methods' per-seed ``value``, points),
    its 95 % t half-width, the seeds it is over, and whether the interval excludes zero
    (``separated``). Only seeds both methods have count; fewer than two give no interval."""
    mine = values[values.platform == platform].set_index(["method", "seed"])[value]
    if a not in mine.index.get_level_values(0) or b not in mine.index.get_level_values(0):
        raise ValueError(f"paired difference on {platform}: no rows of {a!r} or {b!r} (methods "
                         f"present: {sorted(set(mine.index.get_level_values(0)))}).")
    joined = pd.concat([mine.loc[a].rename("a"), mine.loc[b].rename("b")], axis=1).dropna()
    diffs = (joined.a - joined.b).to_numpy()
    mean, half = mean_ci95(diffs)
    sd = float(np.std(diffs, ddof=1)) if len(diffs) > 1 else math.nan
    return {"platform": platform, "a": a, "b": b, "diff": mean, "ci95": half,
            "seeds": len(diffs), "a_pct": float(joined.a.mean()), "b_pct": float(joined.b.mean()),
            "separated": bool(np.isfinite(half) and abs(mean) > half),
            "seeds_for_5": seeds_for(sd)}


def difference_text(row: dict | pd.Series) -> str:
    """``a − b = d ± h`` (points), "separated" or "not separated" (the interval and zero), and
    the seeds a ±5-point interval of the difference would need at its observed spread."""
    verdict = "separated" if row["separated"] else "not separated"
    return (f"{row['a']} − {row['b']} = {row['diff']:+.1f} ± {row['ci95']:.1f} "
            f"({row['seeds']} seeds; {verdict}; ±5 needs {seeds_text(row['seeds_for_5'])})")


def spearman(x: Sequence[float], y: Sequence[float], resamples: int = 10_000,
             seed: int = 0) -> dict[str, float]:
    """Spearman's rank correlation of ``x`` with ``y`` over paired observations (models), with a
    95 % percentile bootstrap interval over those observations (``resamples`` resamples of the
    pairs with replacement, seeded). Columns of the result: rho, low, high, n."""
    from scipy import stats

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) != len(y) or len(x) < 3:
        raise ValueError(f"spearman needs at least 3 paired values (got {len(x)} and {len(y)}).")
    rho = float(stats.spearmanr(x, y).statistic)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(x), size=(resamples, len(x)))
    # every resample at once: Pearson's correlation of the ranks (ties averaged), row by row
    rx, ry = stats.rankdata(x[picks], axis=1), stats.rankdata(y[picks], axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    norm = np.sqrt((rx**2).sum(axis=1) * (ry**2).sum(axis=1))
    valid = norm > 0  # a resample of one repeated value has no rank correlation
    boot = (rx * ry).sum(axis=1)[valid] / norm[valid]
    low, high = np.percentile(boot, [2.5, 97.5])
    return {"rho": rho, "low": float(low), "high": float(high), "n": len(x)}
