#!/usr/bin/env bash
# slurm-cluster.sh -- a throwaway single-node SLURM cluster for testing layerwise's
# profiles/slurm (snakemake-executor-plugin-slurm) on a Debian 12 machine or container
# without systemd.  Needs root.  See docs/cluster.md ("The local test cluster").
#
#   bash .ci/slurm-cluster.sh start    # install (apt), configure, start daemons, wait for idle node
#   bash .ci/slurm-cluster.sh status   # exit 0 when our daemons run and the node takes jobs, else 3
#   bash .ci/slurm-cluster.sh stop     # stop exactly the daemons this script started (PID files)
#
# Every step is idempotent: a second `start` starts nothing twice, `stop` on a stopped cluster is a
# no-op.  The script never touches daemons it did not start (PIDs are recorded in $STATE_DIR and
# checked against the process name before any signal).
#
# Choices (why):
# - No slurmdbd/MariaDB: accounting costs ~30-40 s of start-up and a database for nothing the
#   tests need.  Status comes from `squeue --states=all`, which only sees finished jobs while they
#   are younger than MinJobAge -- hence MinJobAge=3600 (the plugin falls back to sacct when
#   MinJobAge < 3 * its first-poll delay, and sacct without accounting fails).
# - proctrack/linuxproc + task/none: no cgroup hierarchy is needed (containers rarely give one).
# - Node CPUs from nproc, RealMemory = 90 % of MemTotal (slurmd drains a node that reports less
#   memory than configured).
#
# Knobs (environment):
#   LAYERWISE_SLURM_PARTITION    partition name                       (default: debug)
#   LAYERWISE_SLURM_MIN_JOB_AGE  seconds finished jobs stay in squeue (default: 3600)
#   LAYERWISE_SLURM_STATE_DIR    PID files + daemon stdout             (default: /run/layerwise-slurm)
set -euo pipefail

PARTITION="${LAYERWISE_SLURM_PARTITION:-debug}"
MIN_JOB_AGE="${LAYERWISE_SLURM_MIN_JOB_AGE:-3600}"
STATE_DIR="${LAYERWISE_SLURM_STATE_DIR:-/run/layerwise-slurm}"
LOG_DIR=/var/log/slurm
SPOOL=/var/spool/slurm
CONF=/etc/slurm/slurm.conf
DAEMONS=(munged slurmctld slurmd)   # start order; stop goes in reverse

say() { echo "[slurm-cluster] $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# pid_of NAME -> prints the recorded PID if that process is alive and still is NAME
pid_of() {
  local f="$STATE_DIR/$1.pid" pid
  [[ -s $f ]] || return 1
  pid=$(<"$f")
  [[ -r /proc/$pid/comm && $(<"/proc/$pid/comm") == "$1" ]] || return 1
  echo "$pid"
}

stop_one() {
  local name=$1 pid
  if pid=$(pid_of "$name"); then
    say "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then say "$name ignored SIGTERM, SIGKILL"; kill -KILL "$pid" || true; fi
  fi
  rm -f "$STATE_DIR/$name.pid"
}

cmd_stop() {
  local i
  for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do stop_one "${DAEMONS[i]}"; done
}

node_state() { sinfo -h -N -o '%T' 2>/dev/null | head -1 || true; }

cmd_status() {
  local ok=0 d pid
  for d in "${DAEMONS[@]}"; do
    if pid=$(pid_of "$d"); then echo "$d running (pid $pid)"; else echo "$d not running"; ok=3; fi
  done
  local st; st=$(node_state)
  echo "node state: ${st:-unknown}"
  [[ $st == idle* || $st == mixed* || $st == allocated* ]] || ok=3
  return $ok
}

install_packages() {
  local pkgs=(munge slurmctld slurmd slurm-client) missing=() p
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  command -v apt-get >/dev/null || die "apt-get not found; install ${missing[*]} by hand"
  say "installing ${missing[*]} (apt)"
  export DEBIAN_FRONTEND=noninteractive
  # policy-rc.d exit 101 = "do not start services": the packages' postinst scripts would
  # otherwise try to start daemons through init scripts we do not use.
  local own_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    own_policy=1
  fi
  local rc=0
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } || rc=$?
  ((own_policy)) && rm -f /usr/sbin/policy-rc.d
  ((rc == 0)) || die "apt-get failed (rc=$rc)"
}

