#!/usr/bin/env bash
# Installs missing packages, then configures and builds quotad into build/.
# Incremental: re-running only rebuilds what changed.
#   deploy/build.sh [extra cmake -D options...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/deploy/install-deps.sh"
BUILD_DIR="${QUOTAD_BUILD_DIR:-$ROOT/build}"
cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
JOBS="${QUOTAD_JOBS:-$(nproc)}"
cmake --build "$BUILD_DIR" -j "$JOBS"
