#!/usr/bin/env bash
# Checks a deploy artifact with the tool that consumes it (run by ctest):
#   check_artifacts.sh alerts                 promtool check + test rules
#   check_artifacts.sh systemd <quotad-binary>  systemd-analyze verify
# A missing tool is a failure naming the package (deploy/install-deps.sh
# installs them).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
need() {
  command -v "$1" >/dev/null || { echo "FAIL: $1 not found (Debian package $2; deploy/install-deps.sh)" >&2; exit 1; }
}
case "${1:-}" in
  alerts)
    need promtool prometheus
    cd "$ROOT/deploy/prometheus"
    promtool check rules quotad-alerts.yml
    promtool test rules quotad-alerts.test.yml
    ;;
  systemd)
    need systemd-analyze systemd
    binary="${2:?quotad binary}"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    # verify insists that ExecStart exists: point it at the built binary,
    # everything else as shipped.
    sed "s|/usr/local/bin/quotad|$binary|" "$ROOT/deploy/systemd/quotad.service" >"$work/quotad.service"
    out="$(cd "$work" && systemd-analyze verify quotad.service 2>&1)" || { echo "$out" >&2; exit 1; }
    # verify exits 0 on some warnings; any line it prints is a finding.
    if [ -n "$out" ]; then echo "$out" >&2; exit 1; fi
    grep -q '^User=quotad' "$work/quotad.service"
    grep -q '^NoNewPrivileges=yes' "$work/quotad.service"
    grep -q '^ProtectSystem=strict' "$work/quotad.service"
    echo "quotad.service verifies"
    ;;
  *) echo "usage: $0 alerts | systemd <quotad-binary>" >&2; exit 2 ;;
esac
