import pg from 'pg';
import type { Knex } from 'knex';
import type { Database } from './database.js';

/** A stable 31-bit key (FNV-1a); positive, so pg_locks' oid columns show it unchanged. */
export const hashKey = (text: string): number => {
  let hash = 0x811c9dc5;
  for (const char of text) {
    hash ^= char.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash & 0x7fffffff;
};

/** Advisory locks are per schema, so side-by-side installations (and test runs) never block each other. */
export const schemaLockNamespace = async (knex: Knex, purpose: string): Promise<number> => {
  const result = await knex.raw<{ rows: Array<{ schema: string | null }> }>('select current_schema() as schema');
  return hashKey(`chatbot-${purpose}:${result.rows[0]?.schema ?? 'public'}`);
};

const inProcessQueues = new WeakMap<Knex, Map<string, Promise<unknown>>>();

/**
 * Runs `fn` while holding an exclusive cluster-wide lock named `name`, waiting for it: a session
 * advisory lock on a dedicated connection (released by the server if this process dies), or an
 * in-process queue on PGlite, which only one process can open.
 */
export const withExclusiveLock = async <T>(
  db: Database,
  name: string,
  fn: () => Promise<T>,
  onWait?: () => void,
): Promise<T> => {
  if (db.kind === 'pglite' || db.connectionString === null) {
    let queues = inProcessQueues.get(db.knex);
    if (!queues) inProcessQueues.set(db.knex, (queues = new Map<string, Promise<unknown>>()));
    const previous = queues.get(name) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    queues.set(
      name,
      run.catch(() => undefined),
    );
    return run;
  }
  const namespace = await schemaLockNamespace(db.knex, 'lock');
  const key = hashKey(name);
  const client = new pg.Client({
    connectionString: db.connectionString,
    application_name: `chatbot-lock-${name}`.slice(0, 63),
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const tried = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1::int, $2::int) as ok', [
      namespace,
      key,
    ]);
    if (tried.rows[0]?.ok !== true) {
      onWait?.();
      await client.query('select pg_advisory_lock($1::int, $2::int)', [namespace, key]);
    }
    return await fn();
  } finally {
    // Ending the session releases the lock.
    await client.end().catch(() => undefined);
  }
};
