#!/bin/sh
# One-shot namespace setup, run by the `temporal-create-namespace` service
# (temporalio/admin-tools image) once the Temporal server is healthy.
#
# 1. Registers the namespace (default: `default`) unless it already exists.
# 2. Registers the custom search attributes the llmconc worker/starter use.
#    Attributes that are already registered are left alone, so re-running
#    this (every `docker compose up`) is harmless.
set -eu

NAMESPACE="${DEFAULT_NAMESPACE:-default}"
ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"

# name:type pairs (types: Keyword, Text, Int, Double, Bool, Datetime, KeywordList)
SEARCH_ATTRIBUTES="LlmModel:Keyword LlmRequests:Int LlmPasses:Keyword LlmVerdict:Keyword"

# Talk to the server by IPv4 address: resolving the compose service name can
# otherwise pick an address the frontend does not listen on.
host="${ADDRESS%:*}"
port="${ADDRESS##*:}"
ip="$(getent ahostsv4 "$host" 2>/dev/null | awk 'NR == 1 { print $1 }')"
if [ -n "$ip" ]; then
  ADDRESS="${ip}:${port}"
fi
echo "Using Temporal frontend at ${ADDRESS}"

retry() {
  # retry <attempts> <command...>
  n="$1"
  shift
  i=1
  until "$@"; do
    if [ "$i" -ge "$n" ]; then
      return 1
    fi
    i=$((i + 1))
    sleep 2
  done
}

echo "Waiting for the Temporal server to report SERVING..."
retry 60 temporal operator cluster health --address "$ADDRESS"

if temporal operator namespace describe --namespace "$NAMESPACE" --address "$ADDRESS" >/dev/null 2>&1; then
  echo "Namespace '${NAMESPACE}' already exists"
else
  echo "Creating namespace '${NAMESPACE}'"
  temporal operator namespace create --namespace "$NAMESPACE" --address "$ADDRESS" ||
    echo "namespace create returned an error (it may already exist); checking..."
fi
# A freshly created namespace takes a few seconds to show up everywhere.
retry 30 temporal operator namespace describe --namespace "$NAMESPACE" --address "$ADDRESS" >/dev/null

sa_registered() {
  temporal operator search-attribute list --namespace "$NAMESPACE" --address "$ADDRESS" 2>/dev/null |
    grep -qw -- "$1"
}

create_sa() {
  name="$1"
  type="$2"
  if sa_registered "$name"; then
    echo "Search attribute ${name} already exists"
    return 0
  fi
  echo "Creating search attribute ${name} (${type})"
  if temporal operator search-attribute create --namespace "$NAMESPACE" --address "$ADDRESS" \
    --name "$name" --type "$type"; then
    return 0
  fi
  # "already exists" (e.g. a concurrent run) is fine; anything else is retried.
  sa_registered "$name"
}

for pair in $SEARCH_ATTRIBUTES; do
  retry 15 create_sa "${pair%%:*}" "${pair##*:}"
done

temporal operator search-attribute list --namespace "$NAMESPACE" --address "$ADDRESS"
echo "Namespace '${NAMESPACE}' is ready"
