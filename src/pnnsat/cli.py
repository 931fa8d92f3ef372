"""Command-line entry points used by the Snakefile rules (``python -m pnnsat <command>``).

Every command validates its input and fails with one line naming what is wrong and what to do;
outputs are written atomically, so an interrupted command leaves no half-written file. Each
command imports what it needs: ``gather`` (one job per table) never imports torch.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .allocator import retain_freed_memory
from .config import ConfigError
from .numerics import verify as verify_numerics


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1 (counts of images, iterations, threads, ...)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be >= 1")
    return value


def steps_int(text: str) -> int:
    """An argparse type: landscape points per axis, >= 2 (config schema: sharpness.steps)."""
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"{value} must be >= 2 (a landscape needs two points "
                                         "per axis)")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0 (a landscape's half-width)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{value} must be a finite number > 0")
    return value


def _json_option(text: str, flag: str) -> Any:
    """Parse a JSON-valued command-line option; bad JSON is one line naming the option."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{flag} is not valid JSON: {err}") from err


def _spec_option(text: str) -> dict[str, Any]:
    """``--spec``: a JSON object of the spec's fields."""
    values = _json_option(text, "--spec")
    if not isinstance(values, dict):
        raise ConfigError(f"--spec must be a JSON object of the spec's fields, not "
                          f"{type(values).__name__}.")
    return values


def _cmd_data(args: argparse.Namespace) -> None:
    from .data import build_cache

    out = build_cache(args.dataset, args.out, args.validation_size, args.split_seed, args.data_dir)
    print(f"wrote {out}")


def _cmd_train(args: argparse.Namespace) -> None:
    """One model (the spec's seed, one ``--out``) or one per ``--seeds`` (one ``--out`` each)."""
    from .training import TrainSpec, train_seeds

    values = _spec_option(args.spec)
    seeds = args.seeds if args.seeds is not None else [values.get("seed")]
    if len(seeds) != len(args.out):
        raise ConfigError(f"{len(seeds)} seed(s) but {len(args.out)} --out path(s); give one "
                          "--out per seed.")
    try:
        specs = [TrainSpec.from_mapping({**values, "seed": seed}) for seed in seeds]
    except (TypeError, AttributeError) as err:
        raise ConfigError(f"--spec: {err}; check its field names and value types against "
                          "pnnsat.training.TrainSpec (as the Snakefile writes them).") from err
    metas = train_seeds(specs, args.data, args.out, threads=args.threads,
                        torch_device=args.torch_device)
    for out, meta in zip(args.out, metas, strict=True):
        print(f"wrote {out} ({meta['wall_time_s']:.1f} s)")


def _cmd_evaluate(args: argparse.Namespace) -> None:
    """Every table of each ``--model`` in one process (a model's test features computed once).
    ``--out`` lists each model's tables in turn (the first model's, then the next's), each named
    by its file name: ``.../seed0/thermal_drift.csv``."""
    import torch

    from .data import load_splits
    from .evaluation import check_sweep_types, evaluate_model
    from .model_files import load_model
    from .tables import write_table
    from .training import resolve_torch_device

    sweeps = _json_option(args.sweeps, "--sweeps")
    check_sweep_types(sweeps)
    if len(args.out) % len(args.model):
        raise ConfigError(f"{len(args.out)} --out paths for {len(args.model)} models; give the "
                          "same tables for every model.")
    per_model = len(args.out) // len(args.model)
    labels = {}
    for label in args.label or []:
        key, sep, value = label.partition("=")
        if not sep or not key:
            raise ConfigError(f"--label {label!r}: write KEY=VALUE, e.g. ablation=readout.")
        labels[key] = value
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = resolve_torch_device(args.torch_device)
    # the tables read only the test split: skip normalising the 55 000 training images
    splits = load_splits(args.data, train_subset=0, test_subset=args.test_subset)
    outs_per_model = []
    for i, path in enumerate(args.model):
        outs = {Path(out).stem: out for out in args.out[i * per_model:(i + 1) * per_model]}
        if len(outs) != per_model:
            raise ConfigError(f"--out names a table twice for model {path}; list each model's "
                              "tables once, model after model.")
        outs_per_model.append(outs)
    # every model read before any table is written: a bad file leaves no partial set of tables
    models = [load_model(path, map_location=str(dev)) for path in args.model]
    for (model, meta), outs in zip(models, outs_per_model, strict=True):
        for table, rows in evaluate_model(model, meta, splits, sweeps, list(outs)).items():
            rows = [{**labels, **row} for row in rows]
            write_table(rows, outs[table])
            print(f"wrote {outs[table]} ({len(rows)} rows)")


