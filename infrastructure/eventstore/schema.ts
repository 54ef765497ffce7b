import type { SqlExecutor } from '#infrastructure/sql/executor.js';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Table and channel names of one event store; `schema` lets tests and benchmarks run side by side. */
export type EventStoreTables = {
  schema: string | null;
  events: string;
  streams: string;
  /** LISTEN/NOTIFY channel */
  channel: string;
  /** key of the transaction-level advisory lock that orders commits */
  lockKey: number;
};

/**
 * Without a schema the tables are unqualified and follow the connection's search_path (so a
 * DATABASE_URL with `?options=-c search_path=...` places them); with one they are qualified.
 */
export const eventStoreTables = (schema?: string): EventStoreTables => {
  if (schema !== undefined && !IDENTIFIER.test(schema)) throw new Error(`invalid schema name: ${schema}`);
  const prefix = schema === undefined ? '' : `"${schema}".`;
  const name = schema ?? 'default';
  return {
    schema: schema ?? null,
    events: `${prefix}es_events`,
    streams: `${prefix}es_streams`,
    channel: `chatbot_events_${name}`.slice(0, 63),
    lockKey: hashKey(`chatbot-event-store:${name}`),
  };
};

/** A stable 31-bit key for pg_advisory_xact_lock. */
const hashKey = (text: string): number => {
  let hash = 0x811c9dc5;
  for (const char of text) {
    hash ^= char.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash & 0x7fffffff;
};

/** Idempotent DDL: safe to run from several processes at start. */
export const ensureEventStoreSchema = (executor: SqlExecutor, tables: EventStoreTables): Promise<void> =>
  executor.transaction(async (sql) => {
    // The same lock appends take: concurrent starts create the tables once.
    await sql.query(`select pg_advisory_xact_lock(${tables.lockKey})`);
    if (tables.schema !== null) await sql.query(`create schema if not exists "${tables.schema}"`);
    await sql.query(`
      create table if not exists ${tables.events} (
        position    bigserial primary key,
        id          uuid not null unique,
        stream_id   text not null,
        revision    bigint not null,
        type        text not null,
        data        jsonb not null,
        metadata    jsonb not null,
        recorded_at timestamptz not null default now(),
        unique (stream_id, revision)
      )`);
    await sql.query(`create index if not exists es_events_type_position on ${tables.events} (type, position)`);
    await sql.query(`
      create table if not exists ${tables.streams} (
        stream_id text primary key,
        revision  bigint not null
      )`);
  });
