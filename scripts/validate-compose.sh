#!/usr/bin/env bash
# Validates docker-compose.yml without a Docker engine (CI runs this): the file parses and interpolates
# with dummy values for the required secrets, each required secret is really enforced, and the service
# names and port the runbook (docs, seed/troubleshooting.es.md) relies on are there. Exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v docker-compose >/dev/null 2>&1; then
  echo "validate-compose: installing docker-compose (Debian package)"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # Without recommends: the validation needs the compose CLI, not the docker.io engine.
  $SUDO apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
fi

REQUIRED=(JWT_SECRET ADMIN_PASSWORD REDIS_PASSWORD FERNET_KEYS)
dummy() {
  case "$1" in
    FERNET_KEYS) echo "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" ;;
    *) echo "dummy-${1,,}" ;;
  esac
}

# A clean environment and an empty env file instead of .env, so a developer's own settings cannot
# hide a missing default.
EMPTY_ENV="$(mktemp)"
trap 'rm -f "$EMPTY_ENV"' EXIT
compose() {
  local vars=() name
  for name in "${REQUIRED[@]}"; do
    if [ "$name" != "${SKIP:-}" ]; then vars+=("$name=$(dummy "$name")"); fi
  done
  env -i PATH="$PATH" HOME="${HOME:-/root}" "${vars[@]}" \
    docker-compose --env-file "$EMPTY_ENV" --project-directory . -f docker-compose.yml "$@"
}

failed=0
fail() { echo "validate-compose: FAIL: $*" >&2; failed=1; }

if compose config -q; then echo "validate-compose: docker-compose.yml is valid"; else fail "docker-compose config rejected the file"; fi

for name in "${REQUIRED[@]}"; do
  if SKIP="$name" compose config -q >/dev/null 2>&1; then fail "$name is not enforced (config passed without it)"; fi
done

services="$(compose config --services 2>/dev/null | sort | tr '\n' ' ')"
for service in app worker-web scheduler eventstore postgres redis; do
  case " $services" in *" $service "*) ;; *) fail "service $service is missing (runbook: docker compose logs/exec $service)";; esac
done

# Captured first: under pipefail, grep -q leaving early would make docker-compose's write fail (SIGPIPE).
rendered="$(compose config 2>/dev/null || true)"
if ! grep -Eq '^\s+(- |)(published: 8003|"?8003:8003"?)' <<<"$rendered"; then fail "app does not publish port 8003"; fi

if [ "$failed" -ne 0 ]; then exit 1; fi
echo "validate-compose: required secrets enforced, services and port 8003 present"
