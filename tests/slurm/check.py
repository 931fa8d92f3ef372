"""The quick DAG on a SLURM cluster through profiles/slurm: same tables as the local quick run, and
a `scancel`led training job is reported as failed and recovered by rerunning.

    sudo tests/slurm/bringup.sh                   # a one-node SLURM cluster on this machine
    .venv/bin/python tests/slurm/check.py         # after `make quick` (the reference tables)
    sudo tests/slurm/teardown.sh

Steps (each timed; a summary is printed at the end and written to <run-dir>/slurm-check.json):

1. A copy of this repository in --run-dir (default /tmp/slurm-run): `git clone` of HEAD plus the
   working tree's uncommitted changes and untracked files (--source worktree, the default: the
   reference tables come from the working tree) or HEAD only (--source head). This repository is
   only read. The data cache results/data/*.pt is copied (else the `data` rule rebuilds it).
2. `snakemake [--until-tables] --workflow-profile profiles/slurm --configfile config/quick.yaml
   --config results_dir=results/quick-slurm ...` in the copy, with PYTHONPATH=<copy>/src (the
   package is installed editable from this repository; sbatch exports the environment, so jobs
   import the copy's code). Partition and account are left to the plugin (default partition from
   sinfo; account guessed), as the profile ships. Wall time and the SLURM jobs (sacct, by the
   run's job name) are reported.
3. Every CSV of --reference/tables (default results/quick/tables of this repository) is compared
   with the SLURM run's, cell by cell except wall-clock columns (tests/determinism.compare).
4. scancel: one training job (--scancel-target, default d2nn/sat_pat, the longest quick one) is
   forced to rerun; once its log shows seed 0's first epoch, the job is `scancel`led. Snakemake
   must report it failed and stop within --detect-limit seconds (default 180); the same command
   is run again and must complete, resuming from the per-epoch checkpoint; the recovered models
   must equal the ones of step 2 (weights and metadata, wall-clock fields aside).

Exit status 0 only when every step passed. Needs a running SLURM (tests/slurm/bringup.sh).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
OUT = "results/quick-slurm"  # the SLURM run's results_dir inside the copy


def log(msg: str) -> None:
    print(f"[check {datetime.now():%H:%M:%S}] {msg}", flush=True)


def sh(cmd: list[str], **kw) -> str:
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def prepare_copy(run_dir: Path, source: str, reuse: bool) -> dict:
    """A clone of this repository (plus the working tree's changes) in run_dir."""
    git = ["git", "--no-optional-locks", "-C", str(REPO)]
    head = sh([*git, "rev-parse", "HEAD"]).strip()
    diff = sh([*git, "diff", "HEAD", "--binary"]) if source == "worktree" else ""
    info = {"head": head, "source": source, "uncommitted_diff_lines": diff.count("\n")}
    if reuse and run_dir.is_dir():
        log(f"reusing {run_dir}")
        return info
    if run_dir.exists():
        shutil.rmtree(run_dir)
    subprocess.run(["git", "clone", "-q", str(REPO), str(run_dir)], check=True)
    if diff:
        subprocess.run(["git", "-C", str(run_dir), "apply", "--whitespace=nowarn", "-"],
                       input=diff, text=True, check=True)
        untracked = sh([*git, "ls-files", "-z", "--others", "--exclude-standard"]).split("\0")
        for rel in filter(None, untracked):
            if (REPO / rel).is_file():
                (run_dir / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / rel, run_dir / rel)
        info["untracked_files"] = len([u for u in untracked if u])
    data = sorted((REPO / "results" / "data").glob("*.pt"))
    if data:
        (run_dir / "results" / "data").mkdir(parents=True, exist_ok=True)
        for f in data:
            shutil.copy2(f, run_dir / "results" / "data" / f.name)
            os.utime(run_dir / "results" / "data" / f.name)  # newer than the copied code
    info["data_cache_copied"] = [f.name for f in data]
    log(f"copy in {run_dir}: HEAD {head[:10]}"
        + (f" + working-tree diff ({info['uncommitted_diff_lines']} lines)" if diff else "")
        + (f", data cache copied ({len(data)} file)" if data else ", the data rule builds it"))
    return info


def snakemake_cmd(targets: list[str], extra: list[str] = ()) -> list[str]:
    # targets first: --configfile and --config take every word after them
    return [*SNAKEMAKE, *targets, "--workflow-profile", "profiles/slurm", *extra,
            "--configfile", "config/quick.yaml",
            "--config", f"results_dir={OUT}", f"figures_dir={OUT}/figures"]


class Run:
    """A Snakemake process whose output lines are timestamped, echoed to a log file and kept."""

    def __init__(self, cmd: list[str], cwd: Path, env: dict, logfile: Path, echo: bool):
        self.lines: list[tuple[float, str]] = []
        self.start = time.monotonic()
        self.logfile = open(logfile, "w")
        self.echo = echo
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, text=True, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, bufsize=1)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            t = time.monotonic()
            self.lines.append((t, line.rstrip("\n")))
            self.logfile.write(f"{t - self.start:8.1f} {line}")
            self.logfile.flush()
            if self.echo:
                print(f"    | {line}", end="", flush=True)

    def wait(self, timeout: float | None = None) -> int:
        rc = self.proc.wait(timeout=timeout)
        self.reader.join(10)
        self.logfile.close()
        return rc

    def first(self, pattern: str, after: float = 0.0) -> float | None:
        rx = re.compile(pattern)
        return next((t for t, line in list(self.lines) if t >= after and rx.search(line)), None)

    def run_id(self) -> str | None:
        for _, line in self.lines:
            m = re.search(r"SLURM run ID: (\S+)", line)
            if m:
                return m.group(1)
        return None


