#!/usr/bin/env node
// `npx chatbot <command>`: runs the TypeScript CLI through tsx, wherever it is called from.
/* global process, URL */
import { register } from 'tsx/esm/api';

register();
// Plain JS cannot see the module's types; runCli(argv: readonly string[]): Promise<number>.
// eslint-disable-next-line @typescript-eslint/no-unsafe-assignment
const cli = /** @type {{ runCli: (argv: readonly string[]) => Promise<number> }} */ (await import(new URL('../interfaces/cli/main.ts', import.meta.url).href));
process.exit(await cli.runCli(process.argv.slice(2)));
