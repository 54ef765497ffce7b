import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createCliContext, type CliIo } from '#interfaces/cli/context.js';
import { runCli } from '#interfaces/cli/main.js';
import type { Projection } from '#projections/runner.js';

export type CliRun = { code: number | null; out: string; err: string };

/** An io that keeps stdout and stderr lines apart, for asserting on each. */
export const capturingIo = (): { io: CliIo; out: string[]; err: string[] } => {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      out: (line) => out.push(line),
      err: (line) => err.push(line),
      interactive: false,
      errStream: process.stderr,
    },
    out,
    err,
  };
};

/** `chatbot <argv>` in this process, through runCli (the real command tree and error reporting). */
export const runCliIn = async (
  options: { env: NodeJS.ProcessEnv; cwd: string; projections?: () => Projection[] },
  argv: readonly string[],
): Promise<CliRun> => {
  const { io, out, err } = capturingIo();
  const code = await runCli(argv, createCliContext({ io, ...options }));
  return { code, out: out.join('\n'), err: err.join('\n') };
};

const BIN = fileURLToPath(new URL('../../bin/chatbot.js', import.meta.url));

/** `npx chatbot <argv>` as a user types it: bin/chatbot.js in a child process. */
export const spawnCliBin = (options: { env: NodeJS.ProcessEnv; cwd: string }, argv: readonly string[]) =>
  new Promise<CliRun>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...argv], options);
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
