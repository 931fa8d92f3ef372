#!/usr/bin/env bash
# A one-node SLURM cluster on this machine (Debian 12: SLURM 22.05, munge, MariaDB accounting), for
# tests/slurm/check.sh. Needs root. Idempotent: running it again with the daemons up checks them
# and changes nothing (a changed slurm.conf/slurmdbd.conf restarts the SLURM daemons).
#
#   sudo tests/slurm/bringup.sh        install (apt), configure, start; prints "slurm: up ..."
#   sudo tests/slurm/teardown.sh       stop every daemon this started (jobs cancelled first)
#
# What it sets up: munged (key from the munge package), mariadbd with database slurm_acct_db and
# user slurm@localhost, slurmdbd (accounting_storage/mysql), slurmctld and slurmd as root with
# select/cons_tres, proctrack/linuxproc, task/none (no cgroups needed), one node = this host
# (`slurmd -C`: its CPUs and memory) in one default partition `debug`, cluster `pnnsat`.
# Logs: /var/log/slurm/*.log, /var/log/slurm/mariadbd.log. On failure it prints one line,
# "bringup: FAILED: <what>", and exits 1.
set -uo pipefail

CLUSTER=${SLURM_TEST_CLUSTER:-pnnsat}
PARTITION=${SLURM_TEST_PARTITION:-debug}
DB_PASS=${SLURM_TEST_DB_PASS:-pnnsat-slurm-test}   # local socket only; a throwaway test cluster
CONF_DIR=/etc/slurm
LOG_DIR=/var/log/slurm
PACKAGES=(slurm-wlm slurmdbd munge mariadb-server)

die() { echo "bringup: FAILED: $*" >&2; exit 1; }
say() { echo "bringup: $*"; }
# wait_for SECONDS DESCRIPTION COMMAND...: retry COMMAND once a second
wait_for() {
    local n=$1 what=$2; shift 2
    for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
    return 1
}
pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
last_log() { [ -f "$1" ] && tail -n 3 "$1" | tr '\n' ' ' | cut -c1-400; }

[ "$(id -u)" = 0 ] || die "needs root (installs packages, writes $CONF_DIR, starts daemons)"

# --- packages ------------------------------------------------------------------------------
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/tmp/slurm-bringup-apt.log 2>&1 \
        || die "apt-get update (see /tmp/slurm-bringup-apt.log)"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >>/tmp/slurm-bringup-apt.log 2>&1 \
        || die "apt-get install ${missing[*]} (see /tmp/slurm-bringup-apt.log)"
fi
for b in munged munge unmunge mariadbd mariadb slurmdbd slurmctld slurmd sacctmgr sinfo sbatch; do
    command -v "$b" >/dev/null || die "command $b missing after installing ${PACKAGES[*]}"
done
mkdir -p "$CONF_DIR" "$LOG_DIR" /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /run/munge /run/mysqld

# --- munge ---------------------------------------------------------------------------------
if [ ! -s /etc/munge/munge.key ]; then
    say "creating /etc/munge/munge.key"
    (command -v mungekey >/dev/null && mungekey --create --keyfile=/etc/munge/munge.key) \
        || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=128 2>/dev/null \
        || die "munge key: cannot create /etc/munge/munge.key"
fi
chown munge:munge /etc/munge/munge.key /run/munge && chmod 400 /etc/munge/munge.key
chmod 755 /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    say "starting munged"
    runuser -u munge -- munged --force >/dev/null 2>&1 || die "munged did not start (/var/log/munge/munged.log: $(last_log /var/log/munge/munged.log))"
    wait_for 10 munge bash -c 'munge -n | unmunge' || die "munge: credentials do not round-trip (munge -n | unmunge)"
fi

# --- MariaDB -------------------------------------------------------------------------------
chown mysql:mysql /run/mysqld
if ! mariadb-admin ping >/dev/null 2>&1; then
    say "starting mariadbd"
    [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql --datadir=/var/lib/mysql \
        >/dev/null 2>&1 || die "mariadb-install-db failed"
    setsid mariadbd --user=mysql --datadir=/var/lib/mysql --socket=/run/mysqld/mysqld.sock \
        --pid-file=/run/mysqld/mysqld.pid --bind-address=127.0.0.1 \
        --innodb-lock-wait-timeout=900 >>"$LOG_DIR/mariadbd.log" 2>&1 < /dev/null &
    wait_for 60 mariadb mariadb-admin ping \
        || die "mariadbd did not answer within 60 s ($LOG_DIR/mariadbd.log: $(last_log "$LOG_DIR/mariadbd.log"))"
fi
mariadb -u root <<SQL >/dev/null 2>/tmp/slurm-bringup-sql.log || die "MariaDB: cannot create slurm_acct_db / user slurm ($(cat /tmp/slurm-bringup-sql.log))"
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
FLUSH PRIVILEGES;
SQL

# --- configuration -------------------------------------------------------------------------
HOST=$(hostname -s)
getent hosts "$HOST" >/dev/null || die "host name $HOST does not resolve (add it to /etc/hosts)"
NODE_LINE=$(slurmd -C 2>/dev/null | head -n 1)
case "$NODE_LINE" in NodeName=*) ;; *) die "slurmd -C printed no node line: '$NODE_LINE'" ;; esac
# slurmd -C: this host's CPUs, sockets/cores/threads and memory; keep 1 GiB for the system
REAL_MEM=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$NODE_LINE")
NODE_LINE=$(sed "s/RealMemory=[0-9]*/RealMemory=$((REAL_MEM > 2048 ? REAL_MEM - 1024 : REAL_MEM))/" <<<"$NODE_LINE")

