/**
 * A separate process running the sample projection (tests/integration/projections/processes.test.ts
 * kills it mid-stream). Settings come from the environment; log lines are JSON on stdout.
 *   CHILD_SCHEMA (required), CHILD_APPLIED_BY, CHILD_DELAY_MS, CHILD_BATCH_SIZE, CHILD_LOCK_RETRY_MS
 */
import { startProjections } from '#projections/runner.js';
import { openTestSchema, sampleProjection } from './projections.js';

const env = process.env;
const schema = env.CHILD_SCHEMA;
if (!schema) throw new Error('CHILD_SCHEMA is required');
const line = (level: string, message: string, meta: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ level, message, pid: process.pid, ...meta })}\n`);

const t = await openTestSchema(schema, { applicationName: `proj_child_${process.pid}` });
const runner = startProjections({
  db: t.db,
  store: t.store,
  projections: [
    sampleProjection({
      appliedBy: env.CHILD_APPLIED_BY ?? String(process.pid),
      delayMs: Number(env.CHILD_DELAY_MS ?? 0),
    }),
  ],
  batchSize: Number(env.CHILD_BATCH_SIZE ?? 50),
  lockRetryMs: Number(env.CHILD_LOCK_RETRY_MS ?? 200),
  pollIntervalMs: 200,
  logger: {
    info: (m, meta) => line('info', m, meta),
    warn: (m, meta) => line('warn', m, meta),
    error: (m, meta) => line('error', m, meta),
  },
});
line('info', 'child started');

process.on('SIGTERM', () => {
  void (async () => {
    await runner.stop();
    await t.close();
    line('info', 'child stopped');
    process.exit(0);
  })();
});
