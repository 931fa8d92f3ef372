"""Reading the ladder table (figS6; rows written by :mod:`pnnsat.ladder`): one value per model and
rung, intervals over seeds, and the paired differences the verdicts follow from. Torch-free.

A **line** of the ladder is one (ablation, method): ``main`` for the models of the method
matrix, or the models of an ablation (the authors' training budget, or a control). Its value per
seed and rung is the accuracy the rung reads: on ``hardware`` an offline model's mean over device
A and the fresh chips and an in situ model's accuracy on device A (as every headline of this
repository, :func:`pnnsat.reports.seed_values`), on ``device_a`` or the ``twin`` that one target.
"""

from __future__ import annotations

import pandas as pd

from .comparisons import paired_difference
from .plotting import mean_ci95

KEYS = ["headline", "platform", "ablation", "method", "order", "rung"]

#: labels of the ladder's lines that are not a method of the matrix: (source, method) -> label
CONTROL_LABELS = {
    ("bp_random_drift", "sat"): "bp + random ΔT",
    ("bp_random_pose", "sat"): "bp + random pose",
}


def line_label(source: str, method: str) -> str:
    """The name of one ladder line: the method, the control it is, or method (ablation)."""
    if (source, method) in CONTROL_LABELS:
        return CONTROL_LABELS[(source, method)]
    return method if source == "main" else f"{method} ({source.replace('_', ' ')})"


def seed_values(table: pd.DataFrame) -> pd.DataFrame:
    """One value per model and rung: ``pct`` (accuracy over the test split, %), ``one_batch``
    (the authors' one batch, %) and ``batch_low``/``batch_high`` (the 2.5–97.5 % range of
    one-batch scores, %), averaged over the chips the rung reads (see the module docstring)."""
    rows = []
    for key, group in table.groupby(KEYS + ["seed"], sort=False):
        target, family = group.rung_target.iloc[0], group.family.iloc[0]
        chips = group[group.target == "device"] if target == "hardware" and \
            family == "in situ" else group
        rows.append({**dict(zip(KEYS + ["seed"], key, strict=True)), "family": family,
                     "target": target, "pct": 100 * chips.accuracy.mean(),
                     "one_batch": 100 * chips.one_batch.mean(),
                     "batch_low": 100 * chips.batch_low.mean(),
                     "batch_high": 100 * chips.batch_high.mean(), "chips": len(chips)})
    return pd.DataFrame(rows)


def intervals(values: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95 % t half-width over seeds of each line's ``pct`` per rung, and the first
    seed's one-batch score with its range (the authors score one batch of one model)."""
    rows = []
    for key, group in values.groupby(KEYS, sort=False):
        mean, half = mean_ci95(group.pct.to_numpy())
        first = group.sort_values("seed").iloc[0]
        rows.append({**dict(zip(KEYS, key, strict=True)), "target": group.target.iloc[0],
                     "pct": mean, "ci95": half, "seeds": len(group),
                     "one_batch_seed": int(first.seed), "one_batch": first.one_batch,
                     "batch_low": first.batch_low, "batch_high": first.batch_high})
    return pd.DataFrame(rows)


def paired(values: pd.DataFrame, pairs: list[tuple[tuple[str, str], tuple[str, str]]]
           ) -> pd.DataFrame:
    """Paired differences over seeds, per headline and rung, of line a − line b for each pair
    ((source, method), (source, method)) both present in the headline. The seed is the block:
    models of one seed share their initialisation (and, at the same batch size, their batches)
    across the matrix and its ablations."""
    rows = []
    for (headline, order, rung), group in values.groupby(["headline", "order", "rung"],
                                                         sort=False):
        present = set(zip(group.ablation, group.method, strict=True))
        for a, b in pairs:
            if a not in present or b not in present:
                continue
            frame = group.assign(method=[line_label(s, m) for s, m in
                                         zip(group.ablation, group.method, strict=True)])
            result = paired_difference(frame, group.platform.iloc[0], line_label(*a),
                                       line_label(*b))
            rows.append({"headline": headline, "order": order, "rung": rung, **result})
    return pd.DataFrame(rows)
