#!/bin/sh
# Start a canary rollout of REVISION from a pipeline, with two long-lived Service slots (e.g.
# api-blue and api-green, both listed in the route, promotion.mode: Weights). The slot that
# carries the traffic stays stable; the idle one gets IMAGE (when given) and becomes the canary.
# Then run: canary wait CANARY --for promoted --revision REVISION --timeout 15m
#
# usage: start-rollout.sh CANARY REVISION [IMAGE], or the same as environment variables
# (CANARY, REVISION, IMAGE), and NAMESPACE. Each slot's Deployment is named like its Service,
# with a container named "app".
set -eu
canary=${1:-${CANARY:?}} revision=${2:-${REVISION:?}} image=${3:-${IMAGE:-}}
ns=--namespace=${NAMESPACE:-default}
get() { kubectl get canary "$canary" "$ns" -o jsonpath="$1"; }

phase=$(get '{.status.phase}')
case "$phase" in
  Succeeded | RolledBack) ;;
  *) echo "canary $canary is $phase: let the rollout under way finish first" >&2; exit 1 ;;
esac
if [ "$(get '{.status.canaryWeight}')" = 100 ]; then
  live=$(get '{.spec.canary.name}') idle=$(get '{.spec.stable.name}')
else
  live=$(get '{.spec.stable.name}') idle=$(get '{.spec.canary.name}')
fi
port=$(get '{.spec.canary.port}')  # both slots serve the same port

if [ -n "$image" ]; then
  kubectl set image "deployment/$idle" "$ns" "app=$image"
  kubectl rollout status "deployment/$idle" "$ns" --timeout=5m
fi
kubectl patch canary "$canary" "$ns" --type=merge -p "{\"spec\": {\"revision\": \"$revision\",
  \"stable\": {\"name\": \"$live\", \"port\": $port},
  \"canary\": {\"name\": \"$idle\", \"port\": $port}}}"
echo "canary $canary: rolling out $revision on $idle; $live keeps serving until promotion"
