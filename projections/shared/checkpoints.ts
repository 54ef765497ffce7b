import type { Knex } from 'knex';
import type { EventStore, RecordedEvent } from '#application/shared/eventStore.js';
import {
  CheckpointMovedError,
  ProjectionApplyError,
  ProjectionVersionAheadError,
  type Projection,
} from './projection.js';

/** Created by infrastructure/migrations (the first migration). */
export const CHECKPOINTS_TABLE = 'projection_checkpoints';

export type Checkpoint = {
  name: string;
  /**
   * global position the projection has scanned up to: every matching event at or below it is applied
   * (0: nothing yet). It moves past events the projection does not handle, so a projection whose events
   * are rare does not scan the same tail again on every wake-up.
   */
  position: number;
  version: number;
  /** events applied since the last (re)build */
  eventsApplied: number;
  lastEventAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  updatedAt: string | null;
};

type CheckpointRow = {
  name: string;
  position: string | number;
  version: number;
  events_applied: string | number;
  last_event_at: Date | string | null;
  last_error: string | null;
  last_error_at: Date | string | null;
  updated_at: Date | string | null;
};

const iso = (value: Date | string | null): string | null => (value === null ? null : new Date(value).toISOString());

const toCheckpoint = (row: CheckpointRow): Checkpoint => ({
  name: row.name,
  position: Number(row.position),
  version: row.version,
  eventsApplied: Number(row.events_applied),
  lastEventAt: iso(row.last_event_at),
  lastError: row.last_error,
  lastErrorAt: iso(row.last_error_at),
  updatedAt: iso(row.updated_at),
});

/** The checkpoints table is missing: the database has not been migrated. */
export class CheckpointsTableMissingError extends Error {
  readonly code = 'migrations_pending';
  constructor() {
    super(`table ${CHECKPOINTS_TABLE} does not exist: run \`chatbot migrate latest\` first`);
    this.name = 'CheckpointsTableMissingError';
  }
}

const undefinedTable = (error: unknown): boolean =>
  typeof error === 'object' &&
  error !== null &&
  (error as { code?: unknown }).code === '42P01' &&
  String((error as Error).message).includes(CHECKPOINTS_TABLE);

/** Turns "relation projection_checkpoints does not exist" into an error that says what to do. */
const explained = async <T>(work: Promise<T>): Promise<T> => {
  try {
    return await work;
  } catch (error) {
    throw undefinedTable(error) ? new CheckpointsTableMissingError() : error;
  }
};

export const readCheckpoints = async (knex: Knex, names: readonly string[]): Promise<Map<string, Checkpoint>> => {
  const rows: CheckpointRow[] = await explained(
    knex<CheckpointRow>(CHECKPOINTS_TABLE)
      .whereIn('name', names)
      .then((r) => r),
  );
  return new Map(rows.map((row) => [row.name, toCheckpoint(row)]));
};

export const readCheckpoint = async (knex: Knex, name: string): Promise<Checkpoint | null> =>
  (await readCheckpoints(knex, [name])).get(name) ?? null;

const truncateTables = async (trx: Knex.Transaction, projection: Projection): Promise<void> => {
  if (projection.tables.length === 0) return;
  // restart identity: a rebuilt table must be identical, serial ids included.
  await trx.raw(`truncate table ${projection.tables.map(() => '??').join(', ')} restart identity`, [
    ...projection.tables,
  ]);
};

/** Empties the read model and rewinds the checkpoint, atomically; the row lock orders it against any batch in flight. */
const resetInTransaction = async (trx: Knex.Transaction, projection: Projection): Promise<void> => {
  await trx(CHECKPOINTS_TABLE).where({ name: projection.name }).forUpdate().first();
  await truncateTables(trx, projection);
  await trx(CHECKPOINTS_TABLE).where({ name: projection.name }).update({
    position: 0,
    version: projection.version,
    events_applied: 0,
    last_event_at: null,
    updated_at: trx.fn.now(),
  });
};

const insertIfMissing = async (trx: Knex.Transaction, projection: Projection): Promise<boolean> => {
  const inserted = await trx(CHECKPOINTS_TABLE)
    .insert({
      name: projection.name,
      position: 0,
      version: projection.version,
      events_applied: 0,
      updated_at: trx.fn.now(),
    })
    .onConflict('name')
    .ignore()
    .returning('name');
  return inserted.length > 0;
};

export type PreparedCheckpoint = {
  position: number;
  reset: 'created' | 'version_changed' | null;
  storedVersion: number | null;
};

/**
 * Run once the projection's lock is held. A new checkpoint starts from empty tables (whatever is in them
 * was not written under this checkpoint); an older stored version means a rebuild, a newer one
 * (a rolling deploy's old process) throws ProjectionVersionAheadError.
 */
