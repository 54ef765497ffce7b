import type { Event } from '#domain/shared/event.js';
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
      // One macrotask first: appends made in this tick, and the next appends of callers whose appends
      // just resolved, join this batch instead of waiting for the next commit.
      await new Promise((resolve) => setImmediate(resolve));
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      try {
        // One round trip, in its own transaction; the test hook needs an explicit one to run in.
        const outcomes = options.beforeCommit
          ? await executor.transaction(async (sql) => {
              const results = await appendBatch(sql, tables, batch);
              await options.beforeCommit?.();
              return results;
            })
          : await appendBatch(executor, tables, batch);
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

    async readStream<E extends Event = Event>(streamId: string, readOptions: ReadStreamOptions = {}) {
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
      return rows.map(toEvent) as RecordedEvent<E>[];
    },

    async readAll<E extends Event = Event>(readOptions: ReadAllOptions = {}) {
      const { rows } = await readAllRows(executor, tables, readOptions);
      return rows.map(toEvent) as RecordedEvent<E>[];
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
      const { rows } = await executor.query<{ head: string | number | null }>(
        `select max(position) as head from ${tables.events}`,
      );
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

const encodeExpected = (expected: ExpectedRevision): number =>
  expected === 'no_stream' ? -1 : expected === 'any' ? -2 : expected === 'stream_exists' ? -3 : expected;

/**
 * Appends a batch with one call of the schema's append function (which takes the commit-ordering
 * lock); returns one result (or error) per pending append, in order.
 */
const appendBatch = async (
  sql: SqlSession,
  tables: EventStoreTables,
  batch: PendingAppend[],
): Promise<Array<AppendResult | Error>> => {
  const events = batch.flatMap((p) => p.events);
  const { rows } = await sql.query<{
    status: 'ok' | 'conflict' | 'stored';
    revision: string | number | null;
    last_position: string | number | null;
  }>(
    `select status, revision, last_position
     from ${tables.appendFunction}($1, $2, $3::text[], $4::bigint[], $5::int[], $6::uuid[], $7::text[], $8::text[], $9::text[])`,
    [
      tables.lockKey,
      tables.channel,
      batch.map((p) => p.streamId),
      batch.map((p) => encodeExpected(p.expected)),
      batch.map((p) => p.events.length),
      events.map((e) => e.id.toLowerCase()),
      events.map((e) => e.type),
      events.map((e) => JSON.stringify(e.data)),
      events.map((e) => JSON.stringify(e.metadata)),
    ],
  );
  const retries = batch.filter((_, i) => rows[i]!.status === 'stored');
  let stored = new Map<string, { streamId: string; revision: number; position: number }>();
  if (retries.length > 0) {
    // Rare (a client retrying): classify against what is stored; stored events never change.
    const ids = retries.flatMap((p) => p.events.map((e) => e.id.toLowerCase()));
    const found = await sql.query<{
      id: string;
      stream_id: string;
      revision: string | number;
      position: string | number;
    }>(`select id, stream_id, revision, position from ${tables.events} where id = any($1::uuid[])`, [ids]);
    stored = new Map(
      found.rows.map((r) => [
        r.id.toLowerCase(),
        { streamId: r.stream_id, revision: Number(r.revision), position: Number(r.position) },
      ]),
    );
  }
  return batch.map((pending, i) => {
    const row = rows[i]!;
    switch (row.status) {
      case 'ok':
        return { nextExpectedRevision: Number(row.revision), position: Number(row.last_position), idempotent: false };
      case 'conflict':
        return new WrongExpectedRevisionError(pending.streamId, pending.expected, Number(row.revision));
      case 'stored':
        return idempotentOutcome(
          pending,
          pending.events.map((e) => stored.get(e.id.toLowerCase())),
        );
    }
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
    const offending =
      pending.events[stored.findIndex((s) => s !== undefined && s.streamId !== pending.streamId)] ?? pending.events[0]!;
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
  return {
    rows: rows.filter((row) => row.position !== null && row.position !== undefined) as EventRow[],
    head: Number(rows[0]?.head ?? 0),
  };
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
