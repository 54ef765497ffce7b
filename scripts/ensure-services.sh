#!/usr/bin/env bash
# Starts the local PostgreSQL and Redis the tests need when they are not running,
# and fails loudly (exit 1) when either cannot be reached afterwards.
set -u
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }

if ! pg_up; then
  echo "ensure-services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
if ! redis_up; then
  echo "ensure-services: starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
  for _ in $(seq 1 30); do redis_up && break; sleep 1; done
fi
pg_up || { echo "FATAL: PostgreSQL is not reachable on 127.0.0.1:5432 (required by the test suite)" >&2; exit 1; }
redis_up || { echo "FATAL: Redis is not reachable on 127.0.0.1:6379 (required by the test suite)" >&2; exit 1; }
echo "ensure-services: PostgreSQL and Redis are up"