export const prepareCheckpoint = (knex: Knex, projection: Projection): Promise<PreparedCheckpoint> =>
  explained(
    knex.transaction(async (trx) => {
      if (await insertIfMissing(trx, projection)) {
        await truncateTables(trx, projection);
        return { position: 0, reset: 'created' as const, storedVersion: null };
      }
      const row = (await trx<CheckpointRow>(CHECKPOINTS_TABLE)
        .where({ name: projection.name })
        .forUpdate()
        .first()) as CheckpointRow;
      if (row.version > projection.version)
        throw new ProjectionVersionAheadError(projection.name, row.version, projection.version);
      if (row.version !== projection.version) {
        await resetInTransaction(trx, projection);
        return { position: 0, reset: 'version_changed' as const, storedVersion: row.version };
      }
      return { position: Number(row.position), reset: null, storedVersion: row.version };
    }),
  );

/** Rebuild's first step: empty tables, checkpoint 0, code version. Safe while a runner is applying. */
export const resetProjection = (knex: Knex, projection: Projection): Promise<void> =>
  explained(
    knex.transaction(async (trx) => {
      await insertIfMissing(trx, projection);
      await resetInTransaction(trx, projection);
    }),
  );

/** What one scan after a checkpoint found: the matching events, and how far it looked. */
export type ScannedBatch = {
  events: RecordedEvent[];
  /** every matching event at or below this position is in `events` (or was applied before) */
  scannedTo: number;
};

/**
 * Reads the next matching events after `after`, and how far that read has looked. The head is read
 * first: every store makes events visible in position order, so a read that comes back short has
 * returned every matching event up to that head, and the checkpoint may move there even when nothing
 * matched. Valid for every store; costs one cheap read of the head.
 */
export const scanAfter = async (
  store: EventStore,
  after: number,
  eventTypes: readonly string[],
  maxCount: number,
): Promise<ScannedBatch> => {
  const head = await store.headPosition();
  const events = await store.readAll({ after, maxCount, filter: { eventTypes } });
  const last = events[events.length - 1]?.position ?? after;
  return { events, scannedTo: events.length >= maxCount ? last : Math.max(after, head, last) };
};

/**
 * Applies `events` (read after checkpoint `from`) and moves the checkpoint to `scannedTo` (at least the
 * last event's position) in ONE transaction: the read model changes if and only if the checkpoint does.
 * With no events it only moves the checkpoint past what was scanned. Compare-and-set: when the stored
 * position is no longer `from` (another runner, or a rebuild, moved it), nothing is written and
 * CheckpointMovedError is thrown.
 */
export const applyBatch = (
  knex: Knex,
  projection: Projection,
  from: number,
  events: readonly RecordedEvent[],
  scannedTo = 0,
): Promise<number> =>
  knex.transaction(async (trx) => {
    const row = await trx<CheckpointRow>(CHECKPOINTS_TABLE)
      .select('position')
      .where({ name: projection.name })
      .forUpdate()
      .first();
    const stored = row === undefined ? -1 : Number(row.position);
    if (stored !== from) throw new CheckpointMovedError(projection.name, from, stored);
    await applyEvents(trx, projection, events);
    const last = events[events.length - 1];
    const position = Math.max(from, scannedTo, last?.position ?? 0);
    if (position === from) return from;
    await trx(CHECKPOINTS_TABLE)
      .where({ name: projection.name })
      .update({
        position,
        ...(last === undefined
          ? {}
          : { events_applied: trx.raw('events_applied + ?', [events.length]), last_event_at: last.recordedAt }),
        updated_at: trx.fn.now(),
      });
    return position;
  });

/**
 * Folds `events` into the projection's tables inside `trx`: the batch path when the projection has one,
 * else `apply` event by event; then `afterBatch`. The caller owns the transaction and the checkpoint.
 */
export const applyEvents = async (
  trx: Knex.Transaction,
  projection: Projection,
  events: readonly RecordedEvent[],
): Promise<void> => {
  if (events.length === 0) return;
  if (projection.applyBatch) {
    try {
      await projection.applyBatch(trx, events);
    } catch (error) {
      throw new ProjectionApplyError(projection.name, events[0]!, error, events.length);
    }
  } else {
    for (const event of events) {
      try {
        await projection.apply(trx, event);
      } catch (error) {
        throw new ProjectionApplyError(projection.name, event, error);
      }
    }
  }
  await projection.afterBatch?.(trx);
};

/** After the failed batch rolled back, so the error survives it. */
export const recordError = async (knex: Knex, name: string, error: unknown): Promise<void> => {
  const message = (error instanceof Error ? error.message : String(error)).slice(0, 4000);
  await knex(CHECKPOINTS_TABLE)
    .where({ name })
    .update({ last_error: message, last_error_at: knex.fn.now(), updated_at: knex.fn.now() });
};
