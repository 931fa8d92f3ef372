"""The per-model evaluation tables by name, and the config key of each one's sweep.

Kept free of torch (like :mod:`pnnsat.config` and :mod:`pnnsat.numerics`) so that the Snakefile
can plan the DAG without importing the library's models; :data:`pnnsat.evaluation.TABLES` pairs
each name with the function that computes its rows.
"""

from __future__ import annotations

#: table name -> key of the platform's config block holding its sweep (None: no sweep)
TABLE_SWEEPS: dict[str, str | None] = {
    "training": None,
    "curves": None,
    "thermal_drift": "thermal_drift_K",
    "alignment": "alignment",
    "cross_device": "cross_device",
    "fresh_chips": "fresh_chips",
}
