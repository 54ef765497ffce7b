import type { Event } from '#domain/shared/event.js';
import {
  DuplicateEventIdError,
  EventStoreUnavailableError,
  WrongExpectedRevisionError,
  type AllFilter,
  type AppendResult,
  type CountAllOptions,
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
import {
  ensureEventStoreSchema,
  eventStoreTables,
  notifyChannel,
  orderingLockKey,
  type EventStoreTables,
} from './schema.js';
import { pollingSubscription } from './subscription.js';
import { prepareAppend, type PreparedAppend } from './validation.js';

export type PostgresEventStoreOptions = {
  executor: SqlExecutor;
  /** schema holding es_events/es_streams (default: the search_path) */
  schema?: string;
  /** PostgreSQL only: where to LISTEN for other processes' appends */
  listenConnectionString?: string;
  upcaster?: Upcaster;
  /** most appends coalesced into one transaction (default 256) */
  maxBatchAppends?: number;
  /** most bytes (data, metadata, types, ids) coalesced into one transaction; one larger append goes alone (default 4 MiB) */
  maxBatchBytes?: number;
  /**
   * Longest wait for the commit-ordering lock (default 5 s); past it the appends of the batch fail with
   * EventStoreUnavailableError (retryable) instead of every writer hanging behind a stalled commit.
   */
  lockTimeoutMs?: number;
  /** how often subscriptions poll when no notification arrives */
  pollIntervalMs?: number;
  /**
   * Test hook: runs inside each append transaction just before COMMIT (simulates slow commits, or
   * fails a batch holding a given stream).
   */
  beforeCommit?: (sql: SqlSession, streamIds: readonly string[]) => Promise<void>;
};

type PendingAppend = PreparedAppend & {
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

const COLUMNS = 'position, id, stream_id, revision, type, data, metadata, recorded_at';

const sqlState = (error: unknown): string =>
  typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string'
    ? (error as { code: string }).code
    : '';

/**
 * A failure caused by what one of the batch's appends carried (data exception, program limit, integrity),
 * not by the database: worth retrying the appends one by one so only the bad one fails.
 */
const isDataError = (error: unknown): boolean => /^(22|23|54)/.test(sqlState(error));

/** lock_not_available: the commit-ordering lock was not granted within lock_timeout. */
const isLockTimeout = (error: unknown): boolean => sqlState(error) === '55P03';

/**
 * The PostgreSQL event store (also the embedded one, on PGlite).
 *
 * Ordering guarantee: every append transaction takes one transaction-level advisory lock before it
 * draws global positions and holds it until commit, so positions become visible strictly in order
 * and a reader that reads `position > checkpoint` can never skip an event that commits later with a
 * lower position. The cost, one committing writer at a time, is paid back by group commit: appends
 * that arrive while a transaction is in flight are coalesced into the next one, each keeping its own
 * expected-revision check and result.
 *
 * A batch shares one transaction, so one bad append could fail the others: each append is validated
 * and serialised before it joins (prepareAppend), and a batch that still fails on data is retried
 * append by append, so only the bad one fails.
 */
export const createPostgresEventStore = async (options: PostgresEventStoreOptions): Promise<EventStore> => {
  const { executor } = options;
  const named = eventStoreTables(options.schema);
  await ensureEventStoreSchema(executor, named);
  const tables = { ...named, channel: await notifyChannel(executor, named) };
  const lockKey = await orderingLockKey(executor, tables);
  const wakeup = new Wakeup();
  if (options.listenConnectionString) await wakeup.listen(options.listenConnectionString, tables.channel);
  const upcast = options.upcaster ?? ((event: RecordedEvent) => event);
  const maxBatch = Math.max(1, options.maxBatchAppends ?? 256);
  const maxBytes = Math.max(1, options.maxBatchBytes ?? 4 * 1024 * 1024);
  const lockTimeoutMs = Math.max(1, Math.round(options.lockTimeoutMs ?? 5_000));
  const toEvent = (row: EventRow): RecordedEvent => upcast(rowToEvent(row));

  let queue: PendingAppend[] = [];
  let flushing = false;
  let closed = false;
  let probe: Promise<void> | null = null;

  /** The next batch: in arrival order, up to maxBatch appends and maxBytes (at least one append). */
  const takeBatch = (): PendingAppend[] => {
    let bytes = 0;
    let count = 0;
    while (count < queue.length && count < maxBatch) {
      const next = queue[count]!;
      if (count > 0 && bytes + next.bytes > maxBytes) break;
      bytes += next.bytes;
      count += 1;
    }
    const batch = queue.slice(0, count);
    queue = queue.slice(count);
    return batch;
  };

  const commit = (batch: PendingAppend[]): Promise<Array<AppendResult | Error>> =>
    // One round trip, in its own transaction; the test hook needs an explicit one to run in.
    options.beforeCommit
      ? executor.transaction(async (sql) => {
          const results = await appendBatch(sql, tables, lockKey, lockTimeoutMs, batch);
          await options.beforeCommit?.(
            sql,
            batch.map((p) => p.streamId),
          );
          return results;
        })
      : appendBatch(executor, tables, lockKey, lockTimeoutMs, batch);

  const settle = (pending: PendingAppend, outcome: AppendResult | Error) => {
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome);
  };

  const failure = (error: unknown): unknown =>
    isLockTimeout(error)
      ? new EventStoreUnavailableError(
          `the commit-ordering lock was not granted within ${lockTimeoutMs} ms (a commit is stalled); nothing was written, retry`,
          error,
        )
      : error;

  const flush = async () => {
    flushing = true;
    while (queue.length > 0) {
      // One macrotask first: appends made in this tick, and the next appends of callers whose appends
      // just resolved, join this batch instead of waiting for the next commit.
      await new Promise((resolve) => setImmediate(resolve));
      const batch = takeBatch();
      try {
        const outcomes = await commit(batch);
        outcomes.forEach((outcome, i) => settle(batch[i]!, outcome));
        const written = outcomes.filter((o): o is AppendResult => !(o instanceof Error) && !o.idempotent);
        if (written.length === 0) wakeup.signal();
        else
          wakeup.signalAppended(
            Math.max(...written.map((o) => o.position)),
            new Set(batch.flatMap((p) => p.events.map((e) => e.type))),
          );
      } catch (error) {
        if (batch.length > 1 && isDataError(error)) {
          // Something validation could not foresee: find the culprit, let the others through.
          for (const pending of batch) {
            try {
              const [outcome] = await commit([pending]);
              settle(pending, outcome!);
            } catch (single) {
              pending.reject(failure(single));
            }
          }
          wakeup.signal();
        } else {
          for (const pending of batch) pending.reject(failure(error));
        }
      }
    }
    flushing = false;
  };

  const store: EventStore = {
    kind: executor.kind,
    append(streamId, events, appendOptions) {
      if (closed) return Promise.reject(new Error('event store is closed'));
      const prepared = prepareAppend(streamId, events, appendOptions?.expectedRevision ?? 'any');
      if (prepared instanceof Error) return Promise.reject(prepared);
      return new Promise<AppendResult>((resolve, reject) => {
        queue.push({ ...prepared, resolve, reject });
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

    async countAll(countOptions: CountAllOptions = {}) {
      const params: unknown[] = [countOptions.after ?? 0];
      const where = ['position > $1', ...filterClauses(countOptions.filter, params)];
      if (countOptions.upTo !== undefined) {
        params.push(countOptions.upTo);
        where.push(`position <= $${params.length}`);
      }
      const { rows } = await executor.query<{ count: string | number }>(
        `select count(*) as count from ${tables.events} where ${where.join(' and ')}`,
        params,
      );
      return Number(rows[0]?.count ?? 0);
    },

    async headPosition() {
      const { rows } = await executor.query<{ head: string | number | null }>(
        `select max(position) as head from ${tables.events}`,
      );
      return Number(rows[0]?.head ?? 0);
    },

    async rewriteEventData(eventId, expected, data) {
      const { rows } = await executor.query<{ id: string }>(
        `update ${tables.events} set data = $3::jsonb where id = $1 and data = $2::jsonb returning id`,
        [eventId, JSON.stringify(expected), JSON.stringify(data)],
      );
      return rows.length === 1;
    },

    ping() {
      // /healthz gives up after its own timeout; the query does not: callers share the one in flight.
      probe ??= executor
        .query('select 1')
        .then(() => undefined)
        .finally(() => {
          probe = null;
        });
      return probe;
    },

    async close() {
      closed = true;
      while (flushing) await new Promise((resolve) => setTimeout(resolve, 5));
      await wakeup.close();
    },
  };
  return store;
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
  lockKey: number,
  lockTimeoutMs: number,
  batch: PendingAppend[],
): Promise<Array<AppendResult | Error>> => {
  const events = batch.flatMap((p) => p.events);
  const { rows } = await sql.query<{
    status: 'ok' | 'conflict' | 'stored';
    revision: string | number | null;
    last_position: string | number | null;
  }>(
    `select status, revision, last_position
     from ${tables.appendFunction}($1, $2, $3::text[], $4::bigint[], $5::int[], $6::uuid[], $7::text[], $8::text[], $9::text[], $10::int)`,
    [
      lockKey,
      tables.channel,
      batch.map((p) => p.streamId),
      batch.map((p) => encodeExpected(p.expected)),
      batch.map((p) => p.events.length),
      events.map((e) => e.id.toLowerCase()),
      events.map((e) => e.type),
      batch.flatMap((p) => p.data),
      batch.flatMap((p) => p.metadata),
      lockTimeoutMs,
    ],
  );
  const retries = batch.filter((_, i) => rows[i]!.status === 'stored');
  let stored = new Map<string, StoredCopy>();
  if (retries.length > 0) {
    // Rare (a client retrying): classify against what is stored; stored events never change. Content is
    // compared as jsonb, so key order and number spelling do not count as a difference.
    const found = await sql.query<{
      id: string;
      stream_id: string;
      revision: string | number;
      position: string | number;
      same: boolean;
    }>(
      `select e.id, e.stream_id, e.revision, e.position, (e.type = c.type and e.data = c.data::jsonb) as same
       from ${tables.events} e join unnest($1::uuid[], $2::text[], $3::text[]) as c(id, type, data) on e.id = c.id`,
      [
        retries.flatMap((p) => p.events.map((e) => e.id.toLowerCase())),
        retries.flatMap((p) => p.events.map((e) => e.type)),
        retries.flatMap((p) => p.data),
      ],
    );
    stored = new Map(
      found.rows.map((r) => [
        r.id.toLowerCase(),
        { streamId: r.stream_id, revision: Number(r.revision), position: Number(r.position), same: r.same },
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

type StoredCopy = { streamId: string; revision: number; position: number; same: boolean };

/**
 * A retried append: every id stored, in this stream, consecutively, with the same type and data.
 * Anything else is refused: the retry does not describe what is stored.
 */
const idempotentOutcome = (pending: PendingAppend, stored: Array<StoredCopy | undefined>): AppendResult | Error => {
  const first = stored[0];
  const consistent =
    first !== undefined &&
    stored.every(
      (s, i) => s !== undefined && s.same && s.streamId === pending.streamId && s.revision === first.revision + i,
    );
  if (!consistent) {
    // Name an id that is stored somewhere it should not be, else any stored one.
    const clash = stored.findIndex((s) => s !== undefined && (!s.same || s.streamId !== pending.streamId));
    const offending =
      clash >= 0
        ? clash
        : Math.max(
            0,
            stored.findIndex((s) => s !== undefined),
          );
    return new DuplicateEventIdError(pending.events[offending]!.id);
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