def _cmd_sharpness(args: argparse.Namespace) -> None:
    """λmax, Hessian trace (all models) and a 2-D landscape (first model of each landscape
    method) w.r.t. Θ on the twin, on the first ``--images`` training images."""
    import torch

    from .data import load_splits
    from .model_files import load_model
    from .sharpness import landscape, sharpness_rows
    from .tables import write_table

    if args.threads:
        torch.set_num_threads(args.threads)
    splits = load_splits(args.data, train_subset=args.images)
    x, y = splits.train_x, splits.train_y
    models = [load_model(path) for path in args.models]
    methods = sorted({meta["method"] for _, meta in models})
    if not set(args.landscape_methods) & set(methods):
        raise ConfigError(f"--landscape-methods {' '.join(args.landscape_methods) or '(none)'}: "
                          f"no such model among --models (their methods: {', '.join(methods)}); "
                          "the landscape (fig1) needs a bp or sat model: add one to the config's "
                          "methods, or name one of these.")
    write_table(sharpness_rows(models, x, y, args.tolerance, args.max_hvps, args.samples),
                args.out)
    rows, done = [], set()
    for model, meta in models:
        if meta["method"] in args.landscape_methods and meta["method"] not in done:
            done.add(meta["method"])
            generator = torch.Generator().manual_seed(0)
            rows += [{"platform": meta["platform"], "method": meta["method"],
                      "seed": meta["seed"], **r}
                     for r in landscape(model, x, y, args.span, args.steps, generator)]
    write_table(rows, args.landscape_out)
    print(f"wrote {args.out} and {args.landscape_out}")


def _cmd_rho_sweep(args: argparse.Namespace) -> None:
    """figS1: accuracy (twin, device A, fresh chips) and λmax of bp and SAT-at-each-ρ models."""
    import torch

    from .data import load_splits
    from .model_files import load_model
    from .rho_sweep import rho_sweep_rows
    from .tables import write_table

    fresh = _json_option(args.fresh, "--fresh")
    if args.threads:
        torch.set_num_threads(args.threads)
    splits = load_splits(args.data, train_subset=args.images, test_subset=args.test_subset)
    models = [load_model(path) for path in args.models]
    rows = rho_sweep_rows(models, splits, fresh, args.tolerance, args.max_hvps, args.images)
    write_table(rows, args.out)
    print(f"wrote {args.out} ({len(rows)} rows)")


def _cmd_train_task(args: argparse.Namespace) -> None:
    """fig6: reconstruction or generation networks of one method, one per ``--seeds``."""
    from .multitask.training import TaskSpec, train_tasks

    values = _spec_option(args.spec)
    if len(args.seeds) != len(args.out):
        raise ConfigError(f"{len(args.seeds)} seed(s) but {len(args.out)} --out path(s); give "
                          "one --out per seed.")
    try:
        specs = [TaskSpec(**{**values, "seed": seed}) for seed in args.seeds]
    except (TypeError, AttributeError) as err:
        raise ConfigError(f"--spec: {err}; check its field names and value types against "
                          "pnnsat.multitask.training.TaskSpec.") from err
    for out, meta in zip(args.out, train_tasks(specs, args.data, args.out, threads=args.threads),
                         strict=True):
        print(f"wrote {out} ({meta['wall_time_s']:.1f} s, validation loss {meta['val_loss']:.4f})")


def _cmd_feature_classifier(args: argparse.Namespace) -> None:
    """fig6: the digital classifier whose features define the Fréchet distance."""
    from .multitask.training import train_feature_classifier

    meta = train_feature_classifier(args.data, args.out, args.epochs, args.seed,
                                    args.train_subset, args.threads)
    print(f"wrote {args.out} (test accuracy {100 * meta['test_accuracy']:.1f} %)")


