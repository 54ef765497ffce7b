#!/usr/bin/env bash
# The full test suite: services, lint, type check, then every mocha test in one run
# (one summary line: "tests: N passed, N failed, N skipped").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-services.sh
# The benchmarks are linted and type-checked too; their peers (Emmett, autocannon) live in bench/.
[ -d bench/node_modules ] || npm --prefix bench ci --no-audit --no-fund
echo "== lint"; npx eslint . && npx prettier --check --log-level warn .
echo "== type check"; npx tsc --noEmit
echo "== tests"
npx mocha --timeout 60000 'tests/unit/**/*.test.ts' 'tests/contract/**/*.test.ts' 'tests/integration/**/*.test.ts' 'tests/e2e/**/*.test.ts'
