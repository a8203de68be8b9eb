#!/usr/bin/env bash
# Install, start and stop a real one-node SLURM cluster on localhost (for tests).
set -euo pipefail

STATE="${SLURM_TEST_DIR:-/tmp/distill-slurm}"
CONF=/etc/slurm/slurm.conf
MARK="# distill-slurm-test-cluster (generated; safe to overwrite)"
PKGS=(slurmctld slurmd slurm-client munge)
HOST="$(hostname -s)"
TIMEOUT="${SLURM_TEST_TIMEOUT:-30}"

usage() {
  cat <<EOF
Usage: $(basename "$0") {install|start|stop|status|-h|--help}

Runs a one-node SLURM cluster (Debian slurm-wlm + munge, no systemd) on
localhost, node "$HOST", partition "debug". Must run as root.

  install  apt-get install ${PKGS[*]} (only the missing ones)
  start    install if needed, write $CONF, start munged (unless one is
           already running), slurmctld and slurmd; wait until the node is idle.
           Exits 0 if the cluster is already running.
  stop     cancel queued/running jobs, kill the daemons via their pid files
           (munged only if we started it) and wait for them to exit; then
           remove $CONF if this script wrote it and put back the newest
           backup of the one it replaced, if any. Idempotent.
  status   print sinfo and squeue, or "not running".

The config goes to $CONF, where sbatch/squeue/sinfo look by default, so
any process (e.g. snakemake's slurm executor) uses the cluster with no extra
environment; a slurm.conf this script did not write is first backed up to
$CONF.bak.<time>; stop undoes both (a slurm.conf left behind would make
every SLURM client, e.g. the "scontrol show config" that snakemake's slurm
plugin runs at each start, wait ~10 s for a controller that is gone). Logs,
pid files, spool and controller state live in the state dir and survive
stop/start (job ids keep counting; for a clean slate: stop, then rm -rf the
state dir). Notes for users of the cluster:
  - Finished jobs stay visible to squeue for an hour (MinJobAge=3600).
  - No accounting: sacct fails ("Slurm accounting storage is disabled"), so
    run snakemake with --slurm-status-command squeue.
  - No GPUs/GRES: --gpus/--gres requests are rejected by sbatch.
  - Jobs submitted right after start wait ~3 s for the first scheduling pass.

Environment:
  SLURM_TEST_DIR      state dir (default /tmp/distill-slurm; now: $STATE)
  SLURM_TEST_TIMEOUT  seconds to wait for the node to become idle (default 30)
EOF
}

die() { echo "slurm-test-cluster: error: $*" >&2; exit 1; }
# running PID NAME: process exists, is not a zombie (PID 1 here reaps late) and is NAME
running() { local st cm; read -r st cm < <(ps -o stat=,comm= -p "$1" 2>/dev/null) && [[ $st != Z* && $cm == "$2" ]]; }
alive() { [[ -s "$1" ]] && running "$(cat "$1")" "$(basename "$1" .pid)"; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

cmd_install() {
  local missing=() p
  for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  command -v apt-get >/dev/null || die "apt-get not found: need Debian/Ubuntu to install ${missing[*]}"
  echo "installing ${missing[*]} ..."
  export DEBIAN_FRONTEND=noninteractive
  local apt=(apt-get install -y -q --no-install-recommends "${missing[@]}")
  "${apt[@]}" >"/tmp/slurm-test-apt.log" 2>&1 \
    || { apt-get update -q >>"/tmp/slurm-test-apt.log" 2>&1 && "${apt[@]}" >>"/tmp/slurm-test-apt.log" 2>&1; } \
    || { tail -n 20 /tmp/slurm-test-apt.log >&2; die "apt-get install ${missing[*]} failed (log: /tmp/slurm-test-apt.log)"; }
}

write_conf() {
  local mem=$(( $(awk '/^MemTotal/ {print int($2/1024)}' /proc/meminfo) - 1024 ))
  if [[ -f $CONF ]] && ! grep -qxF "$MARK" "$CONF"; then
    local bak; bak="$CONF.bak.$(date +%Y%m%d%H%M%S)"
    cp -p "$CONF" "$bak" && echo "backed up existing $CONF (not ours) to $bak"
  fi
  mkdir -p /etc/slurm
  cat >"$CONF" <<EOF
$MARK
ClusterName=distilltest
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
MailProg=/bin/true
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
ReturnToService=2
MinJobAge=3600
DefMemPerCPU=1024
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

start_munge() {
  # Reuse a munged that already answers (ours or the system's).
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then return 0; fi
  [[ -f /etc/munge/munge.key ]] || mungekey --create >/dev/null
  chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 "$STATE/munge"
  runuser -u munge -- munged --pid-file="$STATE/munge/munged.pid" \
    --log-file="$STATE/munge/munged.log" || die "munged failed to start (log: $STATE/munge/munged.log)"
  touch "$STATE/munged.ours"
}

node_state() { sinfo -h -n "$HOST" -o %T 2>/dev/null | head -n1; }

cmd_start() {
  if alive "$STATE/slurmctld.pid" && alive "$STATE/slurmd.pid"; then
    echo "slurm test cluster already running (state dir $STATE)"; return 0
  fi
  cmd_stop >/dev/null   # clear half-started leftovers and stale pid files
  cmd_install
  mkdir -p "$STATE/ctld" "$STATE/slurmd"
  write_conf
  start_munge
  slurmctld || die "slurmctld failed to start; see $STATE/slurmctld.log"
  slurmd || die "slurmd failed to start; see $STATE/slurmd.log"
  local t0=$SECONDS s=""
  while ((SECONDS - t0 < TIMEOUT)); do
    s="$(node_state)"
    case "$s" in
      idle|mixed|allocated) echo "slurm test cluster up: node $HOST $s (conf $CONF, state dir $STATE)"; return 0 ;;
      down*|drain*|fail*) scontrol update nodename="$HOST" state=resume 2>/dev/null || true ;;
    esac
    sleep 0.5
  done
  local f; for f in slurmctld slurmd; do  # the mpi/pmix errors are harmless noise
    echo "--- tail of $STATE/$f.log" >&2; grep -v -e pmix -e 'MPI:' "$STATE/$f.log" | tail -n 12 >&2 || true
  done
  cmd_stop >/dev/null
  die "node $HOST not idle after ${TIMEOUT}s (state: '${s:-unknown}'); logs above, in $STATE"
}

stop_pids() {  # stop_pids PIDFILE...: SIGTERM all, wait up to 10 s, then SIGKILL
  local f i pids=() names=()
  for f in "$@"; do
    if alive "$f"; then pids+=("$(cat "$f")"); names+=("$(basename "$f" .pid)"); fi
    rm -f "$f"
  done
  ((${#pids[@]})) || return 0
  kill "${pids[@]}" 2>/dev/null || true
  for i in "${!pids[@]}"; do
    for _ in $(seq 100); do running "${pids[i]}" "${names[i]}" || break; sleep 0.1; done
    if running "${pids[i]}" "${names[i]}"; then echo "${names[i]} ignored SIGTERM; killing" >&2; kill -9 "${pids[i]}" || true; fi
  done
  echo "stopped ${names[*]}"
}

cmd_stop() {
  if alive "$STATE/slurmctld.pid" && alive "$STATE/slurmd.pid"; then  # cancel jobs so no job processes leak
    local jobs; mapfile -t jobs < <(squeue -h -t PD,R,CG,S -o %i 2>/dev/null || true)
    if ((${#jobs[@]})); then
      echo "cancelling jobs: ${jobs[*]}"; scancel "${jobs[@]}" || true
      for _ in $(seq 50); do [[ -z "$(squeue -h -t R,CG -o %i 2>/dev/null)" ]] && break; sleep 0.2; done
    fi
  fi
  stop_pids "$STATE/slurmd.pid" "$STATE/slurmctld.pid"
  if [[ -f $STATE/munged.ours ]]; then stop_pids "$STATE/munge/munged.pid"; rm -f "$STATE/munged.ours"; fi
  restore_conf
}

restore_conf() {  # remove our slurm.conf; put back the newest backup write_conf made, if any
  [[ -f $CONF ]] && grep -qxF "$MARK" "$CONF" || return 0
  rm -f "$CONF"
  local bak; bak="$(compgen -G "$CONF.bak.*" | grep -E '\.bak\.[0-9]{14}$' | sort | tail -n1 || true)"
  if [[ -n $bak ]]; then mv "$bak" "$CONF" && echo "restored $CONF from $bak"; else echo "removed $CONF"; fi
}

cmd_status() {
  if alive "$STATE/slurmctld.pid"; then sinfo; echo; squeue -t all; else echo "not running"; fi
}

case "${1:-}" in
  -h|--help|help) usage; exit 0 ;;
  install|start|stop|status) ;;
  "") usage >&2; exit 2 ;;
  *) die "unknown subcommand '$1' (try --help)" ;;
esac
[[ $(id -u) -eq 0 ]] || die "must run as root: apt-get and the daemons need it"
"cmd_$1"
