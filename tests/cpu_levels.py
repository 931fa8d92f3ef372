"""Train and evaluate models of the quick DAG as if on an older CPU; compare with the quick run.

    python tests/cpu_levels.py            (make check-cpu-levels; after `make quick`)
    python tests/cpu_levels.py --models all --reference results/quick-native \
        --out results/quick-older-native

One machine imitates an older CPU through the ISA-dispatch variables of the libraries involved
(:data:`OLDER_CPU`): ATen's kernels, oneDNN's, MKL's code branch, glibc's libm/string variants and
numpy's SIMD loops. Snakemake then trains and evaluates models of the quick DAG into
``results/quick-older-cpu`` — by default one per platform (:data:`REPRESENTATIVE`: an offline SAM
model, an in situ model with its error predictors, an in situ diffractive model), ``--models all``
for every (platform, method) — and compares each model's evaluation tables with those of
``results/quick`` cell by cell (wall-clock columns excepted). Identical tables mean identical
nbval summaries for those models.

Under the pinned numerics (``pnnsat.numerics``, default level avx2) the ATen and oneDNN
imitations are overridden by the pin (that is what makes an AVX-512 machine compute like an
AVX2 one) and MKL's COMPATIBLE branch makes its instruction cap moot: what still acts is glibc's
libm/string dispatch and numpy's. So, pinned, this is mostly a check that a second run on
another dispatch of the system libraries gives the same tables; the CPU-specific kernels are
pinned by construction. Run with ``PNNSAT_NUMERICS=native`` to see what the imitation does to
unpinned runs: the tables differ.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: an SSE4.2-era CPU, as far as each library's dispatch variable reaches
OLDER_CPU = {
    "ATEN_CPU_CAPABILITY": "default",
    "ONEDNN_MAX_CPU_ISA": "SSE41",
    "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
    "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2,-FMA,-AVX,-AVX512F",
    "NPY_DISABLE_CPU_FEATURES": "X86_V3,X86_V4,AVX512_ICL,AVX512_SPR",  # numpy 2: groups
}
#: the default models: (platform, method), one per platform; between them they run every kernel
#: family the pipeline uses (convolutions, the MRR banks, the mesh's complex products, the FFT
#: optics), an ASAM ascent, device queries and DAT's predictor networks
REPRESENTATIVE = (("mrr", "sat"), ("mzi", "dat"), ("d2nn", "pat"))
#: columns that measure the machine, not the result
WALL_CLOCK = {"wall_time_s", "seconds"}  # training.csv, curves.csv


def older_cpu_env() -> dict[str, str]:
    """This environment plus :data:`OLDER_CPU` (pinned variables a parent process set are
    dropped first, so the child pins for itself)."""
    from pnnsat.numerics import unpinned_environment

    return unpinned_environment(**OLDER_CPU)


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
                        help="results of the quick DAG run normally (default: %(default)s)")
    parser.add_argument("--out", default="results/quick-older-cpu",
                        help="where the imitated run writes (default: %(default)s)")
    parser.add_argument("--models", choices=("representative", "all"), default="representative",
                        help="one model per platform (default) or every (platform, method)")
    args = parser.parse_args()
    print("quick DAG as on an older CPU: " + " ".join(f"{k}={v}" for k, v in OLDER_CPU.items()))
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
                   cwd=REPO, env=older_cpu_env(), check=True)
    problems = compare(REPO / args.reference, REPO / args.out, tables)
    for line in problems:
        print(line)
    print("same tables" if not problems else "TABLES DIFFER")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
