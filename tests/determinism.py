"""Train and evaluate models of the quick DAG a second time on this machine; compare with the
quick run.

    python tests/determinism.py            (make check-determinism; after `make quick`)
    python tests/determinism.py --models all

Snakemake trains and evaluates models of the quick DAG again, into ``results/quick-rerun`` — by
default one per platform (:data:`REPRESENTATIVE`: an offline SAM model, an in situ model with its
error predictors, an in situ diffractive model), ``--models all`` for every (platform, method) —
and compares each model's evaluation tables with those of ``results/quick`` cell by cell
(wall-clock columns excepted). They must be identical: a run is a function of its config, its
seeds and the machine (no unseeded randomness, no order-dependent scheduling, no thread races).

Identical numbers on *another* CPU are not checked here and not needed by the tests: nbval
compares the figure notebooks on the committed tables (pnnsat.published), and the quick run is
checked by properties that hold on any CPU (tests/test_quick_run.py). How far the quick tables
move between two CPUs is measured by ``benchmarks/compare_tables.py``.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: the default models: (platform, method), one per platform; between them they run every kernel
#: family the pipeline uses (convolutions, the MRR banks, the mesh's complex products, the FFT
#: optics), an ASAM ascent, device queries and DAT's predictor networks
REPRESENTATIVE = (("mrr", "sat"), ("mzi", "dat"), ("d2nn", "pat"))
#: columns that measure the machine, not the result
WALL_CLOCK = {"wall_time_s", "seconds"}  # training.csv, curves.csv


def read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return [{k: v for k, v in row.items() if k not in WALL_CLOCK} for row in csv.DictReader(f)]


def model_tables(reference: Path, models: str) -> list[Path]:
    """The per-model evaluation tables under ``reference/eval`` (paths relative to it) of the
    chosen models: ``representative`` (:data:`REPRESENTATIVE`) or ``all``."""
    root = reference / "eval"
    chosen = ([root / p / m for p, m in REPRESENTATIVE] if models == "representative"
              else sorted(d for d in root.glob("*/*") if d.is_dir()))
    return [t.relative_to(reference) for d in chosen for t in sorted(d.glob("seed*/*.csv"))]


def compare(reference: Path, other: Path, tables: list[Path]) -> list[str]:
    """Differences between the same tables of two results directories, one line per table."""
    problems, identical = [], {}
    for name in tables:
        table, theirs = reference / name, other / name
        if not theirs.is_file():
            problems.append(f"{name}: missing in {other}")
            continue
        a, b = read(table), read(theirs)
        if len(a) != len(b):
            problems.append(f"{name}: {len(a)} vs {len(b)} rows")
            continue
        cells = [(k, x[k], y.get(k)) for x, y in zip(a, b, strict=True) for k in x
                 if x[k] != y.get(k)]
        if cells:
            numeric = []
            for _, u, v in cells:
                try:
                    numeric.append(abs(float(u) - float(v)))
                except (TypeError, ValueError):  # text or flags: counted, not measured
                    pass
            problems.append(f"{name}: {len(cells)} of {sum(map(len, a))} cells differ"
                            + (f", max |difference| {max(numeric):.4g}" if numeric else ""))
        else:
            model = "/".join(name.parts[:-2])
            identical[model] = identical.get(model, 0) + 1
    for model, count in identical.items():
        print(f"{model}: {count} tables identical")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", default="results/quick",
                        help="results of the quick DAG (default: %(default)s)")
    parser.add_argument("--out", default="results/quick-rerun",
                        help="where the second run writes (default: %(default)s)")
    parser.add_argument("--models", choices=("representative", "all"), default="representative",
                        help="one model per platform (default) or every (platform, method)")
    args = parser.parse_args()
    print("quick DAG models trained and evaluated a second time on this machine")
    tables = model_tables(REPO / args.reference, args.models)
    if not tables:
        print(f"no evaluation tables under {args.reference}/eval: run `make quick` first")
        return 1
    print("models: " + ", ".join(sorted({"/".join(t.parts[1:3]) for t in tables})))
    # only these models' tables (what is compared): training and evaluation jobs, no figures.
    # Targets first: --quiet and --config take every word after them
    targets = [f"{args.out}/{t}" for t in tables]
    subprocess.run([sys.executable, "-m", "snakemake", *targets, "-j2", "--workflow-profile",
                    "profiles/quick", "--quiet", "rules",
                    "--config", f"results_dir={args.out}", f"figures_dir={args.out}/figures"],
                   cwd=REPO, check=True)
    problems = compare(REPO / args.reference, REPO / args.out, tables)
    for line in problems:
        print(line)
    print("same tables: the run is deterministic on this machine" if not problems
          else "TABLES DIFFER: the same run on the same machine gave other numbers")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
