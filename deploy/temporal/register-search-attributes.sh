#!/bin/sh
# One-shot, run by the temporal-setup service (temporalio/admin-tools):
# registers the custom search attributes that make pipelines findable in the
# Temporal UI. Safe to run again: attributes already present count as success.
set -u

address="${TEMPORAL_ADDRESS:-temporal:7233}"
namespace="${TEMPORAL_NAMESPACE:-default}"

echo "waiting for Temporal at $address"
until temporal operator cluster health --address "$address" >/dev/null 2>&1; do
  sleep 2
done

# auto-setup creates the default namespace a moment after the frontend answers.
echo "waiting for namespace $namespace"
until temporal operator namespace describe --namespace "$namespace" --address "$address" >/dev/null 2>&1; do
  sleep 2
done

registered() {
  list="$(temporal operator search-attribute list --namespace "$namespace" --address "$address" 2>/dev/null)" || return 1
  echo "$list" | grep -qw ModelName && echo "$list" | grep -qw PipelineStage
}

attempt=0
until registered; do
  attempt=$((attempt + 1))
  if [ "$attempt" -gt 30 ]; then
    echo "could not register search attributes ModelName and PipelineStage" >&2
    exit 1
  fi
  temporal operator search-attribute create \
    --namespace "$namespace" --address "$address" \
    --name ModelName --type Keyword \
    --name PipelineStage --type Keyword || true
  sleep 2
done
echo "search attributes ModelName and PipelineStage are registered in $namespace"
