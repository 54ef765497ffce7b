// Child processes for the multi-process and kill tests, and the in-process loggers the tests read back:
// one way to build a child's environment, spawn a tsx script, wait for it to say it is ready, and stop it.
import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { createLogger } from '#infrastructure/logging/logger.js';
import { ADMIN_PASSWORD, TEST_JWT_SECRET } from './app.js';
import { waitFor } from './events.js';

/** A logger (level info) whose lines the test reads back with logs(). */
export const capturedLogger = (service: string) => {
  let captured = '';
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => (captured += chunk.toString('utf8')));
  return { logger: createLogger({ level: 'info', service, stream }), logs: () => captured };
};

/** The environment of a test child process: this one's, in test mode, with the test secrets, no Redis unless told. */
export const childEnv = (env: Record<string, string>): NodeJS.ProcessEnv => ({
  ...process.env,
  NODE_ENV: 'test',
  JWT_SECRET: TEST_JWT_SECRET,
  ADMIN_PASSWORD,
  REDIS_URL: '',
  ...env,
});

export type SpawnedProcess = {
  child: ChildProcess;
  /** what it wrote to stdout so far */
  output: () => string;
  /** what it wrote to stderr so far (empty unless spawned with `stderr: 'pipe'`) */
  logs: () => string;
};

/**
 * `node --import tsx <args>` from the repository root with childEnv(env); resolves once ready(stdout) holds,
 * throws (with what it wrote) when it exits first.
 */
export const spawnTsx = async (
  args: string[],
  options: {
    env: Record<string, string>;
    ready: (output: string) => boolean;
    what: string;
    timeoutMs?: number;
    stderr?: 'inherit' | 'pipe';
  },
): Promise<SpawnedProcess> => {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: process.cwd(),
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', options.stderr ?? 'inherit'],
  });
  let output = '';
  let logs = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (logs += chunk.toString('utf8')));
  await waitFor(() => options.ready(output) || child.exitCode !== null, options.timeoutMs ?? 60_000, options.what);
  if (child.exitCode !== null)
    throw new Error(`${options.what}: it exited with ${child.exitCode}:\n${output}${logs.slice(-2000)}`);
  return { child, output: () => output, logs: () => logs };
};

/** The app composition in a process of its own (tests/support/app-process.ts); resolves once it listens. */
export const spawnAppProcess = async (
  env: Record<string, string>,
  options: { stderr?: 'inherit' | 'pipe'; what?: string } = {},
): Promise<SpawnedProcess & { baseUrl: string }> => {
  const spawned = await spawnTsx(['tests/support/app-process.ts'], {
    env,
    ready: (output) => /"port":\d+/.test(output),
    what: options.what ?? 'an app process to listen',
    timeoutMs: 90_000,
    stderr: options.stderr,
  });
  const { port } = JSON.parse(spawned.output().split('\n')[0]!) as { port: number };
  return { ...spawned, baseUrl: `http://127.0.0.1:${port}` };
};

/** SIGTERM, and wait for the exit (nothing to do when it has already exited). */
export const stopGracefully = async (child: ChildProcess | undefined): Promise<void> => {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
};
