#!/usr/bin/env bash
# Starts N processes of one multi-process run on this machine, as a cluster runs one per host.
#
#   scripts/launch_local.sh N MODULE [FLAGS...]
#   scripts/launch_local.sh 2 experiments.dcgan --workdir=runs/dcgan_2proc --data_dir=../shared/data
#
# Every process gets the same FLAGS plus --coordinator_address=localhost:PORT (a free port,
# or $PORT), --num_processes=N and --process_id=i. On CPU each process has DEVICES_PER_PROCESS
# devices (default 1); JAX's collectives between them use gloo. $PYTHON is the interpreter
# (default: python). SIGTERM or SIGINT is passed to every process (they stop after the same
# step and save). The exit status is the first failing process's, else 0; when one process
# fails the others are stopped.
set -uo pipefail

if [[ $# -lt 2 || ! "$1" =~ ^[1-9][0-9]*$ ]]; then
  echo "error: usage: scripts/launch_local.sh N MODULE [FLAGS...], e.g. scripts/launch_local.sh 2 experiments.dcgan --workdir=runs/x" >&2
  exit 2
fi
num_processes=$1
module=$2
shift 2
python=${PYTHON:-python}
port=${PORT:-$("$python" -c 'import socket; s = socket.socket(); s.bind(("localhost", 0)); print(s.getsockname()[1])')}
devices=${DEVICES_PER_PROCESS:-1}
export XLA_FLAGS="${XLA_FLAGS:-} --xla_force_host_platform_device_count=$devices"

pids=()
for ((i = 0; i < num_processes; i++)); do
  "$python" -m "$module" "$@" --coordinator_address="localhost:$port" --num_processes="$num_processes" \
    --process_id="$i" &
  pids+=($!)
done

forward() { kill -s "$1" "${pids[@]}" 2>/dev/null; }
trap 'forward TERM' TERM
trap 'forward INT' INT

status=0
failed_at=0
while ((${#pids[@]} > 0)); do
  for index in "${!pids[@]}"; do
    pid=${pids[$index]}
    kill -0 "$pid" 2>/dev/null && continue
    wait "$pid"
    rc=$?
    unset "pids[$index]"
    if ((rc != 0 && status == 0)); then
      status=$rc  # the others cannot go on without it: asked to stop, then killed after 30 s
      failed_at=$SECONDS
      forward TERM
    fi
  done
  if ((status != 0 && SECONDS - failed_at > 30 && ${#pids[@]} > 0)); then
    forward KILL
  fi
  sleep 0.2
done
exit $status
