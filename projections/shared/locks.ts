import pg from 'pg';
import type { Knex } from 'knex';
import { hashKey, schemaLockNamespace } from '#infrastructure/sql/advisoryLock.js';
import type { Database } from '#infrastructure/sql/database.js';

/**
 * One runner per projection, cluster-wide. PostgreSQL: a session advisory lock held on a dedicated
 * connection for as long as the runner runs; the server drops it when that connection dies (a killed
 * process, a restarted server), so another process takes over. PGlite lives in one process: an
 * in-process registry is the whole cluster.
 *
 * The lock only avoids wasted work; correctness comes from the compare-and-set checkpoint.
 */
export interface ProjectionLocks {
  tryAcquire(name: string): Promise<boolean>;
  /** false as soon as the lock connection is known to be gone */
  isHeld(name: string): boolean;
  release(name: string): Promise<void>;
  close(): Promise<void>;
}

/** Locks are per schema, so side-by-side installations (and test runs) never block each other. */
export const lockNamespace = (knex: Knex, purpose: string): Promise<number> => schemaLockNamespace(knex, purpose);

const inProcess = new WeakMap<Knex, Map<string, symbol>>();
const heldInProcess = (knex: Knex): Map<string, symbol> => {
  let held = inProcess.get(knex);
  if (!held) inProcess.set(knex, (held = new Map<string, symbol>()));
  return held;
};

/** PostgreSQL: pid of the session holding the projection's lock; PGlite: this process when held here. */
export const lockHolder = async (db: Database, namespace: number, name: string): Promise<number | null> => {
  if (db.kind === 'pglite') return heldInProcess(db.knex).has(name) ? process.pid : null;
  const result = await db.knex.raw<{ rows: Array<{ pid: number }> }>(
    `select pid from pg_locks
     where locktype = 'advisory' and granted and objsubid = 2 and classid = ?::bigint::oid and objid = ?::bigint::oid
       and database = (select oid from pg_database where datname = current_database())
     limit 1`,
    [namespace, hashKey(name)],
  );
  return result.rows[0]?.pid ?? null;
};

export const openProjectionLocks = async (
  db: Database,
  options: { onLost?: () => void } = {},
): Promise<ProjectionLocks> => {
  const namespace = await lockNamespace(db.knex, 'projections');
  if (db.kind === 'pglite' || db.connectionString === null) return inProcessLocks(db.knex);
  return sessionLocks(db.connectionString, namespace, options.onLost ?? (() => undefined));
};

const inProcessLocks = (knex: Knex): ProjectionLocks => {
  const owner = Symbol('projection-locks');
  const held = heldInProcess(knex);
  return {
    tryAcquire: (name) => {
      const current = held.get(name);
      if (current !== undefined && current !== owner) return Promise.resolve(false);
      held.set(name, owner);
      return Promise.resolve(true);
    },
    isHeld: (name) => held.get(name) === owner,
    release: (name) => {
      if (held.get(name) === owner) held.delete(name);
      return Promise.resolve();
    },
    close: () => {
      for (const [name, by] of held) if (by === owner) held.delete(name);
      return Promise.resolve();
    },
  };
};

const sessionLocks = (connectionString: string, namespace: number, onLost: () => void): ProjectionLocks => {
  let client: pg.Client | null = null;
  let connecting: Promise<pg.Client> | null = null;
  const held = new Set<string>();
  let closed = false;

  const drop = (lost: pg.Client) => {
    if (client !== lost) return;
    client = null;
    const hadLocks = held.size > 0;
    held.clear();
    lost.removeAllListeners();
    lost.on('error', () => undefined);
    lost.end().catch(() => undefined);
    if (hadLocks && !closed) onLost();
  };

  const connect = (): Promise<pg.Client> => {
    if (client) return Promise.resolve(client);
    connecting ??= (async () => {
      const fresh = new pg.Client({ connectionString, application_name: 'chatbot-projection-locks', keepAlive: true });
      fresh.on('error', () => drop(fresh));
      fresh.on('end', () => drop(fresh));
      try {
        await fresh.connect();
      } catch (error) {
        fresh.removeAllListeners();
        fresh.on('error', () => undefined);
        await fresh.end().catch(() => undefined);
        throw error;
      }
      client = fresh;
      return fresh;
    })().finally(() => {
      connecting = null;
    });
    return connecting;
  };

  // One connection serves every projection's lock: queries on it take turns (pg deprecates overlapping ones).
  let turn: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const result = turn.then(fn, fn);
    turn = result.catch(() => undefined);
    return result;
  };

  return {
    async tryAcquire(name) {
      if (closed) return false;
      if (held.has(name)) return true;
      const session = await connect();
      const result = await serial(() =>
        session.query<{ ok: boolean }>('select pg_try_advisory_lock($1::int, $2::int) as ok', [
          namespace,
          hashKey(name),
        ]),
      );
      if (result.rows[0]?.ok !== true) return false;
      if (client !== session) return false; // the connection died while we asked
      held.add(name);
      return true;
    },
    isHeld: (name) => held.has(name) && client !== null,
    async release(name) {
      if (!held.delete(name) || !client) return;
      const session = client;
      await serial(() =>
        session.query('select pg_advisory_unlock($1::int, $2::int)', [namespace, hashKey(name)]),
      ).catch(() => undefined);
    },
    async close() {
      closed = true;
      held.clear();
      const session = client ?? (connecting ? await connecting.catch(() => null) : null);
      client = null;
      if (session) {
        session.removeAllListeners();
        session.on('error', () => undefined);
        await session.end().catch(() => undefined);
      }
    },
  };
};
