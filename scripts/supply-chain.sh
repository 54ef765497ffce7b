#!/usr/bin/env bash
# Supply chain checks for CI: npm audit (when the registry answers it), lockfile-lint (registry
# hosts and https only) and the committed-secrets scan. eslint's security rules run with `npm run lint`.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== supply chain"
npx tsx scripts/npm-audit.ts . bench
for lock in package-lock.json bench/package-lock.json; do
  npx lockfile-lint --path "$lock" --type npm --allowed-hosts npm --validate-https --validate-package-names \
    --validate-integrity || { echo "lockfile-lint: $lock fails (see above)" >&2; exit 1; }
done
npx tsx scripts/secret-scan.ts