def _cmd_evaluate_task(args: argparse.Namespace) -> None:
    """fig6: one task's metric vs ΔT for every ``--models`` model, on the twin and device A."""
    import torch

    from .data import load_splits
    from .evaluation import is_number_list
    from .model_files import load_model
    from .multitask import evaluation as tasks
    from .multitask.training import load_feature_classifier, load_task_model
    from .tables import write_table

    grid = _json_option(args.delta_T_K, "--delta-T-K")
    if not grid or not is_number_list(grid):
        raise ConfigError(f"--delta-T-K {args.delta_T_K}: give a JSON list of temperature "
                          "changes in K, e.g. [-0.25, 0, 0.25].")
    if args.task == "generation" and (args.classifier is None or args.samples is None):
        raise ConfigError("--task generation needs --classifier (the feature classifier) and "
                          "--samples (generated images per Fréchet distance).")
    if args.threads:
        torch.set_num_threads(args.threads)
    splits = load_splits(args.data, train_subset=0, test_subset=args.test_subset)
    if args.task == "classification":
        rows = tasks.classification_rows([load_model(p) for p in args.models], splits, grid)
    elif args.task == "reconstruction":
        rows = tasks.reconstruction_rows([load_task_model(p) for p in args.models], splits, grid)
    else:
        classifier, _ = load_feature_classifier(args.classifier)
        rows = tasks.generation_rows([load_task_model(p) for p in args.models], classifier,
                                     splits, grid, args.samples)
    write_table(rows, args.out)
    print(f"wrote {args.out} ({len(rows)} rows)")


def _cmd_task_examples(args: argparse.Namespace) -> None:
    """fig6: the example images (test images, reconstructions, samples vs ΔT) as a table."""
    import torch

    from .data import load_splits
    from .evaluation import is_number_list
    from .multitask.evaluation import example_rows
    from .multitask.training import load_task_model
    from .tables import write_table

    grid = _json_option(args.delta_T_K, "--delta-T-K")
    if not grid or not is_number_list(grid):
        raise ConfigError(f"--delta-T-K {args.delta_T_K}: give a JSON list of temperature "
                          "changes in K, e.g. [-0.25, 0, 0.25].")
    if args.threads:
        torch.set_num_threads(args.threads)
    models = [load_task_model(p) for p in args.models]
    splits = load_splits(args.data, train_subset=0, test_subset=args.images)
    rows = example_rows(models, splits, grid, n=args.images)
    write_table(rows, args.out)
    print(f"wrote {args.out} ({len(rows)} images)")


def _cmd_ring_detuning(args: argparse.Namespace) -> None:
    """figS2: histograms of the rings' detunings of trained MRR models."""
    from .detuning import write

    rows = write(args.models, args.out)
    print(f"wrote {args.out} ({rows} rows)")


def _cmd_ladder(args: argparse.Namespace) -> None:
    """figS6: every rung of one headline (pnnsat.ladder) for each ``--models`` file, labelled with
    its ``--sources`` entry (``main`` or the ablation it comes from)."""
    import torch

    from .data import load_splits
    from .ladder import build_rungs, ladder_rows
    from .model_files import load_model
    from .tables import write_table

    spec = _json_option(args.spec, "--spec")
    fresh = _json_option(args.fresh, "--fresh") if args.fresh else None
    if len(args.sources) != len(args.models):
        raise ConfigError(f"{len(args.sources)} --sources for {len(args.models)} --models; give "
                          "one source (main or an ablation's name) per model.")
    if not isinstance(spec, dict) or "rungs" not in spec:
        raise ConfigError("--spec: give the headline's config block (ladder.headlines.<name>) "
                          "as JSON, with its rungs.")
    build_rungs(spec.get("platform", ""), spec["rungs"], f"ladder.headlines.{args.headline}")
    if args.threads:
        torch.set_num_threads(args.threads)
    splits = load_splits(args.data, train_subset=0, test_subset=args.test_subset)
    models = [load_model(path) for path in args.models]  # every file read before any work
    rows = []
    for (model, meta), source in zip(models, args.sources, strict=True):
        if meta["platform"] != spec.get("platform"):
            raise ConfigError(f"ladder {args.headline}: a {meta['platform']} model was given for "
                              f"a {spec.get('platform')} headline.")
        rows += ladder_rows(model, meta, splits, args.headline, spec, fresh,
                            int(spec["batch_size"]),
                            None if spec.get("one_batch") is None else int(spec["one_batch"]),
                            source)
    write_table(rows, args.out)
    print(f"wrote {args.out} ({len(rows)} rows)")