def sacct_jobs(name: str) -> list[dict]:
    fields = ["JobID", "State", "Elapsed", "Comment"]
    out = sh(["sacct", "-X", "-n", "-P", "-S", "now-1days", "--name", name,
              "-o", ",".join(f + ("%200" if f == "Comment" else "") for f in fields)])
    return [dict(zip(fields, line.split("|", len(fields) - 1), strict=True))
            for line in out.splitlines() if line]


def model_payload(path: Path) -> tuple[dict, dict]:
    import torch

    blob = torch.load(path, map_location="cpu", weights_only=False)
    meta = json.loads(json.dumps(blob["meta"], default=str))
    meta.pop("wall_time_s", None)
    for h in meta.get("history", []):
        h.pop("seconds", None)
    return blob["state_dict"], meta


def same_model(a: Path, b: Path) -> str | None:
    import torch

    sa, ma = model_payload(a)
    sb, mb = model_payload(b)
    if sa.keys() != sb.keys():
        return "different parameter names"
    diff = [k for k in sa if not torch.equal(sa[k], sb[k])]
    if diff:
        return f"weights differ: {', '.join(diff[:5])}"
    if ma != mb:
        return "metadata differ: " + ", ".join(k for k in ma if ma.get(k) != mb.get(k))
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run-dir", type=Path, default=Path("/tmp/slurm-run"))
    ap.add_argument("--reference", default=str(REPO / "results" / "quick"),
                    help="the local quick run's results (default: %(default)s); 'local': run the "
                    "quick DAG's tables locally (profiles/quick) in the copy after the SLURM run "
                    "and compare with those (same code for both, whatever this tree does now)")
    ap.add_argument("--source", choices=["worktree", "head"], default="worktree")
    ap.add_argument("--reuse", action="store_true", help="keep an existing --run-dir")
    ap.add_argument("--tables-only", action="store_true",
                    help="build the tables only, not the figures (local jobs, not SLURM ones)")
    ap.add_argument("--skip-dag", action="store_true", help="steps 1-3 skipped (needs --reuse)")
    ap.add_argument("--skip-scancel", action="store_true")
    ap.add_argument("--scancel-target", default="d2nn/sat_pat", help="platform/method")
    ap.add_argument("--detect-limit", type=float, default=180.0)
    ap.add_argument("--quiet", action="store_true", help="do not echo Snakemake's output")
    args = ap.parse_args()
    summary: dict = {"started": datetime.now().isoformat(timespec="seconds"), "passed": True}
    failures: list[str] = []

    try:
        sh(["scontrol", "ping"])
        summary["slurm"] = sh(["sinfo", "-h", "-o", "%P %N %c CPUs %m MB %T"]).strip()
    except (OSError, subprocess.CalledProcessError) as err:
        print(f"check: FAILED: SLURM not reachable ({err}); run tests/slurm/bringup.sh first")
        return 1
    local_ref = args.reference == "local"
    reference = Path(args.reference) if not local_ref else None
    ref_tables = [] if local_ref else sorted((reference / "tables").glob("*.csv"))
    if not local_ref and not ref_tables:
        print(f"check: FAILED: no reference tables under {reference}/tables (make quick)")
        return 1

    run_dir = args.run_dir.resolve()
    summary["copy"] = prepare_copy(run_dir, args.source, args.reuse or args.skip_dag)
    env = {**os.environ, "PYTHONPATH": str(run_dir / "src")}
    env.pop("SLURM_JOB_ID", None)
    logs = run_dir / "slurm-check-logs"
    logs.mkdir(exist_ok=True)

    # --- 2. the quick DAG on SLURM --------------------------------------------------------
    if not args.skip_dag:
        names = [t.name for t in ref_tables or (REPO / "results/quick/tables").glob("*.csv")]
        if args.tables_only and not names:
            print("check: FAILED: --tables-only needs table names (results/quick/tables)")
            return 1
        targets = [f"{OUT}/tables/{n}" for n in sorted(names)] if args.tables_only else []
        cmd = snakemake_cmd(targets)
        log("quick DAG on SLURM: " + " ".join(cmd[2:]))
        run = Run(cmd, run_dir, env, logs / "dag.log", echo=not args.quiet)
        rc = run.wait()
        wall = time.monotonic() - run.start
        jobs = sacct_jobs(run.run_id()) if run.run_id() else []
        states: dict[str, int] = {}
        for j in jobs:
            states[j["State"]] = states.get(j["State"], 0) + 1
        rules: dict[str, int] = {}
        for j in jobs:
            r = (j["Comment"] or "?").split("_wildcards_")[0].removeprefix("rule_")
            rules[r] = rules.get(r, 0) + 1
        local = sum(1 for _, line in run.lines if re.match(r"^localrule \w+:", line))
        summary["dag"] = {"rc": rc, "wall_s": round(wall, 1), "slurm_run_id": run.run_id(),
                          "slurm_jobs": len(jobs), "slurm_states": states,
                          "slurm_jobs_by_rule": rules, "local_jobs": local,
                          "log": str(logs / "dag.log")}
        log(f"quick DAG: exit {rc}, {wall / 60:.1f} min, {len(jobs)} SLURM jobs {states}, "
            f"{local} local jobs")
        if rc != 0:
            failures.append(f"quick DAG on SLURM exited {rc} (see {logs / 'dag.log'})")

        # --- 3. tables ----------------------------------------------------------------------
        sys.path.insert(0, str(REPO / "tests"))
        from determinism import compare  # noqa: E402  (prints "<table>: identical (n rows)")

        if local_ref:
            ref_tables = sorted((run_dir / OUT / "tables").glob("*.csv"))
            reference = run_dir / "results" / "quick-local"
            cmd = [*SNAKEMAKE, *[f"results/quick-local/tables/{t.name}" for t in ref_tables],
                   "-j2", "--workflow-profile", "profiles/quick", "--quiet", "rules",
                   "--config", "results_dir=results/quick-local",
                   "figures_dir=results/quick-local/figures"]
            log("reference: the quick DAG's tables locally in the copy: " + " ".join(cmd[2:]))
            ref = Run(cmd, run_dir, env, logs / "local-reference.log", echo=not args.quiet)
            rc = ref.wait()
            wall = round(time.monotonic() - ref.start, 1)
            summary["local_reference"] = {"rc": rc, "wall_s": wall}
            log(f"local reference: exit {rc}, {wall / 60:.1f} min")
            if rc != 0:
                failures.append(f"local reference run exited {rc}")
        summary["reference"] = str(reference)
        log(f"tables: {reference}/tables vs {run_dir / OUT}/tables")
        problems = compare(reference, run_dir / OUT)
        summary["tables"] = {"compared": len(ref_tables), "differ": problems}
        for p in problems:
            print(p)
        if problems:
            failures.append(f"{len(problems)} of {len(ref_tables)} tables differ")
        else:
            log(f"tables: all {len(ref_tables)} identical (wall-clock columns aside)")

    # --- 4. scancel -----------------------------------------------------------------------
    if not args.skip_scancel:
        platform, method = args.scancel_target.split("/")
        models = sorted((run_dir / OUT / "models" / platform / method).glob("seed*.pt"))
        if not models:
            failures.append(f"scancel test: no models of {args.scancel_target} to force")
        else:
            summary["scancel"] = scancel_test(run_dir, env, logs, platform, method, models,
                                              args.detect_limit, failures, not args.quiet)

    summary["passed"] = not failures
    summary["failures"] = failures
    (run_dir / "slurm-check.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    print("SLURM CHECK PASSED" if not failures else "SLURM CHECK FAILED: " + "; ".join(failures))
    return 0 if not failures else 1


def scancel_test(run_dir: Path, env: dict, logs: Path, platform: str, method: str,
                 models: list[Path], detect_limit: float, failures: list[str], echo: bool) -> dict:
    kept = logs / "models-before-scancel"
    shutil.rmtree(kept, ignore_errors=True)
    kept.mkdir()
    for m in models:
        shutil.copy2(m, kept / m.name)
    target = str(models[0].relative_to(run_dir))
    train_log = run_dir / OUT / "logs" / "train" / platform / f"{method}.log"
    cmd = snakemake_cmd([target], ["--forcerun", "train"])
    result: dict = {"target": target, "command": " ".join(cmd[2:])}
    log(f"scancel test: {' '.join(cmd[2:])}")
    if train_log.exists():
        train_log.unlink()
    run = Run(cmd, run_dir, env, logs / "scancel-1.log", echo)
    # the first epoch's checkpoint of the first seed, written after the epoch's log line
    checkpoint = models[0].with_name(models[0].name + ".partial")
    jobid = None
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and run.proc.poll() is None:
        if checkpoint.is_file():
            running = sh(["squeue", "-h", "-t", "RUNNING", "-o", "%i %j"]).split("\n")
            ids = [line.split()[0] for line in running if line.strip()]
            if len(ids) == 1:
                jobid = ids[0]
                break
            failures.append(f"scancel test: expected one running SLURM job, squeue: {running}")
            break
        time.sleep(0.5)
    if jobid is None:
        run.proc.terminate()
        run.wait(60)
        failures.append("scancel test: the training job never reached its first epoch")
        return result
    t_cancel = time.monotonic()
    subprocess.run(["scancel", jobid], check=True)
    result["job"] = jobid
    result["cancelled_after_s"] = round(t_cancel - run.start, 1)
    result["train_log_at_cancel"] = train_log.read_text(errors="replace").strip().splitlines()[-3:]
    log(f"scancel {jobid} ({result['cancelled_after_s']} s after start; log: "
        f"{result['train_log_at_cancel'][-1]!r})")
    try:
        rc = run.wait(timeout=detect_limit)
    except subprocess.TimeoutExpired:
        run.proc.terminate()
        run.wait(60)
        failures.append(f"scancel test: Snakemake still running {detect_limit:.0f} s after scancel")
        result["detected"] = False
        return result
    t_exit = time.monotonic()
    t_error = run.first(r"(Error in rule|SLURM-job .* failed|failed, SLURM status)", t_cancel)
    state = sh(["sacct", "-X", "-n", "-P", "-j", jobid, "-o", "State"]).strip()
    result.update({"rc": rc, "detected": rc != 0,
                   "error_reported_after_s": round(t_error - t_cancel, 1) if t_error else None,
                   "snakemake_exited_after_s": round(t_exit - t_cancel, 1),
                   "sacct_state": state,
                   "message": next((line for t, line in run.lines if t >= t_cancel
                                    and "SLURM" in line and "fail" in line), None)})
    log(f"scancel detected: Snakemake exit {rc}; error reported "
        f"{result['error_reported_after_s']} s, exited {result['snakemake_exited_after_s']} s "
        f"after scancel; sacct: {state}")
    if rc == 0:
        failures.append("scancel test: Snakemake exited 0 after its job was cancelled")
    partials = sorted(p.name for p in models[0].parent.glob("*.partial"))
    result["checkpoints_after_cancel"] = partials

    # the same command again: completes, resuming from the checkpoint
    rerun = Run(cmd, run_dir, env, logs / "scancel-2.log", echo)
    rc2 = rerun.wait(timeout=900)
    result["rerun"] = {"rc": rc2, "wall_s": round(time.monotonic() - rerun.start, 1)}
    epochs = [line for line in train_log.read_text(errors="replace").splitlines()
              if re.search(rf"\[{platform}/{method}/seed\d+\] epoch \d+/", line)]
    result["rerun"]["epochs_trained"] = [re.sub(r" loss .*", "", e) for e in epochs]
    trained_seed0_epoch1 = any(re.search(rf"/seed{models[0].stem[4:]}\] epoch 1/", e)
                               for e in epochs)
    result["rerun"]["resumed_from_checkpoint"] = bool(partials) and not trained_seed0_epoch1
    log(f"rerun: exit {rc2}, {result['rerun']['wall_s']} s; epochs trained: "
        f"{result['rerun']['epochs_trained']}")
    if rc2 != 0:
        failures.append(f"scancel test: the rerun exited {rc2} (see {logs / 'scancel-2.log'})")
        return result
    if not result["rerun"]["resumed_from_checkpoint"]:
        failures.append("scancel test: the rerun did not resume from the checkpoint")
    same = {m.name: same_model(kept / m.name, m) or "identical" for m in models}
    result["recovered_models_vs_dag_run"] = same
    log(f"recovered models vs the DAG run's: {same}")
    if any(v != "identical" for v in same.values()):
        failures.append(f"scancel test: recovered models differ: {same}")
    return result


if __name__ == "__main__":
    sys.exit(main())
