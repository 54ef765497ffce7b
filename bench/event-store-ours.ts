/** Our event store (infrastructure/eventstore/postgres.ts) as a benchmark target, on PostgreSQL or PGlite. */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EventStore } from '../application/shared/eventStore.js';
import { createPostgresEventStore } from '../infrastructure/eventstore/postgres.js';
import { openPgliteDatabase } from '../infrastructure/sql/database.js';
import { createPgExecutor, type SqlExecutor } from '../infrastructure/sql/executor.js';
import { deliveryCounter, type BenchTarget, type Delivery } from './event-store-workloads.js';

const asTarget = (name: string, store: EventStore, closeAll: () => Promise<void>): BenchTarget => ({
  name,
  async append(stream, events) {
    await store.append(
      stream.name,
      events.map((e) => ({ id: randomUUID(), ...e })),
      { expectedRevision: stream.length === 0 ? 'no_stream' : stream.length - 1 },
    );
  },
  async readAll(pageSize) {
    const counter = deliveryCounter();
    let after = 0;
    for (;;) {
      const page = await store.readAll({ after, maxCount: pageSize });
      for (const event of page) counter.add(event.position);
      if (page.length < pageSize) return counter.result();
      after = page[page.length - 1]!.position;
    }
  },
  catchUp() {
    return new Promise<Delivery>((resolve, reject) => {
      const counter = deliveryCounter();
      const subscription = store.subscribeToAll({
        after: 0,
        onEvent: (event) => counter.add(event.position),
        onError: reject,
        onCaughtUp: () => {
          void subscription.stop().then(() => resolve(counter.result()), reject);
        },
      });
    });
  },
  async close() {
    await store.close();
    await closeAll();
  },
});

/** The PostgreSQL adapter with the pool size the app uses by default (10). */
export const oursOnPostgres = async (connectionString: string): Promise<BenchTarget> => {
  const executor = createPgExecutor({ connectionString, max: 10, applicationName: 'bench-ours' });
  const store = await createPostgresEventStore({ executor });
  return asTarget('ours-postgres', store, () => executor.close());
};

export type PgliteStorage = 'memory' | 'tempdir';

/** The embedded adapter, as `chatbot` runs with no service URLs: PGlite in a fresh temp dir, or in memory. */
export const oursOnPglite = async (storage: PgliteStorage): Promise<BenchTarget> => {
  const dir = storage === 'tempdir' ? mkdtempSync(path.join(os.tmpdir(), 'bench-pglite-')) : null;
  const database = openPgliteDatabase(dir);
  const executor: SqlExecutor = database.executor;
  const store = await createPostgresEventStore({ executor });
  return asTarget('ours-pglite', store, async () => {
    await database.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
};
