#!/usr/bin/env node
// `npx chatbot <command>`: the compiled CLI when it sits beside this file (the Docker image),
// otherwise the TypeScript sources through tsx (a checkout).
/* global process, URL */
import { existsSync } from 'node:fs';

const compiled = new URL('../interfaces/cli/main.js', import.meta.url);
let entry = compiled;
// eslint-disable-next-line security/detect-non-literal-fs-filename -- a URL built from import.meta.url, not input
if (!existsSync(compiled)) {
  const { register } = await import('tsx/esm/api');
  register();
  entry = new URL('../interfaces/cli/main.ts', import.meta.url);
}
// Plain JS cannot see the module's types; runCli(argv: readonly string[]): Promise<number>.
// eslint-disable-next-line @typescript-eslint/no-unsafe-assignment
const cli = /** @type {{ runCli: (argv: readonly string[]) => Promise<number> }} */ (await import(entry.href));
process.exit(await cli.runCli(process.argv.slice(2)));
