#!/usr/bin/env bash
# Development certificates for quotad with openssl: a CA (made once per
# directory) and one certificate per name, signed by it.
#   deploy/tls/make-certs.sh DIR NAME...
# Writes DIR/ca.pem (+ ca.key, 0600) and, per NAME, DIR/NAME.pem and
# DIR/NAME.key (0600). Each certificate's subject alternative names are
# DNS:NAME (a node id for peers, a caller's cert_name), DNS:localhost,
# IP:127.0.0.1 and IP:::1, and it serves as both server and client
# certificate: one per node for its listeners and its calls to peers, one
# per caller. Idempotent: existing files are kept. For development and tests;
# production certificates come from the operator's own CA.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 DIR NAME..." >&2
  exit 2
fi
if ! command -v openssl >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends openssl >/dev/null
fi
DIR="$1"; shift
mkdir -p "$DIR"
umask 077
if [ ! -s "$DIR/ca.pem" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
    -subj "/CN=quotad development CA" -keyout "$DIR/ca.key" -out "$DIR/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
fi
for NAME in "$@"; do
  case "$NAME" in
    ""|*[!A-Za-z0-9._-]*) echo "$0: bad name '$NAME' (letters, digits, . _ -)" >&2; exit 2 ;;
  esac
  [ -s "$DIR/$NAME.pem" ] && continue
  EXT="$(mktemp)"
  printf 'subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n' \
    "$NAME" > "$EXT"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$NAME" \
    -keyout "$DIR/$NAME.key" -out "$DIR/$NAME.csr" 2>/dev/null
  openssl x509 -req -in "$DIR/$NAME.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca.key" \
    -CAcreateserial -days 825 -extfile "$EXT" -out "$DIR/$NAME.pem" 2>/dev/null
  rm -f "$DIR/$NAME.csr" "$EXT"
done
chmod 0644 "$DIR"/*.pem