new_slurmdbd=$(cat <<EOF
# written by tests/slurm/bringup.sh
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
DebugLevel=info
LogFile=$LOG_DIR/slurmdbd.log
PidFile=/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageLoc=slurm_acct_db
StorageUser=slurm
StoragePass=$DB_PASS
EOF
)
new_slurm=$(cat <<EOF
# written by tests/slurm/bringup.sh: one node ($HOST), one default partition ($PARTITION)
ClusterName=$CLUSTER
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobCompType=jobcomp/none
AccountingStoreFlags=job_comment
ReturnToService=2
SlurmctldTimeout=120
SlurmdTimeout=300
InactiveLimit=0
KillWait=30
MinJobAge=300
$NODE_LINE State=UNKNOWN
PartitionName=$PARTITION Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
)
changed=0
write_conf() {  # write_conf FILE CONTENT MODE: only when it differs
    if [ ! -f "$1" ] || [ "$(cat "$1")" != "$2" ]; then
        printf '%s\n' "$2" >"$1" || die "cannot write $1"
        changed=1
    fi
    chmod "$3" "$1"
}
write_conf "$CONF_DIR/slurmdbd.conf" "$new_slurmdbd" 600
write_conf "$CONF_DIR/slurm.conf" "$new_slurm" 644

if [ "$changed" = 1 ]; then
    for d in slurmd slurmctld slurmdbd; do
        if pid_alive "/run/$d.pid"; then
            pid=$(cat "/run/$d.pid")
            say "configuration changed: stopping $d (pid $pid)"
            kill "$pid"
            wait_for 30 "$d stop" bash -c "! kill -0 $pid" || die "$d (pid $pid) did not stop within 30 s"
        fi
    done
fi

# --- slurmdbd ------------------------------------------------------------------------------
if ! pid_alive /run/slurmdbd.pid; then
    say "starting slurmdbd"
    slurmdbd >/dev/null 2>&1 || die "slurmdbd did not start ($LOG_DIR/slurmdbd.log: $(last_log "$LOG_DIR/slurmdbd.log"))"
fi
wait_for 60 slurmdbd sacctmgr -n show cluster \
    || die "slurmdbd does not answer sacctmgr within 60 s ($LOG_DIR/slurmdbd.log: $(last_log "$LOG_DIR/slurmdbd.log"))"
if ! sacctmgr -n -P show cluster format=cluster | grep -qx "$CLUSTER"; then
    say "registering cluster $CLUSTER"
    sacctmgr -i add cluster "$CLUSTER" >/dev/null || die "sacctmgr add cluster $CLUSTER"
fi

# --- slurmctld, slurmd ---------------------------------------------------------------------
if ! pid_alive /run/slurmctld.pid; then
    say "starting slurmctld"
    slurmctld >/dev/null 2>&1 || die "slurmctld did not start ($LOG_DIR/slurmctld.log: $(last_log "$LOG_DIR/slurmctld.log"))"
fi
wait_for 60 slurmctld scontrol ping \
    || die "slurmctld does not answer scontrol ping within 60 s ($LOG_DIR/slurmctld.log: $(last_log "$LOG_DIR/slurmctld.log"))"
if ! pid_alive /run/slurmd.pid; then
    say "starting slurmd"
    slurmd >/dev/null 2>&1 || die "slurmd did not start ($LOG_DIR/slurmd.log: $(last_log "$LOG_DIR/slurmd.log"))"
fi
node_ok() { sinfo -h -n "$HOST" -o %T | grep -Eq '^(idle|mixed|allocated|completing)'; }
if ! wait_for 60 node node_ok; then
    # a node left drained/down by an earlier session (e.g. after a crash): resume it once
    scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1
    wait_for 30 node node_ok || die "node $HOST is '$(sinfo -h -n "$HOST" -o '%T %E')' instead of idle ($LOG_DIR/slurmd.log: $(last_log "$LOG_DIR/slurmd.log"))"
fi

# --- smoke test: a job runs and is accounted -----------------------------------------------
out=$(timeout 60 srun -N1 -n1 -t 1 --mem=100 hostname 2>&1) || die "srun hostname: $out"
[ "$out" = "$HOST" ] || [ "$out" = "$(hostname)" ] || die "srun hostname printed '$out'"
say "slurm: up (cluster $CLUSTER, node $(sinfo -h -n "$HOST" -o '%n %c CPUs %m MB %T'), default partition $PARTITION, $(slurmctld -V))"
