"""Per-rule time breakdown of a Snakemake run, from the `benchmark:` files its rules write.

    python benchmarks/dag_profile.py [results/full] [--top 10]

Prints the top jobs by wall time, and wall/CPU time summed per rule and platform (job wall times
overlap when jobs run in parallel, so sums exceed the run's wall time).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def load(results: Path) -> pd.DataFrame:
    rows = []
    for path in sorted((results / "benchmarks").rglob("*.tsv")):
        frame = pd.read_csv(path, sep="\t")
        parts = path.relative_to(results / "benchmarks").with_suffix("").parts
        rows.append({"job": "/".join(parts), "rule": parts[0],
                     "platform": parts[1] if len(parts) > 2 else "-",
                     "wall_s": float(frame.s.iloc[0]), "cpu_s": float(frame.cpu_time.iloc[0]),
                     "max_rss_mib": float(frame.max_rss.iloc[0])})
    if not rows:
        raise SystemExit(f"no benchmark files under {results / 'benchmarks'}: run the DAG first")
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results", nargs="?", default="results/full", type=Path)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    jobs = load(args.results)
    print(f"{len(jobs)} jobs in {args.results}; top {args.top} by wall time:")
    print(jobs.nlargest(args.top, "wall_s")[["job", "wall_s", "cpu_s", "max_rss_mib"]]
          .round(1).to_string(index=False))
    print("\nper rule and platform (sums over jobs):")
    summary = jobs.groupby(["rule", "platform"]).agg(
        jobs=("job", "count"), wall_s=("wall_s", "sum"), cpu_s=("cpu_s", "sum"),
        max_rss_mib=("max_rss_mib", "max"))
    print(summary.round(1).to_string())
    print(f"\nall jobs: wall {jobs.wall_s.sum():.0f} s, cpu {jobs.cpu_s.sum():.0f} s")


if __name__ == "__main__":
    main()
