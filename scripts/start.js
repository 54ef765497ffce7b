// `npm start` (and the other start scripts): `node scripts/start.js <role>` runs
// interfaces/process/main.ts <role> as JavaScript compiled ahead of time, in this very process (the
// scripts `exec` node, so it is the process that gets SIGTERM). The build is reused while the sources
// are unchanged and made again, in a second or two, when they changed (scripts/compile.js): the code
// tsx would run, without tsx's loader and its compile at every start (bench/README.md, "Startup").
// Should the build fail (a read-only checkout, say), the sources run through tsx as before.
/* global process, console */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildRoot, ROOT, sourceStamp } from './compile.js';

/** The build's main.js, compiling first when these sources have no build yet; null when that failed. */
const compiledMain = () => {
  let dir = path.join(buildRoot(), sourceStamp());
  // eslint-disable-next-line security/detect-non-literal-fs-filename -- the build directory for these sources
  if (!existsSync(path.join(dir, 'package.json'))) {
    // Built by a short-lived child: esbuild and the sources' text never stay in the server's memory.
    const result = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'compile.js')], {
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (result.status !== 0) {
      console.error(
        `could not compile the sources (${result.error?.message ?? `exit ${result.status}`}): running them through tsx`,
      );
      return null;
    }
    dir = result.stdout.trim();
  }
  return path.join(dir, 'interfaces', 'process', 'main.js');
};

const main = compiledMain();
if (main === null) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(path.join(ROOT, 'interfaces', 'process', 'main.ts')).href);
} else {
  // Stack traces name the TypeScript sources, as they did under tsx.
  process.setSourceMapsEnabled(true);
  await import(pathToFileURL(main).href);
}
