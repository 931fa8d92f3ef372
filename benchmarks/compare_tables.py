"""How far two runs' tables are apart, table by table (e.g. the quick run on two CPUs).

    python benchmarks/compare_tables.py results/quick/tables <another machine's tables>

Rows are matched on their key columns (model, target, chip, sweep point); for every measured
column it prints how many cells differ and the max and median |difference| over all matched
cells (accuracies in points, other columns in their units), plus rows found in one run only
(a model that stopped training at another epoch adds or drops rows of ``curves``). Wall-clock
columns are left out: they measure the machine.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

#: measured columns (everything else that both tables have is a key), and their print scale
MEASURES = {"accuracy": 100, "train_loss": 1, "train_accuracy": 100, "val_accuracy_twin": 100,
            "val_accuracy_target": 100, "lambda_max": 1, "hessian_trace": 1, "loss": 1,
            "epochs": 1, "best_epoch": 1, "device_queries": 1, "learned": 1, "kept": 1,
            "rings": 1, "steep_rings": 1, "pixels": 1}
#: columns that measure the machine, not the result
WALL_CLOCK = {"wall_time_s", "seconds"}
#: tables whose ``value`` column is the measure (elsewhere it is a perturbation's size, a key)
VALUE_IS_MEASURE = {"multitask"}


def compare(a: pd.DataFrame, b: pd.DataFrame, name: str) -> list[dict]:
    measures = [c for c in a.columns if c in MEASURES or (c == "value" and name in
                                                           VALUE_IS_MEASURE)]
    keys = [c for c in a.columns if c not in measures and c not in WALL_CLOCK and c in b]
    merged = a.merge(b, on=keys, how="outer", suffixes=("_a", "_b"), indicator=True)
    only = int((merged["_merge"] != "both").sum())
    both = merged[merged["_merge"] == "both"]
    rows = []
    for column in measures:
        x, y = both[f"{column}_a"], both[f"{column}_b"]
        differ = int((x.astype(str) != y.astype(str)).sum())
        entry = {"table": name, "column": column, "cells": len(both), "differ": differ,
                 "rows in one run only": only}
        if column != "pixels" and pd.api.types.is_numeric_dtype(x):
            gap = (x.astype(float) - y.astype(float)).abs() * MEASURES.get(column, 1)
            entry["max |diff|"] = float(np.nanmax(gap)) if len(gap) else 0.0
            entry["median |diff|"] = float(np.nanmedian(gap)) if len(gap) else 0.0
        rows.append(entry)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a", type=Path, help="a tables folder")
    parser.add_argument("b", type=Path, help="another tables folder")
    args = parser.parse_args()
    rows = []
    for path in sorted(args.a.glob("*.csv")):
        other = args.b / path.name
        if not other.is_file():
            print(f"{path.name}: not in {args.b}")
            continue
        rows += compare(pd.read_csv(path), pd.read_csv(other), path.stem)
    frame = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(frame.round(4).to_string(index=False))


if __name__ == "__main__":
    main()
