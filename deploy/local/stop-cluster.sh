#!/usr/bin/env bash
# Stops the nodes started by start-cluster.sh (SIGTERM: drain and close).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="${QUOTAD_CLUSTER_DIR:-$ROOT/var/cluster}"
shopt -s nullglob
for pidfile in "$DIR"/n*.pid; do
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo "stopped $(basename "$pidfile" .pid)"
  fi
  rm -f "$pidfile"
done
