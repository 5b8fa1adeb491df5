#!/usr/bin/env bash
# Deploys (or updates) one region with kubectl:
#   deploy/k8s/apply.sh <region> <secrets-dir> [policy-file]
# <secrets-dir> holds identity.key (the same file in every region),
# admin.token and callers.textproto. The policy defaults to
# deploy/policy/aup.textproto; re-running with a new policy updates the
# ConfigMap, which the nodes reload within a minute (a bad policy is refused
# and logged; the serving one stays). Needs a cert-manager ClusterIssuer
# "quotad-ca" and its CSI driver for the nodes' certificates.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
region="${1:?region (an overlay under deploy/k8s/overlays)}"
secrets="${2:?directory with identity.key, admin.token, callers.textproto}"
policy="${3:-$ROOT/deploy/policy/aup.textproto}"
overlay="$ROOT/deploy/k8s/overlays/$region"
[ -d "$overlay" ] || { echo "no overlay $overlay" >&2; exit 2; }
ns="quotad-$region"
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f -
kubectl -n "$ns" create configmap quotad-policy --from-file=policy.textproto="$policy" \
  --dry-run=client -o yaml | kubectl apply -f -
kubectl -n "$ns" create secret generic quotad-secrets \
  --from-file=identity.key="$secrets/identity.key" \
  --from-file=admin.token="$secrets/admin.token" \
  --from-file=callers.textproto="$secrets/callers.textproto" \
  --dry-run=client -o yaml | kubectl apply -f -
kubectl apply -k "$overlay"
kubectl -n "$ns" rollout status statefulset/"$region"-quotad
