#!/usr/bin/env bash
# Installs the Debian 12 packages quotad needs, and only the missing ones.
# Idempotent: a second run installs nothing and takes a second.
set -euo pipefail

PACKAGES=(
  g++ make cmake pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev libabsl-dev libre2-dev libssl-dev libsodium-dev
  libgoogle-perftools-dev
  libgtest-dev libgmock-dev libbenchmark-dev prometheus-cpp-dev libhiredis-dev
  clang libclang-rt-14-dev  # the sanitizer and fuzzing build (tests/fuzz/run.sh)
  prometheus python3-yaml systemd  # checks of deploy/ artifacts (tests/deploy/)
  python3-grpcio  # the Envoy RLS wire client (tests/envoy/)
  golang-go golang-google-grpc-dev golang-google-protobuf-dev protoc-gen-go protoc-gen-go-grpc
  golang-github-golang-protobuf-1-5-dev  # the Go client (client/go/), built offline
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
