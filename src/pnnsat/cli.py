"""Command-line entry points used by the Snakefile rules (``python -m pnnsat <command>``).

Every command validates its input and fails with one line naming what is wrong and what to do;
outputs are written atomically, so an interrupted command leaves no half-written file.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import torch

from .config import ConfigError
from .data import DataError, build_cache, load_splits
from .evaluation import alignment_rows, concat_tables, thermal_drift_rows, write_table
from .training import TrainSpec, load_model, train


def _cmd_data(args: argparse.Namespace) -> None:
    out = build_cache(args.dataset, args.out, args.validation_size, args.split_seed, args.data_dir)
    print(f"wrote {out}")


def _cmd_train(args: argparse.Namespace) -> None:
    try:
        spec = TrainSpec.from_mapping(json.loads(args.spec))
    except json.JSONDecodeError as err:
        raise ConfigError(f"--spec is not valid JSON: {err}") from err
    except TypeError as err:
        raise ConfigError(f"--spec has unknown or missing fields: {err}") from err
    meta = train(spec, args.data, args.out, threads=args.threads, torch_device=args.torch_device)
    print(f"wrote {args.out} ({meta['wall_time_s']:.1f} s)")


def _evaluate(args: argparse.Namespace, rows_for) -> None:
    """Load a trained model and the data cache, compute a tidy table, write it atomically."""
    if args.threads:
        torch.set_num_threads(args.threads)
    model, meta = load_model(args.model)
    rows = rows_for(model, meta, load_splits(args.data))
    write_table(rows, args.out)
    print(f"wrote {args.out} ({len(rows)} rows)")


def _cmd_drift(args: argparse.Namespace) -> None:
    _evaluate(args, lambda model, meta, splits: thermal_drift_rows(model, meta, splits,
                                                                   args.delta_T))


def _cmd_alignment(args: argparse.Namespace) -> None:
    try:
        sweeps = json.loads(args.sweeps)
    except json.JSONDecodeError as err:
        raise ConfigError(f"--sweeps is not valid JSON: {err}") from err
    _evaluate(args, lambda model, meta, splits: alignment_rows(model, meta, splits, sweeps))


def _cmd_gather(args: argparse.Namespace) -> None:
    concat_tables(args.inputs, args.out)
    print(f"wrote {args.out}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pnnsat", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("data", help="locate, verify and cache a data set")
    d.add_argument("--dataset", default="fashion-mnist")
    d.add_argument("--out", required=True)
    d.add_argument("--validation-size", type=int, default=5000)
    d.add_argument("--split-seed", type=int, default=1234)
    d.add_argument("--data-dir", default="data")
    d.set_defaults(func=_cmd_data)

    t = sub.add_parser("train", help="train one model (platform, method, seed)")
    t.add_argument("--spec", required=True, help="TrainSpec as JSON")
    t.add_argument("--data", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--threads", type=int, default=None)
    t.add_argument("--torch-device", default="cpu")
    t.set_defaults(func=_cmd_train)

    e = sub.add_parser("drift", help="thermal-drift sweep of a trained model (twin and device A)")
    e.add_argument("--model", required=True)
    e.add_argument("--data", required=True)
    e.add_argument("--out", required=True)
    e.add_argument("--delta-T", type=float, nargs="+", required=True)
    e.add_argument("--threads", type=int, default=None)
    e.set_defaults(func=_cmd_drift)

    a = sub.add_parser("alignment", help="misalignment sweeps of a trained model on device A")
    a.add_argument("--sweeps", required=True, help='JSON, e.g. {"rotation_deg": [0, 1, 2]}')
    a.add_argument("--model", required=True)
    a.add_argument("--data", required=True)
    a.add_argument("--out", required=True)
    a.add_argument("--threads", type=int, default=None)
    a.set_defaults(func=_cmd_alignment)

    g = sub.add_parser("gather", help="concatenate tidy tables")
    g.add_argument("--out", required=True)
    g.add_argument("inputs", nargs="+")
    g.set_defaults(func=_cmd_gather)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except (ConfigError, DataError, ValueError, KeyError, RuntimeError, FileNotFoundError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"pnnsat {args.command}: error: {message}", file=sys.stderr)
        return 2
    return 0
