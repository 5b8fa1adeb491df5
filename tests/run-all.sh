#!/usr/bin/env bash
# One command to build and run every test: installs missing packages, builds
# (warnings are errors), runs the whole ctest suite (unit + end-to-end
# against the real quotad and quotactl on 127.0.0.1), then the unit tests
# again under ASan+UBSan and every fuzzer for a bounded time
# (tests/fuzz/run.sh, a clang tree in build-fuzz/). docs/testing.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/deploy/build.sh" -DQUOTAD_WERROR=ON
(cd "${QUOTAD_BUILD_DIR:-$ROOT/build}" &&
  ctest --output-on-failure -j "${QUOTAD_TEST_JOBS:-2}" --timeout 600)
"$ROOT/tests/fuzz/run.sh"