# launch NAME CMD... : start CMD in its own session; record the PID of the daemon itself
# (bash writes $$ and then execs, so the PID survives even if setsid has to fork).
launch() {
  local name=$1; shift
  say "starting $name"
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$STATE_DIR/$name.pid" "$@" \
    >"$STATE_DIR/$name.out" 2>&1 </dev/null &
  for _ in $(seq 1 50); do pid_of "$name" >/dev/null && return 0; sleep 0.1; done
  die "$name did not start; see $STATE_DIR/$name.out: $(tail -5 "$STATE_DIR/$name.out" 2>/dev/null)"
}

start_munge() {
  if [[ ! -s /etc/munge/munge.key ]]; then
    say "creating munge key"
    mkdir -p /etc/munge
    mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null \
      || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  fi
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /etc/munge /etc/munge/munge.key /run/munge /var/log/munge /var/lib/munge
  chmod 700 /etc/munge && chmod 400 /etc/munge/munge.key && chmod 755 /run/munge
  pid_of munged >/dev/null \
    || launch munged setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged --foreground
  for _ in $(seq 1 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "munge does not authenticate; see $STATE_DIR/munged.out"
}

render_conf() {
  local host ncpu mem_mb
  host=$(hostname -s)
  ncpu=$(nproc)
  mem_mb=$(awk '/^MemTotal/ {printf "%d", $2 / 1024 * 0.9}' /proc/meminfo)
  cat <<EOF
# written by .ci/slurm-cluster.sh -- single-node test cluster, do not edit by hand
ClusterName=layerwise
SlurmctldHost=${host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
StateSaveLocation=${SPOOL}/ctld
SlurmdSpoolDir=${SPOOL}/d
SlurmctldPidFile=${STATE_DIR}/slurmctld.own.pid
SlurmdPidFile=${STATE_DIR}/slurmd.own.pid
SlurmctldLogFile=${LOG_DIR}/slurmctld.log
SlurmdLogFile=${LOG_DIR}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=${MIN_JOB_AGE}
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
InactiveLimit=0
KillWait=5
Waittime=0
NodeName=${host} NodeAddr=127.0.0.1 CPUs=${ncpu} RealMemory=${mem_mb} State=UNKNOWN
PartitionName=${PARTITION} Nodes=${host} Default=YES MaxTime=INFINITE State=UP
EOF
}

# write_conf -> exit status 0 if the file changed (daemons must restart), 1 if unchanged
write_conf() {
  local new; new=$(render_conf)
  [[ -f $CONF && "$(<"$CONF")" == "$new" ]] && return 1
  say "writing $CONF"
  printf '%s\n' "$new" >"$CONF"
}

start_slurm() {
  if write_conf; then stop_one slurmd; stop_one slurmctld; fi
  if ! pid_of slurmctld >/dev/null; then
    scontrol ping 2>/dev/null | grep -q 'is UP' \
      && die "a slurmctld this script did not start is running; stop it first"
    launch slurmctld /usr/sbin/slurmctld -D -i   # -i: ignore stale state after a config change
    for _ in $(seq 1 100); do scontrol ping 2>/dev/null | grep -q 'is UP' && break; sleep 0.2; done
  fi
  pid_of slurmd >/dev/null || launch slurmd /usr/sbin/slurmd -D
}

wait_for_idle_node() {
  local st
  for _ in $(seq 1 120); do
    st=$(node_state)
    case $st in
      idle* | mixed* | allocated*) return 0 ;;
      down* | drain* | fail*) scontrol update NodeName="$(hostname -s)" State=RESUME 2>/dev/null || true ;;
    esac
    sleep 0.5
  done
  tail -n 20 "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log" >&2 || true
  die "node not idle after 60 s (state '${st:-unknown}')"
}

cmd_start() {
  [[ $(id -u) -eq 0 ]] || die "must run as root (installs packages, starts daemons)"
  local t0=$SECONDS
  install_packages
  mkdir -p "$STATE_DIR" "$LOG_DIR" "$SPOOL/ctld" "$SPOOL/d" /etc/slurm
  start_munge
  start_slurm
  wait_for_idle_node
  sinfo >&2
  say "cluster up in $((SECONDS - t0)) s; partition '$PARTITION'; stop with: bash $0 stop"
}

case "${1:-start}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 [start|status|stop]" >&2; exit 2 ;;
esac
