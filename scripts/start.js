// `npm start` (and the other start scripts): runs interfaces/process/main.ts <role> as JavaScript
// compiled ahead of time, in this very process (npm's `exec node` makes it the one that gets SIGTERM).
// The build is reused while the sources are unchanged and made again, in a few seconds, when they
// changed (scripts/compile.js); it is what tsx would run, without tsx's loader and its compile at
// every start, which cost the embedded product about 60 MiB and seconds of every start.
/* global process, console */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildRoot, ROOT, sourceStamp } from './compile.js';

const built = path.join(buildRoot(), sourceStamp());
let dir = built;
// eslint-disable-next-line security/detect-non-literal-fs-filename -- the build directory for these sources
if (!existsSync(path.join(built, 'package.json'))) {
  // Built by a short-lived child: esbuild and the sources' text never stay in the server's memory.
  const result = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'compile.js')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    console.error(`could not compile the sources (${result.error?.message ?? `exit ${result.status}`})`);
    process.exit(1);
  }
  dir = result.stdout.trim();
}
// Stack traces name the TypeScript sources, as they did under tsx.
process.setSourceMapsEnabled(true);
await import(pathToFileURL(path.join(dir, 'interfaces', 'process', 'main.js')).href);
