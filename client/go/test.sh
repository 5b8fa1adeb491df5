#!/usr/bin/env bash
# Builds the Go client offline with Debian's Go packages and tests it against
# a real node. Go runs in GOPATH mode (GO111MODULE=off) over Debian's
# /usr/share/gocode (golang-google-grpc-dev, golang-google-protobuf-dev);
# quotadpb is generated from proto/quotad/v1 by Debian's protoc-gen-go and
# protoc-gen-go-grpc into a GOPATH under WORK, next to a copy of client/go.
# The node runs on 127.0.0.1 with TLS (deploy/tls/make-certs.sh) and a callers
# file whose "locate" principal has the charge role; the tests get its
# address, CA and token from QUOTAD_TARGET, QUOTAD_CA_FILE, QUOTAD_TOKEN.
#   client/go/test.sh QUOTAD_BINARY [WORK_DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
QUOTAD="$(realpath "$1")"
WORK="${2:-$(mktemp -d /tmp/quotad-go.XXXXXX)}"
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
GOPATH_DIR="$WORK/gopath"
PKG="$GOPATH_DIR/src/quotad/client/go"

rm -rf "$GOPATH_DIR/src/quotad"
mkdir -p "$PKG"
cp -r "$ROOT/client/go/quotad" "$ROOT/client/go/example" "$PKG/"
protoc -I "$ROOT/proto" --go_out="$GOPATH_DIR/src" --go-grpc_out="$GOPATH_DIR/src" \
  quotad/v1/quota.proto quotad/v1/policy.proto
export GO111MODULE=off GOPATH="$GOPATH_DIR:/usr/share/gocode" GOCACHE="$WORK/gocache" \
  GOFLAGS= GOPROXY=off GOTOOLCHAIN=local
cd "$PKG"
unformatted="$(gofmt -l quotad example)"
[ -z "$unformatted" ] || { echo "not gofmt-formatted: $unformatted"; exit 1; }
go vet ./...
go build -o "$WORK/locate" ./example/locate

# The node.
NODE_DIR="$WORK/node"
rm -rf "$NODE_DIR"
mkdir -p "$NODE_DIR"
"$ROOT/deploy/tls/make-certs.sh" "$NODE_DIR/certs" n1 >/dev/null
TOKEN="go-client-test-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf 'principals { name: "locate" roles: "charge" token_sha256: "%s" }\n' \
  "$(printf '%s' "$TOKEN" | sha256sum | cut -d' ' -f1)" > "$NODE_DIR/callers.textproto"
"$QUOTAD" --data_dir="$NODE_DIR/data" --policy="$ROOT/deploy/policy/aup.textproto" \
  --listen=127.0.0.1:0 --port_file="$NODE_DIR/port" --admin_listen=127.0.0.1:0 \
  --peer_listen=127.0.0.1:0 --node_id=go-test --region=test \
  --callers_file="$NODE_DIR/callers.textproto" --tls_cert_file="$NODE_DIR/certs/n1.pem" \
  --tls_key_file="$NODE_DIR/certs/n1.key" --tls_ca_file="$NODE_DIR/certs/ca.pem" \
  2>"$NODE_DIR/node.log" &
NODE=$!
trap 'kill -TERM $NODE 2>/dev/null; wait $NODE 2>/dev/null || true' EXIT
for _ in $(seq 200); do
  [ -s "$NODE_DIR/port" ] && break
  kill -0 $NODE 2>/dev/null || { echo "quotad exited:"; cat "$NODE_DIR/node.log"; exit 1; }
  sleep 0.1
done
[ -s "$NODE_DIR/port" ] || { echo "quotad wrote no port file in 20 s:"; cat "$NODE_DIR/node.log"; exit 1; }
export QUOTAD_TARGET="127.0.0.1:$(cat "$NODE_DIR/port")" QUOTAD_CA_FILE="$NODE_DIR/certs/ca.pem" \
  QUOTAD_TOKEN="$TOKEN"
go test -count=1 -v ./...
