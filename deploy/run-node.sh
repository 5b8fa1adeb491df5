#!/usr/bin/env bash
# One command to a working node: installs missing packages, builds, and runs
# one quotad on 127.0.0.1 with an embedded RocksDB data dir under var/ and the
# default AUP policy. Ctrl-C (SIGINT) or SIGTERM stops it cleanly.
#   deploy/run-node.sh [extra quotad flags...]
# Environment: QUOTAD_PORT (default 50051), QUOTAD_DATA_DIR (default var/node1).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/deploy/build.sh"
PORT="${QUOTAD_PORT:-50051}"
DATA_DIR="${QUOTAD_DATA_DIR:-$ROOT/var/node1}"
mkdir -p "$DATA_DIR"
QUOTACTL="$ROOT/build/client/quotactl"
cat <<MSG

quotad is starting on 127.0.0.1:$PORT (data dir $DATA_DIR, policy deploy/policy/aup.textproto).
Call it from another terminal:

  $QUOTACTL --target=127.0.0.1:$PORT acquire --ip=192.0.2.7 --user-agent=ndt7-js/0.1 --service=ndt/ndt7
  $QUOTACTL --target=127.0.0.1:$PORT check --ip=192.0.2.7 --user-agent=ndt7-js/0.1 --json

Admin (port 50052, token in $DATA_DIR/admin.token), e.g.:
  $QUOTACTL --target=127.0.0.1:50052 --admin-token-file=$DATA_DIR/admin.token usage --ip=192.0.2.7 --user-agent=ndt7-js/0.1
Metrics: http://127.0.0.1:9464/metrics
Reload the policy with: kill -HUP \$(pgrep -x quotad)     Stop with Ctrl-C.

MSG
exec "$ROOT/build/quotad/server/quotad" \
  --listen="127.0.0.1:$PORT" \
  --data_dir="$DATA_DIR" \
  --policy="$ROOT/deploy/policy/aup.textproto" \
  --admin_listen=127.0.0.1:50052 --metrics_listen=127.0.0.1:9464 \
  --node_id=local-1 --region=local "$@"
