import {
  DuplicateEventIdError,
  WrongExpectedRevisionError,
  type AllFilter,
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type Upcaster,
} from '#application/shared/eventStore.js';
import type { SqlExecutor, SqlSession } from '#infrastructure/sql/executor.js';
import { Wakeup } from './notifier.js';
import { ensureEventStoreSchema, eventStoreTables, type EventStoreTables } from './schema.js';
import { pollingSubscription } from './subscription.js';

export type PostgresEventStoreOptions = {
  executor: SqlExecutor;
  /** schema holding es_events/es_streams (default: the search_path) */
  schema?: string;
  /** PostgreSQL only: where to LISTEN for other processes' appends */
  listenConnectionString?: string;
  upcaster?: Upcaster;
  /** most appends coalesced into one transaction */
  maxBatchAppends?: number;
  /** how often subscriptions poll when no notification arrives */
  pollIntervalMs?: number;
  /** test hook: runs inside each append transaction just before COMMIT (simulates slow commits) */
  beforeCommit?: () => Promise<void>;
};

type PendingAppend = {
  streamId: string;
  events: readonly NewEvent[];
  expected: ExpectedRevision;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
};

type EventRow = {
  position: string | number;
  id: string;
  stream_id: string;
  revision: string | number;
  type: string;
  data: Record<string, unknown>;
  metadata: NewEvent['metadata'];
  recorded_at: Date | string;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const COLUMNS = 'position, id, stream_id, revision, type, data, metadata, recorded_at';

/**
 * The PostgreSQL event store (also the embedded one, on PGlite).
 *
 * Ordering guarantee: every append transaction takes one transaction-level advisory lock before it
 * draws global positions and holds it until commit, so positions become visible strictly in order
 * and a reader that reads `position > checkpoint` can never skip an event that commits later with a
 * lower position. The cost, one committing writer at a time, is paid back by group commit: appends
 * that arrive while a transaction is in flight are coalesced into the next one, each keeping its own
 * expected-revision check and result.
 */
export const createPostgresEventStore = async (options: PostgresEventStoreOptions): Promise<EventStore> => {
  const { executor } = options;
  const tables = eventStoreTables(options.schema);
  await ensureEventStoreSchema(executor, tables);
  const wakeup = new Wakeup();
  if (options.listenConnectionString) await wakeup.listen(options.listenConnectionString, tables.channel);
  const upcast = options.upcaster ?? ((event: RecordedEvent) => event);
  const maxBatch = options.maxBatchAppends ?? 256;
  const toEvent = (row: EventRow): RecordedEvent => upcast(rowToEvent(row));

  let queue: PendingAppend[] = [];
  let flushing = false;
  let closed = false;

  const flush = async () => {
    flushing = true;
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      try {
        const outcomes = await executor.transaction(async (sql) => {
          const results = await appendBatch(sql, tables, batch);
          await options.beforeCommit?.();
          return results;
        });
        outcomes.forEach((outcome, i) => {
          const pending = batch[i]!;
          if (outcome instanceof Error) pending.reject(outcome);
          else pending.resolve(outcome);
        });
        wakeup.signal();
      } catch (error) {
        for (const pending of batch) pending.reject(error);
      }
    }
    flushing = false;
  };

  const store: EventStore = {
    kind: executor.kind,
    append(streamId, events, appendOptions) {
      if (closed) return Promise.reject(new Error('event store is closed'));
      const invalid = validateAppend(streamId, events);
      if (invalid) return Promise.reject(invalid);
      return new Promise<AppendResult>((resolve, reject) => {
        queue.push({ streamId, events, expected: appendOptions?.expectedRevision ?? 'any', resolve, reject });
        if (!flushing) void flush();
      });
    },

    async readStream(streamId, readOptions: ReadStreamOptions = {}) {
      const backwards = readOptions.direction === 'backwards';
      const params: unknown[] = [streamId];
      let where = 'stream_id = $1';
      if (readOptions.fromRevision !== undefined) {
        params.push(readOptions.fromRevision);
        where += backwards ? ` and revision <= $2` : ` and revision >= $2`;
      }
      const limit = readOptions.maxCount !== undefined ? ` limit ${Math.max(0, Math.floor(readOptions.maxCount))}` : '';
      const { rows } = await executor.query<EventRow>(
        `select ${COLUMNS} from ${tables.events} where ${where} order by revision ${backwards ? 'desc' : 'asc'}${limit}`,
        params,
      );
      return rows.map(toEvent);
    },

    async readAll(readOptions: ReadAllOptions = {}) {
      const { rows } = await readAllRows(executor, tables, readOptions);
      return rows.map(toEvent);
    },

    subscribeToAll(subscribeOptions) {
      return pollingSubscription({
        ...subscribeOptions,
        pollIntervalMs: options.pollIntervalMs ?? 1_000,
        wakeup,
        readBatch: async (after, filter) => {
          const { rows, head } = await readAllRows(executor, tables, { after, filter, maxCount: 500 }, true);
          return { events: rows.map(toEvent), scannedTo: head };
        },
      });
    },

    async headPosition() {
      const { rows } = await executor.query<{ head: string | number | null }>(`select max(position) as head from ${tables.events}`);
      return Number(rows[0]?.head ?? 0);
    },

    async ping() {
      await executor.query('select 1');
    },

    async close() {
      closed = true;
      while (flushing) await new Promise((resolve) => setTimeout(resolve, 5));
      await wakeup.close();
    },
  };
  return store;
};

