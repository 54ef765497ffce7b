#!/usr/bin/env bash
# Compiles the app to dist/ for the precompiled embedded run (`npm run start:embedded`): no TypeScript
# compilation at every start (see bench/startup.ts). Same layout as the Docker image's /app, inside the
# checkout, so node_modules resolve from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist
npx tsc -p tsconfig.build.json
# Files that live beside the code (the console's static files, SQL, JSON) are copied as they are.
for dir in domain application infrastructure projections interfaces; do
  if [ -d "$dir" ]; then find "$dir" -type f ! -name '*.ts' -exec cp --parents {} dist/ \; ; fi
done
# dist/ is its own package scope: ESM, and the #layer/* aliases pointing inside dist/.
node -e '
const pkg = require("./package.json");
require("fs").writeFileSync("dist/package.json", JSON.stringify({ name: pkg.name + "-dist", version: pkg.version, private: true, type: "module", imports: pkg.imports }, null, 2) + "\n");
'
echo "built dist/: npm run start:embedded"
