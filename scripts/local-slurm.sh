#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, from Debian's packages, for the cluster tests
# (tests/test_slurm.py) and for trying profiles/slurm by hand. Needs root and apt.
#
#   scripts/local-slurm.sh start    install (once) and start munged, slurmctld, slurmd
#   scripts/local-slurm.sh stop     stop them
#   scripts/local-slurm.sh status   'up' or 'down' (exit status 0 / 1)
#
# Idempotent: start on a running cluster changes nothing. No accounting database
# (slurmdbd): profiles/slurm asks job states from squeue, which needs none (see there).
# The node offers this machine's CPUs and 90 % of its memory; jobs stay visible to squeue
# for MinJobAge = 600 s after they end, longer than the profile's status polls.
set -euo pipefail

CONF=/etc/slurm/slurm.conf
STATE=/var/spool/slurmctld

install() {
    if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge
    fi
}

configure() {
    local cpus mem host
    cpus=$(nproc)
    mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
    host=$(hostname -s)
    mkdir -p /etc/slurm "$STATE" /var/spool/slurmd /var/log/slurm /run/munge
    cat > "$CONF.new" <<CONF
ClusterName=dagbench-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=600
KillWait=5
InactiveLimit=0
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    if ! cmp -s "$CONF.new" "$CONF" 2>/dev/null; then
        mv "$CONF.new" "$CONF"
    else
        rm "$CONF.new"
    fi
    if [ ! -s /etc/munge/munge.key ]; then
        mkdir -p /etc/munge
        dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
    fi
    chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
    chmod 400 /etc/munge/munge.key
}

up() {
    sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'
}

start() {
    install
    configure
    pgrep -x munged >/dev/null || su -s /bin/sh munge -c /usr/sbin/munged
    pgrep -x slurmctld >/dev/null || slurmctld
    pgrep -x slurmd >/dev/null || slurmd
    for _ in $(seq 60); do
        if up; then echo "slurm: up ($(sinfo -h -o '%n %c CPUs %m MB')); run with --cores $(nproc)"; return 0; fi
        scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true
        sleep 1
    done
    echo "slurm: did not come up; see /var/log/slurm/" >&2
    return 1
}

stop() {
    pkill -x slurmd || true
    pkill -x slurmctld || true
    pkill -x munged || true
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) if up; then echo up; else echo down; exit 1; fi ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
