#!/usr/bin/env bash
# The opt-in EventStoreDB run of the event store contract, against a THROWAWAY in-memory node.
# Needs Docker, which our build machines do not have (there the contract prints SKIPPED and this
# script stops with exit 2). Never point the contract at the Compose production node: test streams
# would stay there forever, and live writes make head-position assertions flaky.
#
#   bash scripts/eventstore-contract.sh          # start a node, run the contract, remove the node
#
# What it runs, so it can be done by hand (any free port instead of 2114):
#   docker run -d --rm --name chatbot-esdb-contract -p 127.0.0.1:2114:2113 \
#     eventstore/eventstore:24.10 --mem-db --insecure --cluster-size=1 --run-projections=None
#   curl -fsS http://127.0.0.1:2114/health/live            # until it answers
#   EVENTSTORE_URL='esdb://127.0.0.1:2114?tls=false' npx mocha --timeout 60000 tests/contract/eventstoredb.test.ts
#   docker rm -f chatbot-esdb-contract
#
# Variables: ESDB_CONTRACT_PORT (2114), ESDB_IMAGE (eventstore/eventstore:24.10).
set -euo pipefail
cd "$(dirname "$0")/.."

port="${ESDB_CONTRACT_PORT:-2114}"
image="${ESDB_IMAGE:-eventstore/eventstore:24.10}"
name="chatbot-esdb-contract-$$"

if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
  echo "eventstore-contract: no usable Docker engine here; the EventStoreDB contract cannot run (see docs/architecture.md)" >&2
  exit 2
fi

echo "eventstore-contract: docker run -d --rm --name $name -p 127.0.0.1:$port:2113 $image --mem-db --insecure --cluster-size=1 --run-projections=None"
docker run -d --rm --name "$name" -p "127.0.0.1:$port:2113" "$image" \
  --mem-db --insecure --cluster-size=1 --run-projections=None >/dev/null
trap 'docker rm -f "$name" >/dev/null 2>&1 || true' EXIT

# Wait for the node to answer, with a deadline.
deadline=$((SECONDS + 90))
until curl -fsS "http://127.0.0.1:$port/health/live" >/dev/null 2>&1; do
  if ((SECONDS >= deadline)); then
    echo "eventstore-contract: the node did not become live within 90 s" >&2
    docker logs --tail 50 "$name" >&2 || true
    exit 1
  fi
  sleep 1
done

EVENTSTORE_URL="esdb://127.0.0.1:$port?tls=false" npx mocha --timeout 60000 tests/contract/eventstoredb.test.ts