const validateAppend = (streamId: string, events: readonly NewEvent[]): Error | null => {
  if (!streamId || streamId.length > 512) return new TypeError('streamId must be 1..512 characters');
  if (events.length === 0) return new TypeError('append needs at least one event');
  const ids = new Set<string>();
  for (const event of events) {
    if (!UUID.test(event.id)) return new TypeError(`event id must be a uuid: ${event.id}`);
    if (ids.has(event.id.toLowerCase())) return new DuplicateEventIdError(event.id);
    ids.add(event.id.toLowerCase());
    if (!event.type) return new TypeError('event type is required');
  }
  return null;
};

const matchesExpected = (expected: ExpectedRevision, actual: number): boolean => {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return actual === -1;
    case 'stream_exists':
      return actual >= 0;
    default:
      return actual === expected;
  }
};

/** Runs under the commit-ordering lock; returns one result (or error) per pending append, in order. */
const appendBatch = async (sql: SqlSession, tables: EventStoreTables, batch: PendingAppend[]): Promise<Array<AppendResult | Error>> => {
  await sql.query(`select pg_advisory_xact_lock(${tables.lockKey})`);
  const streamIds = [...new Set(batch.map((p) => p.streamId))];
  const allIds = batch.flatMap((p) => p.events.map((e) => e.id.toLowerCase()));
  const [streamRows, existingRows] = await Promise.all([
    sql.query<{ stream_id: string; revision: string | number }>(`select stream_id, revision from ${tables.streams} where stream_id = any($1::text[])`, [streamIds]),
    sql.query<{ id: string; stream_id: string; revision: string | number; position: string | number }>(
      `select id, stream_id, revision, position from ${tables.events} where id = any($1::uuid[])`,
      [allIds],
    ),
  ]);
  const revisions = new Map(streamRows.rows.map((r) => [r.stream_id, Number(r.revision)]));
  const existing = new Map(existingRows.rows.map((r) => [r.id.toLowerCase(), { streamId: r.stream_id, revision: Number(r.revision), position: Number(r.position) }]));

  const outcomes: Array<AppendResult | Error | { pendingRows: number }> = [];
  const rows = { id: [] as string[], stream: [] as string[], revision: [] as number[], type: [] as string[], data: [] as string[], metadata: [] as string[] };
  const claimed = new Set<string>();
  for (const pending of batch) {
    const ids = pending.events.map((e) => e.id.toLowerCase());
    const stored = ids.map((id) => existing.get(id));
    if (stored.some((s) => s !== undefined) || ids.some((id) => claimed.has(id))) {
      outcomes.push(idempotentOutcome(pending, stored));
      continue;
    }
    const current = revisions.get(pending.streamId) ?? -1;
    if (!matchesExpected(pending.expected, current)) {
      outcomes.push(new WrongExpectedRevisionError(pending.streamId, pending.expected, current));
      continue;
    }
    pending.events.forEach((event, i) => {
      rows.id.push(ids[i]!);
      rows.stream.push(pending.streamId);
      rows.revision.push(current + 1 + i);
      rows.type.push(event.type);
      rows.data.push(JSON.stringify(event.data));
      rows.metadata.push(JSON.stringify(event.metadata));
      claimed.add(ids[i]!);
    });
    revisions.set(pending.streamId, current + pending.events.length);
    outcomes.push({ pendingRows: pending.events.length });
  }
  if (rows.id.length === 0) return outcomes as Array<AppendResult | Error>;

  const inserted = await sql.query<{ position: string | number }>(
    `insert into ${tables.events} (id, stream_id, revision, type, data, metadata)
     select id, stream_id, revision, type, data::jsonb, metadata::jsonb
     from unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[])
       with ordinality as t(id, stream_id, revision, type, data, metadata, ord)
     order by ord
     returning position`,
    [rows.id, rows.stream, rows.revision, rows.type, rows.data, rows.metadata],
  );
  const positions = inserted.rows.map((r) => Number(r.position)).sort((a, b) => a - b);
  const touched = [...new Set(rows.stream)];
  await sql.query(
    `insert into ${tables.streams} (stream_id, revision) select * from unnest($1::text[], $2::bigint[])
     on conflict (stream_id) do update set revision = excluded.revision`,
    [touched, touched.map((s) => revisions.get(s)!)],
  );
  await sql.query(`select pg_notify($1, $2)`, [tables.channel, String(positions[positions.length - 1])]);

  let cursor = 0;
  return outcomes.map((outcome) => {
    if (outcome instanceof Error || !('pendingRows' in outcome)) return outcome;
    cursor += outcome.pendingRows;
    return { nextExpectedRevision: rows.revision[cursor - 1]!, position: positions[cursor - 1]!, idempotent: false };
  });
};

