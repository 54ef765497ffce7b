import pg from 'pg';
import type { Knex } from 'knex';
import type { EventStore, RecordedEvent } from '#application/shared/eventStore.js';
import { createPostgresEventStore } from '#infrastructure/eventstore/postgres.js';
import { openPgliteDatabase, openPostgresDatabase, type Database } from '#infrastructure/sql/database.js';
import { migrateLatest } from '#infrastructure/sql/migrate.js';
import type { Projection } from '#projections/runner.js';
import { TEST_DATABASE_URL, uniqueName } from './events.js';

/**
 * The sample read model of the projection tests: a counter per stream and one row per event. The
 * rows table has NO unique key on purpose, so an event applied twice shows up as a duplicate row.
 */
export const createSampleTables = async (knex: Knex): Promise<void> => {
  await knex.schema.createTable('sample_counters', (table) => {
    table.text('stream_id').primary();
    table.integer('count').notNullable();
    table.bigInteger('last_position').notNullable();
  });
  await knex.schema.createTable('sample_rows', (table) => {
    table.bigIncrements('id');
    table.uuid('event_id').notNullable();
    table.text('stream_id').notNullable();
    table.text('type').notNullable();
    table.bigInteger('position').notNullable();
    table.integer('n');
    table.text('applied_by').notNullable();
  });
};

export type SampleOptions = {
  name?: string;
  version?: number;
  /** tag written into each row: which process applied it */
  appliedBy?: string;
  /** per-event database work, so a child process is killed mid-stream */
  delayMs?: number;
  failOn?: (event: RecordedEvent) => boolean;
};

export const SAMPLE_HANDLES = ['Counted', 'Noted'] as const;

export const sampleProjection = (options: SampleOptions = {}): Projection => ({
  name: options.name ?? 'sample',
  version: options.version ?? 1,
  handles: SAMPLE_HANDLES,
  tables: ['sample_counters', 'sample_rows'],
  async apply(trx, event) {
    if (options.failOn?.(event)) throw new Error(`sample projection refuses event n=${String(event.data.n)}`);
    await trx('sample_rows').insert({
      event_id: event.id,
      stream_id: event.streamId,
      type: event.type,
      position: event.position,
      n: typeof event.data.n === 'number' ? event.data.n : null,
      applied_by: options.appliedBy ?? 'test',
    });
    if (event.type === 'Counted') {
      await trx.raw(
        `insert into sample_counters (stream_id, count, last_position) values (?, 1, ?)
         on conflict (stream_id) do update set count = sample_counters.count + 1, last_position = excluded.last_position`,
        [event.streamId, event.position],
      );
    }
    if (options.delayMs) await trx.raw('select pg_sleep(?)', [options.delayMs / 1000]);
  },
});

export type TestSchema = {
  schema: string;
  db: Database;
  store: EventStore;
  /** closes this handle's connections (the schema stays) */
  close(): Promise<void>;
};

/** A database + event store confined to `schema` (created, migrated and given the sample tables when `create`). */
export const openTestSchema = async (
  schema: string,
  options: { create?: boolean; applicationName?: string } = {},
): Promise<TestSchema> => {
  if (options.create) await adminQuery(`create schema "${schema}"`);
  const db = openPostgresDatabase(TEST_DATABASE_URL, {
    searchPath: schema,
    poolSize: 4,
    applicationName: options.applicationName ?? uniqueName('proj_test'),
  });
  const store = await createPostgresEventStore({
    executor: db.executor,
    schema,
    listenConnectionString: TEST_DATABASE_URL,
    pollIntervalMs: 200,
  });
  if (options.create) {
    await migrateLatest(db);
    await createSampleTables(db.knex);
  }
  return {
    schema,
    db,
    store,
    close: async () => {
      await store.close();
      await db.close();
    },
  };
};

export const adminQuery = async <R extends pg.QueryResultRow = Record<string, unknown>>(
  sql: string,
  params: unknown[] = [],
): Promise<R[]> => {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
};

export const dropSchema = async (schema: string) => {
  // and the shadow schemas a blue/green rebuild left behind (projections/shared/shadow.ts)
  const shadows = await adminQuery<{ nspname: string }>(`select nspname from pg_namespace where nspname like $1`, [
    `${schema.slice(0, 40).replace(/[\\%_]/g, (c) => `\\${c}`)}\\_\\_rb\\_%`,
  ]);
  for (const { nspname } of shadows) await adminQuery(`drop schema if exists "${nspname}" cascade`);
  return adminQuery(`drop schema if exists "${schema}" cascade`);
};

export type SampleRow = {
  event_id: string;
  stream_id: string;
  type: string;
  position: number;
  n: number | null;
  applied_by: string;
};

export const sampleRows = async (knex: Knex): Promise<SampleRow[]> =>
  (await knex('sample_rows').select('event_id', 'stream_id', 'type', 'position', 'n', 'applied_by').orderBy('id')).map(
    (row: SampleRow) => ({ ...row, position: Number(row.position) }),
  );

export const sampleCounters = async (knex: Knex): Promise<Record<string, number>> =>
  Object.fromEntries(
    (await knex('sample_counters').select('stream_id', 'count').orderBy('stream_id')).map(
      (row: { stream_id: string; count: number }) => [row.stream_id, row.count],
    ),
  );

export type CheckpointRow = {
  name: string;
  position: number;
  version: number;
  events_applied: number;
  last_event_at: Date | null;
  last_error: string | null;
  last_error_at: Date | null;
};

export const checkpointOf = async (knex: Knex, name = 'sample'): Promise<CheckpointRow | null> => {
  const row = (await knex('projection_checkpoints').where({ name }).first()) as
    (CheckpointRow & { position: string; events_applied: string }) | undefined;
  return row === undefined
    ? null
    : { ...row, position: Number(row.position), events_applied: Number(row.events_applied) };
};

/** Every row of every table of the projection, in key order (first two columns). */
export const dumpTables = async (knex: Knex, projection: Projection): Promise<Record<string, unknown[]>> => {
  const out: Record<string, unknown[]> = {};
  for (const table of projection.tables)
    out[table] = (await knex.raw<{ rows: unknown[] }>(`select * from ?? order by 1, 2`, [table])).rows;
  return out;
};

/** A database and event store for a scenario, and how to close (and drop) them. */
export type ScenarioStore = { db: Database; store: EventStore; close: () => Promise<void> };

/** A fresh PostgreSQL schema (named from `prefix`), migrated, dropped on close. */
export const openSchemaScenario = async (prefix: string): Promise<ScenarioStore> => {
  const t = await openTestSchema(uniqueName(prefix), { create: true });
  return {
    db: t.db,
    store: t.store,
    close: async () => {
      await t.close();
      await dropSchema(t.schema);
    },
  };
};

/** An in-memory embedded PGlite database, migrated, with its event store. */
export const openPgliteScenario = async (): Promise<ScenarioStore> => {
  const db = openPgliteDatabase(null);
  const store = await createPostgresEventStore({ executor: db.executor, pollIntervalMs: 200 });
  await migrateLatest(db);
  return {
    db,
    store,
    close: async () => {
      await store.close();
      await db.close();
    },
  };
};
