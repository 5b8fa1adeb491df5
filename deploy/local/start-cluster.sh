#!/usr/bin/env bash
# Starts N regional quotad nodes on 127.0.0.1 (default 3), each with its own
# data dir, quota port (BASE+i-1), admin port (+100), metrics port (+200) and
# peer port (+300, what --peers points at), wired as peers, sharing one
# identity hash key, with the default AUP policy, and TLS on every port with
# mutual TLS between peers (development certificates from
# deploy/tls/make-certs.sh in DIR/certs: one per node, one for the operator),
# and a callers file (DIR/callers.textproto): the operator certificate has the
# admin role, a generated bearer token (DIR/locate.token) the charge role.
# Runs them in the background; stop with stop-cluster.sh.
#   deploy/local/start-cluster.sh [N]
# Environment: QUOTAD_BASE_PORT (default 50061), QUOTAD_CLUSTER_DIR (default var/cluster).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
N="${1:-3}"
BASE_PORT="${QUOTAD_BASE_PORT:-50061}"
DIR="${QUOTAD_CLUSTER_DIR:-$ROOT/var/cluster}"
if ! [[ "$N" =~ ^[0-9]+$ ]] || [ "$N" -lt 1 ] || [ "$N" -gt 9 ]; then
  echo "usage: $0 [N: 1..9]" >&2
  exit 2
fi
"$ROOT/deploy/build.sh"
mkdir -p "$DIR"
REGIONS=(eu-central ap-southeast us-east sa-east af-south eu-north us-west ap-northeast me-central)
KEY="$DIR/identity.key"
if [ ! -f "$DIR/admin.token" ]; then
  (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$DIR/admin.token")
fi
if [ ! -f "$KEY" ]; then
  head -c 32 /dev/urandom > "$KEY.tmp" && chmod 600 "$KEY.tmp" && mv "$KEY.tmp" "$KEY"
fi
NAMES=(operator)
for i in $(seq 1 "$N"); do NAMES+=("n$i"); done
"$ROOT/deploy/tls/make-certs.sh" "$DIR/certs" "${NAMES[@]}"
CERTS="$DIR/certs"
if [ ! -f "$DIR/locate.token" ]; then
  (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$DIR/locate.token")
fi
cat > "$DIR/callers.textproto" <<CALLERS
# Who may call this development cluster (proto/quotad/v1/callers.proto).
principals { name: "locate" roles: "charge" token_sha256: "$(tr -d '\n' < "$DIR/locate.token" | sha256sum | cut -d' ' -f1)" }
principals { name: "operator" roles: "admin" cert_name: "operator" }
CALLERS
for i in $(seq 1 "$N"); do
  if [ -f "$DIR/n$i.pid" ] && kill -0 "$(cat "$DIR/n$i.pid")" 2>/dev/null; then
    echo "n$i already running (pid $(cat "$DIR/n$i.pid"))"
    continue
  fi
  peers=""
  for j in $(seq 1 "$N"); do
    [ "$j" = "$i" ] && continue
    peers="${peers:+$peers,}n$j=127.0.0.1:$((BASE_PORT + 300 + j - 1))"
  done
  "$ROOT/build/quotad/server/quotad" \
    --listen="127.0.0.1:$((BASE_PORT + i - 1))" --data_dir="$DIR/n$i" \
    --admin_listen="127.0.0.1:$((BASE_PORT + 100 + i - 1))" --admin_token_file="$DIR/admin.token" \
    --metrics_listen="127.0.0.1:$((BASE_PORT + 200 + i - 1))" \
    --peer_listen="127.0.0.1:$((BASE_PORT + 300 + i - 1))" \
    --policy="$ROOT/deploy/policy/aup.textproto" --hash_key_file="$KEY" \
    --node_id="n$i" --region="${REGIONS[$((i - 1))]}" --peers="$peers" \
    --tls_cert_file="$CERTS/n$i.pem" --tls_key_file="$CERTS/n$i.key" --tls_ca_file="$CERTS/ca.pem" \
    --callers_file="$DIR/callers.textproto" \
    --startup_sync_timeout=1s </dev/null >>"$DIR/n$i.log" 2>&1 &
  echo $! > "$DIR/n$i.pid"
  echo "n$i (${REGIONS[$((i - 1))]}) on 127.0.0.1:$((BASE_PORT + i - 1)), admin :$((BASE_PORT + 100 + i - 1)), metrics :$((BASE_PORT + 200 + i - 1)), peer :$((BASE_PORT + 300 + i - 1)), log $DIR/n$i.log"
done
cat <<MSG

Every port speaks TLS (CA: $CERTS/ca.pem); callers need a role
($DIR/callers.textproto). Charge in one region (the locate token), read in another:
  Q="$ROOT/build/client/quotactl --tls_ca_file=$CERTS/ca.pem --token_file=$DIR/locate.token"
  \$Q --target=127.0.0.1:$BASE_PORT acquire --ip=192.0.2.7 --user-agent=demo
  \$Q --target=127.0.0.1:$((BASE_PORT + 1)) check --ip=192.0.2.7 --user-agent=demo
Cluster status (the operator certificate: admin role):
  $ROOT/build/client/quotactl --tls_ca_file=$CERTS/ca.pem \\
     --tls_cert_file=$CERTS/operator.pem --tls_key_file=$CERTS/operator.key \\
     --target=127.0.0.1:$((BASE_PORT + 100)) cluster status
Stop: $ROOT/deploy/local/stop-cluster.sh
MSG
