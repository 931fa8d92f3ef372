"""Run the quick DAG as if on an older CPU and compare its tables with the normal quick run.

    python tests/cpu_levels.py            (make check-cpu-levels; after `make quick`)
    python tests/cpu_levels.py --reference results/quick-native --out results/quick-older-native

One machine imitates an older CPU through the ISA-dispatch variables of the libraries involved
(:data:`OLDER_CPU`): ATen's kernels, oneDNN's, MKL's code branch, glibc's libm/string variants and
numpy's SIMD loops. The quick DAG's tables (not its figures) are then computed into
``results/quick-older-cpu`` and every table is compared with ``results/quick`` cell by cell
(wall-clock columns excepted). Identical tables mean identical nbval summaries.

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


def compare(reference: Path, other: Path) -> list[str]:
    """Differences between the tables of two results directories, one line per table."""
    problems = []
    tables = sorted((reference / "tables").glob("*.csv"))
    if not tables:
        return [f"no tables under {reference / 'tables'}: run `make quick` first"]
    for table in tables:
        theirs = other / "tables" / table.name
        if not theirs.is_file():
            problems.append(f"{table.name}: missing in {other}")
            continue
        a, b = read(table), read(theirs)
        if len(a) != len(b):
            problems.append(f"{table.name}: {len(a)} vs {len(b)} rows")
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
            problems.append(f"{table.name}: {len(cells)} of {sum(map(len, a))} cells differ"
                            + (f", max |difference| {max(numeric):.4g}" if numeric else ""))
        else:
            print(f"{table.name}: identical ({len(a)} rows)")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", default="results/quick",
                        help="results of the quick DAG run normally (default: %(default)s)")
    parser.add_argument("--out", default="results/quick-older-cpu",
                        help="where the imitated run writes (default: %(default)s)")
    args = parser.parse_args()
    print("quick DAG as on an older CPU: " + " ".join(f"{k}={v}" for k, v in OLDER_CPU.items()))
    # only the tables (what is compared): the figure jobs would add a minute and check nothing
    targets = [f"{args.out}/tables/{t.name}" for t in sorted((REPO / args.reference /
                                                              "tables").glob("*.csv"))]
    if not targets:
        print(f"no tables under {args.reference}/tables: run `make quick` first")
        return 1
    # targets first: --quiet and --config take every word after them
    subprocess.run([sys.executable, "-m", "snakemake", *targets, "-j2", "--workflow-profile",
                    "profiles/quick", "--quiet", "rules",
                    "--config", f"results_dir={args.out}", f"figures_dir={args.out}/figures"],
                   cwd=REPO, env=older_cpu_env(), check=True)
    problems = compare(REPO / args.reference, REPO / args.out)
    for line in problems:
        print(line)
    print("same tables" if not problems else "TABLES DIFFER")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