def _cmd_precision(args: argparse.Namespace) -> None:
    """figS7: every ``--models`` file on device A and fresh chips through a DAC of each
    resolution and detectors of each photon budget (pnnsat.precision_sweep)."""
    import torch

    from .data import load_splits
    from .model_files import load_model
    from .precision_sweep import check_spec, precision_rows
    from .tables import write_table

    spec = _json_option(args.spec, "--spec")
    fresh = _json_option(args.fresh, "--fresh")
    if not isinstance(spec, dict) or not {"controls", "bits", "photons", "fresh_chips",
                                          "test_images"} <= set(spec):
        raise ConfigError("--spec: give the config's precision block as JSON (controls, bits, "
                          "photons, fresh_chips, test_images).")
    check_spec(spec, list(spec["controls"]))
    if args.threads:
        torch.set_num_threads(args.threads)
    splits = load_splits(args.data, train_subset=0, test_subset=args.test_subset)
    models = [load_model(path) for path in args.models]  # every file read before any work
    rows = []
    for model, meta in models:
        if meta["platform"] not in spec["controls"]:
            raise ConfigError(f"precision: no controls.{meta['platform']} in --spec for "
                              f"{meta['platform']} model {meta['method']} seed {meta['seed']}.")
        rows += precision_rows(model, meta, splits, spec, fresh)
    write_table(rows, args.out)
    print(f"wrote {args.out} ({len(rows)} rows)")


def _cmd_redraw(args: argparse.Namespace) -> None:
    """Redraw published figures from the committed tables (no training)."""
    from .published import redraw

    for path in redraw(args.figures or None):
        print(f"wrote {path} (and its figure)")


def _cmd_publish(args: argparse.Namespace) -> None:
    """Publish a figure notebook's execution (read-only, stable bytes, with its provenance)."""
    from .published import publish

    print(f"wrote {publish(args.executed, args.target)}")


def _cmd_book(args: argparse.Namespace) -> None:
    """Build the browsable book (docs/ and the published executions) without executing."""
    from .book import build

    print(f"wrote {build(args.out) / 'index.html'}")


