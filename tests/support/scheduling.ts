import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { createLogger } from '#infrastructure/logging/logger.js';
import { systemRuntime } from '#infrastructure/shared/runtime.js';
import { startScheduler } from '#interfaces/process/scheduler.js';
import { ADMIN_PASSWORD, TEST_JWT_SECRET, type TestApp } from './app.js';
import { waitFor } from './events.js';

/** The scheduler's jobs in this process, on the test app's store and database (as embedded mode wires them). */
export const startTestScheduler = (t: TestApp, options: { schedulePollMs?: number } = {}) => {
  let captured = '';
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => (captured += chunk.toString('utf8')));
  const logger = createLogger({ level: 'info', service: 'scheduler', stream });
  const scheduler = startScheduler({
    store: t.app.infra.store,
    db: t.app.infra.db,
    logger,
    runtime: systemRuntime,
    schedulePollMs: options.schedulePollMs,
  });
  return { logs: () => captured, stop: () => scheduler.stop() };
};

/**
 * The real `scheduler` role (`node interfaces/process/main.ts scheduler`, what `npm run start:scheduler` runs)
 * in an OS process of its own, on the test app's database; resolves once it logs that it started.
 */
export const spawnScheduler = async (databaseUrl: string): Promise<{ child: ChildProcess; output: () => string }> => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'interfaces/process/main.ts', 'scheduler'], {
    cwd: process.cwd(),
    env: {
      ...process.env,
      NODE_ENV: 'test',
      JWT_SECRET: TEST_JWT_SECRET,
      ADMIN_PASSWORD,
      DATABASE_URL: databaseUrl,
      REDIS_URL: '',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  await waitFor(
    () => output.includes('"scheduler started"') || child.exitCode !== null,
    60_000,
    'the scheduler process to start',
  );
  if (child.exitCode !== null) throw new Error(`the scheduler exited with ${child.exitCode}:\n${output}`);
  return { child, output: () => output };
};