/** A retried append: every id stored, in this stream, consecutively. Anything else is a conflict. */
const idempotentOutcome = (
  pending: PendingAppend,
  stored: Array<{ streamId: string; revision: number; position: number } | undefined>,
): AppendResult | Error => {
  const first = stored[0];
  const consistent =
    first !== undefined &&
    stored.every((s, i) => s !== undefined && s.streamId === pending.streamId && s.revision === first.revision + i);
  if (!consistent) {
    const offending = pending.events[stored.findIndex((s) => s !== undefined && s.streamId !== pending.streamId)] ?? pending.events[0]!;
    return new DuplicateEventIdError(offending.id);
  }
  const last = stored[stored.length - 1]!;
  return { nextExpectedRevision: last.revision, position: last.position, idempotent: true };
};

const readAllRows = async (
  executor: SqlExecutor,
  tables: EventStoreTables,
  options: ReadAllOptions,
  withHead = false,
): Promise<{ rows: EventRow[]; head: number }> => {
  const params: unknown[] = [options.after ?? 0];
  const where = ['position > $1', ...filterClauses(options.filter, params)];
  const limit = options.maxCount !== undefined ? ` limit ${Math.max(0, Math.floor(options.maxCount))}` : '';
  const select = `select ${COLUMNS} from ${tables.events} where ${where.join(' and ')} order by position${limit}`;
  if (!withHead) {
    const { rows } = await executor.query<EventRow>(select, params);
    return { rows, head: 0 };
  }
  // The head must come from the same snapshot as the rows, or a subscriber could move its
  // checkpoint past an event that committed between two statements: one statement, always one row.
  const { rows } = await executor.query<Partial<EventRow> & { head: string | number | null }>(
    `select h.head, e.* from (select max(position) as head from ${tables.events}) h left join lateral (${select}) e on true`,
    params,
  );
  return { rows: rows.filter((row) => row.position !== null && row.position !== undefined) as EventRow[], head: Number(rows[0]?.head ?? 0) };
};

const filterClauses = (filter: AllFilter | undefined, params: unknown[]): string[] => {
  const clauses: string[] = [];
  if (filter?.eventTypes && filter.eventTypes.length > 0) {
    params.push(filter.eventTypes);
    clauses.push(`type = any($${params.length}::text[])`);
  }
  if (filter?.streamPrefixes && filter.streamPrefixes.length > 0) {
    params.push(filter.streamPrefixes.map((prefix) => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`));
    clauses.push(`stream_id like any($${params.length}::text[])`);
  }
  return clauses;
};

const rowToEvent = (row: EventRow): RecordedEvent => ({
  id: row.id,
  type: row.type,
  streamId: row.stream_id,
  revision: Number(row.revision),
  position: Number(row.position),
  data: row.data,
  metadata: row.metadata,
  recordedAt: row.recorded_at instanceof Date ? row.recorded_at.toISOString() : new Date(row.recorded_at).toISOString(),
});
