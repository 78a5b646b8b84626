#!/usr/bin/env bash
# A real single-node SLURM cluster for the rehearsal test (tests/test_slurm_cluster.py).
#
#   tests/slurm/cluster.sh start DIR   install SLURM if needed, write DIR/slurm.conf, start
#                                      munged, slurmctld and slurmd; print SLURM_CONF=...
#   tests/slurm/cluster.sh stop DIR    stop the daemons it started (by their pid files)
#   tests/slurm/cluster.sh can-run     exit 0 if this machine can run it (root + apt-get)
#
# Needs root and Debian/Ubuntu packages (munge slurmctld slurmd slurm-client, SLURM 22.05
# on Debian 12). Everything else lives in DIR: no file under /etc/slurm is touched, and
# non-default ports keep clear of a SLURM that may already run here.
#
# The cluster looks like a small real one: a CPU partition `cpu` (the default) and a GPU
# partition `gpu` on one node with 4 fake GPUs (character devices like /dev/null: jobs see
# CUDA_VISIBLE_DEVICES, torch finds no CUDA and runs on the CPU). As on a real cluster a
# GPU job sent to `cpu` is refused at sbatch time (job_submit.lua), so is a request
# larger than a partition allows (EnforcePartLimits=ALL). No accounting (no slurmdbd):
# snakemake must use --slurm-status-command squeue, hence MinJobAge=600.
set -euo pipefail

cmd=${1:?usage: cluster.sh start|stop DIR | can-run}

can_run() {
  if [ "$(id -u)" != 0 ]; then echo "not root"; return 1; fi
  if ! command -v apt-get >/dev/null && ! command -v slurmctld >/dev/null; then
    echo "no apt-get and no SLURM installed"; return 1
  fi
  return 0
}

if [ "$cmd" = can-run ]; then
  why=$(can_run) && exit 0
  echo "$why" >&2; exit 1
fi

dir=${2:?usage: cluster.sh start|stop DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

stop_slurm() {
  for name in slurmd slurmctld; do
    if [ -f "$dir/$name.pid" ]; then
      pid=$(cat "$dir/$name.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$dir/$name.pid"
    fi
  done
  # slurmd's link to its cached config (configless mode), if it is ours
  if [ "$(readlink /run/slurm/conf 2>/dev/null)" = "$dir/spool/conf-cache" ]; then
    rm -f /run/slurm/conf
  fi
}

stop() {
  stop_slurm
  # munged is shared with any other user of munge on this machine: stop it only if we
  # started it
  if [ -f "$dir/munged.started" ]; then
    pkill -x munged 2>/dev/null || true
    rm -f "$dir/munged.started"
  fi
}

if [ "$cmd" = stop ]; then stop; exit 0; fi
[ "$cmd" = start ] || { echo "unknown command $cmd" >&2; exit 2; }

why=$(can_run) || { echo "cannot start a SLURM cluster here: $why" >&2; exit 1; }

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
   || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends munge slurmctld slurmd slurm-client liblua5.1-0 >/dev/null
fi

# munge: the package made /etc/munge/munge.key. Its socket exists while munged runs
# (a client without munged retries for a long while; pgrep also sees zombies).
if ! { [ -S /run/munge/munge.socket.2 ] && timeout 10 munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }; then
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
  su -s /bin/sh munge -c /usr/sbin/munged
  touch "$dir/munged.started"
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
fi

host=$(hostname -s)
mkdir -p "$dir/state" "$dir/spool"
for g in 0 1 2 3; do
  [ -e "$dir/gpu$g" ] || mknod "$dir/gpu$g" c 1 3   # the device numbers of /dev/null
done
cat > "$dir/slurm.conf" <<CONF
ClusterName=rehearsal
SlurmctldHost=$host
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
MinJobAge=600
EnforcePartLimits=ALL
JobSubmitPlugins=lua
# Configless, as many real clusters: slurmd fetches the config from slurmctld and
# caches it in /run/slurm/conf, where commands inside jobs find it (the jobstep plugin
# drops SLURM_CONF from the environment of the job's inner srun).
SlurmctldParameters=enable_configless
GresTypes=gpu
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
# slurmd trusts these instead of the hardware: the profile's real requests fit.
SlurmdParameters=config_overrides
NodeName=$host CPUs=64 RealMemory=256000 Gres=gpu:4 State=UNKNOWN
# The limits of profiles/slurm/partitions.yaml, as scontrol would show them.
PartitionName=cpu Nodes=$host Default=YES MaxTime=1440 MaxCPUsPerNode=32 MaxMemPerNode=128000 State=UP
PartitionName=gpu Nodes=$host Default=NO MaxTime=1440 MaxMemPerNode=256000 State=UP
CONF
cat > "$dir/gres.conf" <<CONF
NodeName=$host Name=gpu File=$dir/gpu[0-3]
CONF
cat > "$dir/job_submit.lua" <<'LUA'
-- Refuse GPU requests outside the gpu partition, as a real cluster's CPU nodes would.
local function asks_for_gpu(job_desc)
  for _, field in ipairs({"tres_per_job", "tres_per_node", "tres_per_socket", "tres_per_task"}) do
    local value = job_desc[field]
    if value ~= nil and string.find(value, "gpu") then return true end
  end
  return false
end

function slurm_job_submit(job_desc, part_list, submit_uid)
  local partition = job_desc.partition or "cpu"
  if asks_for_gpu(job_desc) and partition ~= "gpu" then
    slurm.log_user("partition '" .. partition .. "' has no GPUs: send GPU jobs to partition 'gpu'")
    return slurm.ERROR
  end
  return slurm.SUCCESS
end

function slurm_job_modify(job_desc, job_rec, part_list, modify_uid)
  return slurm.SUCCESS
end
LUA

export SLURM_CONF="$dir/slurm.conf"
stop_slurm  # daemons of an earlier run of this folder
/usr/sbin/slurmctld -f "$SLURM_CONF"
/usr/sbin/slurmd --conf-server "$host:16817"
for _ in $(seq 100); do
  if sinfo -h -N -o '%t' 2>/dev/null | grep -qx 'idle'; then
    echo "SLURM_CONF=$SLURM_CONF"
    exit 0
  fi
  sleep 0.2
done
echo "the node did not become idle; sinfo says:" >&2
sinfo -N -l >&2 || true
tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
exit 1
