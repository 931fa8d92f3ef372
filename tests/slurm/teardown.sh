#!/usr/bin/env bash
# Stop the one-node SLURM cluster of tests/slurm/bringup.sh: cancel its jobs, then stop slurmd,
# slurmctld, slurmdbd, mariadbd and munged, each by its pid file (nothing else is signalled).
# Packages, configuration and the accounting database stay, so bringup.sh restarts in seconds.
# Safe to run when nothing is up. Prints "teardown: stopped ..." or one FAILED line.
set -uo pipefail
[ "$(id -u)" = 0 ] || { echo "teardown: FAILED: needs root" >&2; exit 1; }

if command -v squeue >/dev/null && scontrol ping >/dev/null 2>&1; then
    jobs=$(squeue -h -o %i 2>/dev/null | tr '\n' ' ')
    if [ -n "${jobs// }" ]; then
        echo "teardown: cancelling jobs $jobs"
        # shellcheck disable=SC2086
        scancel $jobs
        for _ in $(seq 30); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 1; done
    fi
fi

stopped=() failed=()
stop() {  # stop NAME PIDFILE
    local name=$1 pidfile=$2 pid
    [ -s "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
    kill "$pid"
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then failed+=("$name (pid $pid)"); else stopped+=("$name"); fi
}
stop slurmd /run/slurmd.pid
stop slurmctld /run/slurmctld.pid
stop slurmdbd /run/slurmdbd.pid
stop mariadbd /run/mysqld/mysqld.pid
stop munged /run/munge/munged.pid

if [ ${#failed[@]} -gt 0 ]; then
    echo "teardown: FAILED: still running after 30 s: ${failed[*]}" >&2
    exit 1
fi
echo "teardown: stopped ${stopped[*]:-nothing (nothing was running)}"
