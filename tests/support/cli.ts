import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { migrateLatest } from '#infrastructure/sql/migrate.js';
import { createCliContext, type CliIo } from '#interfaces/cli/context.js';
import { runCli } from '#interfaces/cli/main.js';
import { loadConfig } from '#infrastructure/config/config.js';
import { openInfrastructure, type Infrastructure } from '#interfaces/process/infrastructure.js';
import type { Projection } from '#projections/runner.js';
import { ADMIN_PASSWORD, TEST_JWT_SECRET } from './app.js';

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

export type CliOptions = { env: NodeJS.ProcessEnv; cwd: string; projections?: () => Projection[] };

/**
 * `chatbot <argv>` started in this process, through runCli (the real command tree and error
 * reporting): `out` and `err` fill while it runs (for commands that follow, like `events tail`).
 */
export const startCliIn = (options: CliOptions, argv: readonly string[]) => {
  const { io, out, err } = capturingIo();
  const done = runCli(argv, createCliContext({ io, ...options }));
  return { out, err, done };
};

/** `chatbot <argv>` in this process, to its end: the exit code and the output lines. */
export const runCliLines = async (options: CliOptions, argv: readonly string[]) => {
  const run = startCliIn(options, argv);
  const code = await run.done;
  return { code, out: run.out, err: run.err };
};

/** `chatbot <argv>` in this process, to its end: the exit code and the output as text. */
export const runCliIn = async (options: CliOptions, argv: readonly string[]): Promise<CliRun> => {
  const { code, out, err } = await runCliLines(options, argv);
  return { code, out: out.join('\n'), err: err.join('\n') };
};

/** The environment a CLI test gives `chatbot`: one test schema, quiet logs. */
export const cliTestEnv = (databaseUrl: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  NODE_ENV: 'test',
  DATABASE_URL: databaseUrl,
  JWT_SECRET: TEST_JWT_SECRET,
  ADMIN_PASSWORD,
  LOG_LEVEL: 'error',
  ...extra,
});

/** The infrastructure `env` configures (as the CLI opens it), for seeding and checking; closed after `fn`. */
export const withInfrastructure = async <T>(
  env: NodeJS.ProcessEnv,
  applicationName: string,
  fn: (infra: Infrastructure) => Promise<T>,
): Promise<T> => {
  const infra = await openInfrastructure(loadConfig(env), { applicationName });
  try {
    // as the CLI does: the tables it writes (the contacts' data keys among them) exist first
    await migrateLatest(infra.db);
    return await fn(infra);
  } finally {
    await infra.close();
  }
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
