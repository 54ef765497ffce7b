import type { ChildProcess } from 'node:child_process';
import { systemRuntime } from '#infrastructure/shared/runtime.js';
import { startScheduler } from '#interfaces/process/scheduler.js';
import type { TestApp } from './app.js';
import { capturedLogger, spawnTsx } from './processes.js';

/** The scheduler's jobs in this process, on the test app's store and database (as embedded mode wires them). */
export const startTestScheduler = (t: TestApp, options: { schedulePollMs?: number } = {}) => {
  const { logger, logs } = capturedLogger('scheduler');
  const scheduler = startScheduler({
    store: t.app.infra.store,
    db: t.app.infra.db,
    logger,
    runtime: systemRuntime,
    schedulePollMs: options.schedulePollMs,
  });
  return { logs, stop: () => scheduler.stop() };
};

/**
 * The real `scheduler` role (`node interfaces/process/main.ts scheduler`, what `npm run start:scheduler` runs)
 * in an OS process of its own, on the test app's database; resolves once it logs that it started.
 */
export const spawnScheduler = async (databaseUrl: string): Promise<{ child: ChildProcess; output: () => string }> => {
  const { child, output } = await spawnTsx(['interfaces/process/main.ts', 'scheduler'], {
    env: { DATABASE_URL: databaseUrl, LOG_LEVEL: 'info' },
    ready: (text) => text.includes('"scheduler started"'),
    what: 'the scheduler process to start',
  });
  return { child, output };
};