def _cmd_gather(args: argparse.Namespace) -> None:
    from .tables import concat_tables

    concat_tables(args.inputs, args.out)
    print(f"wrote {args.out}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pnnsat", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("data", help="locate, verify and cache a data set")
    d.add_argument("--dataset", required=True, help="fashion-mnist | mnist (config: dataset)")
    d.add_argument("--out", required=True)
    d.add_argument("--validation-size", type=positive_int, required=True,
                   help="images held out of the training split (config: data.validation_size)")
    d.add_argument("--split-seed", type=int, required=True,
                   help="seed of the train/validation permutation (config: data.split_seed)")
    d.add_argument("--data-dir", default="data",
                   help="where downloaded data sets go (relative: from the repository root)")
    d.set_defaults(func=_cmd_data)

    t = sub.add_parser("train", help="train models (platform, method) for one or more seeds")
    t.add_argument("--spec", required=True, help="TrainSpec as JSON (its seed unless --seeds)")
    t.add_argument("--data", required=True)
    t.add_argument("--out", required=True, nargs="+", help="one model file per seed")
    t.add_argument("--seeds", type=int, nargs="+", default=None,
                   help="train these seeds one after another in this process")
    t.add_argument("--threads", type=positive_int, default=None)
    t.add_argument("--torch-device", default="cpu")
    t.set_defaults(func=_cmd_train)

    e = sub.add_parser("evaluate", help="evaluation tables of trained models")
    e.add_argument("--model", required=True, nargs="+")
    e.add_argument("--data", required=True)
    e.add_argument("--sweeps", required=True,
                   help='JSON: the platform block\'s sweeps, e.g. {"thermal_drift_K": [0, 1]}')
    e.add_argument("--out", required=True, nargs="+",
                   help="one CSV per table and model, named <table>.csv, model by model "
                   "(see pnnsat.evaluation.TABLES)")
    e.add_argument("--threads", type=positive_int, default=None)
    e.add_argument("--test-subset", type=positive_int, default=None,
                   help="first n test images only (quick runs); default: the full test split")
    e.add_argument("--torch-device", default="cpu", help="auto | cpu | cuda")
    e.add_argument("--label", action="append", metavar="KEY=VALUE",
                   help="a column added to every row (e.g. ablation=readout); repeatable")
    e.set_defaults(func=_cmd_evaluate)

    h = sub.add_parser("sharpness", help="Hessian sharpness w.r.t. the controls, and landscapes")
    h.add_argument("--models", nargs="+", required=True)
    h.add_argument("--data", required=True)
    h.add_argument("--out", required=True)
    h.add_argument("--landscape-out", required=True)
    h.add_argument("--landscape-methods", nargs="*", default=["bp", "sat"])
    # the values of the config's `sharpness` block, always passed by the rule
    h.add_argument("--images", type=positive_int, required=True, help="training images used")
    h.add_argument("--tolerance", type=positive_float, required=True,
                   help="lambda_max: Lanczos relative residual")
    h.add_argument("--max-hvps", type=positive_int, required=True,
                   help="lambda_max: most Hessian-vector products")
    h.add_argument("--samples", type=positive_int, required=True, help="Hutchinson samples")
    h.add_argument("--span", type=positive_float, required=True,
                   help="landscape half-width (filter units)")
    h.add_argument("--steps", type=steps_int, required=True, help="landscape points per axis")
    h.add_argument("--threads", type=positive_int, default=None)
    h.set_defaults(func=_cmd_sharpness)

    r = sub.add_parser("rho-sweep", help="figS1: accuracy and lambda_max of SAT models vs rho")
    r.add_argument("--models", nargs="+", required=True, help="bp and sat models (any rho)")
    r.add_argument("--data", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--fresh", required=True,
                   help='JSON: fresh chips, e.g. {"devices": 3, "first_seed": 10000}')
    r.add_argument("--images", type=positive_int, required=True,
                   help="training images for lambda_max (config: sharpness.images)")
    r.add_argument("--tolerance", type=positive_float, required=True,
                   help="lambda_max: Lanczos relative residual (config: sharpness.tolerance)")
    r.add_argument("--max-hvps", type=positive_int, required=True,
                   help="lambda_max: most Hessian-vector products (config: sharpness.max_hvps)")
    r.add_argument("--test-subset", type=positive_int, default=None,
                   help="first n test images only (quick runs); default: the full test split")
    r.add_argument("--threads", type=positive_int, default=None)
    r.set_defaults(func=_cmd_rho_sweep)

    tt = sub.add_parser("train-task", help="fig6: reconstruction/generation networks")
    tt.add_argument("--spec", required=True, help="TaskSpec as JSON (without its seed)")
    tt.add_argument("--seeds", type=int, nargs="+", required=True)
    tt.add_argument("--data", required=True)
    tt.add_argument("--out", required=True, nargs="+", help="one model file per seed")
    tt.add_argument("--threads", type=positive_int, default=None)
    tt.set_defaults(func=_cmd_train_task)

    fc = sub.add_parser("feature-classifier",
                        help="fig6: the classifier defining the Fréchet distance's features")
    fc.add_argument("--data", required=True)
    fc.add_argument("--out", required=True)
    fc.add_argument("--epochs", type=positive_int, required=True)
    fc.add_argument("--seed", type=int, default=0)
    fc.add_argument("--train-subset", type=positive_int, default=None)
    fc.add_argument("--threads", type=positive_int, default=None)
    fc.set_defaults(func=_cmd_feature_classifier)

    et = sub.add_parser("evaluate-task", help="fig6: one task's metric vs thermal drift")
    et.add_argument("--task", required=True,
                    choices=["classification", "reconstruction", "generation"])
    et.add_argument("--models", required=True, nargs="+")
    et.add_argument("--data", required=True)
    et.add_argument("--delta-T-K", required=True, help="JSON list of ΔT in K")
    et.add_argument("--out", required=True)
    et.add_argument("--classifier", default=None, help="feature classifier (generation)")
    et.add_argument("--samples", type=positive_int, default=None,
                    help="generated images per Fréchet distance (generation; config: "
                    "multitask.frechet.samples)")
    et.add_argument("--test-subset", type=positive_int, default=None,
                    help="first n test images only (quick runs); default: the full test split")
    et.add_argument("--threads", type=positive_int, default=None)
    et.set_defaults(func=_cmd_evaluate_task)

    ex = sub.add_parser("task-examples", help="fig6: example images of the task networks")
    ex.add_argument("--models", required=True, nargs="+", help="task models (one seed each)")
    ex.add_argument("--data", required=True)
    ex.add_argument("--delta-T-K", required=True, help="JSON list of ΔT in K")
    ex.add_argument("--images", type=positive_int, default=6, help="images per row of the figure")
    ex.add_argument("--out", required=True)
    ex.add_argument("--threads", type=positive_int, default=None)
    ex.set_defaults(func=_cmd_task_examples)

    rd = sub.add_parser("ring-detuning", help="figS2: ring detunings of trained MRR models")
    rd.add_argument("--models", required=True, nargs="+")
    rd.add_argument("--out", required=True)
    rd.set_defaults(func=_cmd_ring_detuning)

    la = sub.add_parser("ladder", help="figS6: one headline re-measured rung by rung")
    la.add_argument("--models", required=True, nargs="+")
    la.add_argument("--sources", required=True, nargs="+",
                    help="per model: main, or the ablation it comes from")
    la.add_argument("--headline", required=True)
    la.add_argument("--spec", required=True, help="the headline's config block (JSON)")
    la.add_argument("--fresh", default=None, help="the platform's fresh_chips block (JSON)")
    la.add_argument("--data", required=True)
    la.add_argument("--out", required=True)
    la.add_argument("--test-subset", type=positive_int, default=None)
    la.add_argument("--threads", type=positive_int, default=None)
    la.set_defaults(func=_cmd_ladder)

    pr = sub.add_parser("precision", help="figS7: accuracy vs DAC bits and photons per detection")
    pr.add_argument("--models", required=True, nargs="+")
    pr.add_argument("--spec", required=True, help="the config's precision block (JSON)")
    pr.add_argument("--fresh", required=True, help="the platform's fresh_chips block (JSON)")
    pr.add_argument("--data", required=True)
    pr.add_argument("--out", required=True)
    pr.add_argument("--test-subset", type=positive_int, default=None)
    pr.add_argument("--threads", type=positive_int, default=None)
    pr.set_defaults(func=_cmd_precision)

    rw = sub.add_parser("redraw", help="redraw published figures from the committed tables")
    rw.add_argument("figures", nargs="*", help="figure names (default: every figure)")
    rw.set_defaults(func=_cmd_redraw, uses_torch=False)

    pb = sub.add_parser("publish", help="publish a figure notebook's papermill execution")
    pb.add_argument("executed", help="the executed notebook papermill wrote")
    pb.add_argument("target", help="the published copy, <figures>/notebooks/<figure>.ipynb")
    pb.set_defaults(func=_cmd_publish, uses_torch=False)

    bk = sub.add_parser("book", help="the browsable book: docs/ and the executed notebooks")
    bk.add_argument("--out", default=None, help="build folder (default build/book)")
    bk.set_defaults(func=_cmd_book, uses_torch=False)

    g = sub.add_parser("gather", help="concatenate tidy tables")
    g.add_argument("--out", required=True)
    g.add_argument("inputs", nargs="+")
    g.set_defaults(func=_cmd_gather, uses_torch=False)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # a data cache path is read from the working directory, as every other path here (the
    # library resolves relative paths from the repository root, for the notebooks)
    if getattr(args, "data", None):
        args.data = str(Path(args.data).absolute())
    retain_freed_memory()  # no page faults on every step's temporaries; results unchanged
    try:
        if getattr(args, "uses_torch", True):
            verify_numerics()  # the pinned kernels (pnnsat.numerics), or one line saying why not
        args.func(args)
    # (pnnsat.data.DataError is a RuntimeError)
    except (ConfigError, ValueError, KeyError, RuntimeError, OSError) as err:
        print(f"pnnsat {args.command}: error: {error_line(err)}", file=sys.stderr)
        return 2
    return 0


#: what torch's writer says when a write fails part-way (typically a full disk)
TORCH_WRITE_FAILURE = ("inline_container", "unexpected pos", "PytorchStreamWriter failed")


def error_line(err: BaseException) -> str:
    """One line for a failed command: the message of our own errors; for an operating-system
    error the path and the reason (disk full, not a directory, read-only, ...)."""
    if isinstance(err, KeyError) and err.args:
        return str(err.args[0])
    if isinstance(err, OSError) and not isinstance(err, FileNotFoundError) and err.strerror:
        where = f"{err.filename}: " if err.filename else ""
        return f"{where}{err.strerror} (errno {err.errno}); free space or fix the path and rerun."
    if isinstance(err, RuntimeError) and any(t in str(err) for t in TORCH_WRITE_FAILURE):
        import shutil

        free = shutil.disk_usage(Path.cwd()).free / 2**20
        return (f"writing a torch file failed part-way ({str(err).splitlines()[0][:120]}); "
                f"is the disk full? {free:.0f} MiB free here. Free space and rerun.")
    return str(err)
