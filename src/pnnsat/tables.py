"""The tidy tables (``results/<run>/tables/*.csv``): their names, how they are written, and how
figures read them — one module for every table's input and output.

* :data:`TABLE_SWEEPS` — the per-model evaluation tables and the config key of each one's sweep
  (:data:`pnnsat.evaluation.TABLES` pairs each name with the function that computes its rows);
* :func:`write_table`, :func:`concat_tables` — atomic, byte-stable writing and gathering;
* :func:`read_table` — what a figure reads: one table without the models that did not learn,
  each left-out model named in the frame's ``attrs["left_out"]``; :func:`left_out` gathers them
  from the tables a figure read, for its footnote (:func:`pnnsat.plotting.save_figure`).

Kept free of torch and pandas at import (like :mod:`pnnsat.config`), so that the Snakefile can
plan the DAG without importing the library's models.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .catalog import MODEL_TABLES
from .config import first_line
from .paths import atomic_path, resolve

if TYPE_CHECKING:
    import pandas as pd

#: table name -> key of the platform's config block holding its sweep (None: no sweep); the
#: catalog's list of per-model evaluation tables
TABLE_SWEEPS: dict[str, str | None] = MODEL_TABLES

#: columns that name one trained model in every table
MODEL_KEYS = ["platform", "method", "seed"]
#: sort order of a gathered table (the columns it has)
SORT_KEYS = ["ablation", "platform", "method", "seed", "epoch", "target", "delta_T_K", "axis",
             "value"]

def left_out(*frames: pd.DataFrame) -> list[str]:
    """The models :func:`read_table` left out of ``frames`` (did not learn), each named once, in
    the order read: what a figure passes to :func:`pnnsat.plotting.save_figure`."""
    names: list[str] = []
    for frame in frames:
        names += [n for n in frame.attrs.get("left_out", []) if n not in names]
    return names


def write_table(rows: Iterable[dict[str, Any]] | pd.DataFrame, out: str | Path) -> Path:
    """Write a tidy CSV atomically (stable float format, so reruns are byte-identical)."""
    import pandas as pd

    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    out = Path(out)
    with atomic_path(out) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g")
    return out


def concat_tables(paths: Iterable[str | Path], out: str | Path) -> Path:
    """Concatenate per-run tables into one (rows sorted by :data:`SORT_KEYS`, for a stable
    file)."""
    import pandas as pd

    frames = []
    for path in paths:
        try:
            frames.append(pd.read_csv(path))
        except (OSError, ValueError) as err:  # missing, empty or not a CSV table
            raise ValueError(f"table {path} cannot be read ({first_line(err)}); rerun the job "
                             "that writes it (`snakemake --forcerun <that file>`).") from err
    if not frames:
        raise ValueError("concat_tables: no input tables.")
    frame = pd.concat(frames, ignore_index=True)
    keys = [c for c in SORT_KEYS if c in frame]
    return write_table(frame.sort_values(keys, kind="stable").reset_index(drop=True), out)


def read_table(results_dir: str | Path, name: str, platforms: list[str] | None = None,
               methods: list[str] | None = None) -> pd.DataFrame:
    """``results/<run>/tables/<name>.csv`` for ``platforms`` and ``methods`` (None: all), without
    the rows of models that did not learn.

    A model did not learn when its validation accuracy on what it trained on is chance level
    (``learned`` in ``training.csv``, or in the table itself for models outside the method
    matrix, such as the ρ sweep's). Each one left out is printed and named in the returned frame's
    ``attrs["left_out"]`` (:func:`left_out`: the figure's footnote): a broken model never reads as
    a result. Rows of the method
    matrix's and the ablations' models also gain their model's training ``family`` (in silico /
    in situ) from the training table.
    """
    import pandas as pd

    from .catalog import PLATFORMS

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
    names: list[str] = []
    for _, row in bad.drop_duplicates(keys).iterrows():
        label = PLATFORMS[row.platform].label if row.platform in PLATFORMS else row.platform
        what = (f"{label} {row.method}"
                + (f" ({row.ablation})" if "ablation" in keys else "")
                + (f" (ρ = {row.rho:g})" if "rho" in keys else "") + f" seed {row.seed}")
        if "val_accuracy_target" in row and pd.notna(row.val_accuracy_target):
            what += f" (validation {100 * row.val_accuracy_target:.1f} %)"
        if what not in names:
            print(f"left out of {name}, did not learn: {what}")
            names.append(what)
    kept = frame.loc[frame["learned"].astype(bool), columns].reset_index(drop=True)
    kept.attrs["left_out"] = names
    return kept
