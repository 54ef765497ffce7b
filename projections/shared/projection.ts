import type { Knex } from 'knex';
import type { RecordedEvent } from '#application/shared/eventStore.js';

/**
 * A read model folded from events. One file per projection (e.g. projections/identity/accounts.ts).
 * `apply` runs inside the runner's transaction, which also moves the checkpoint: write only through
 * `trx`, never read the event store from it (embedded mode has a single connection).
 */
export type Projection = {
  /** stable, unique: the checkpoint's key */
  readonly name: string;
  /** bump it when `apply` or the tables change shape: the runner then rebuilds at start */
  readonly version: number;
  /** event types it folds (non-empty); it never sees any other event */
  readonly handles: readonly string[];
  /** read-model tables it owns; truncated (identity restarted) on rebuild */
  readonly tables: readonly string[];
  apply(trx: Knex.Transaction, event: RecordedEvent): Promise<void>;
  /**
   * Optional, used instead of `apply` when present: folds a whole batch (matching events, position
   * order) in memory and writes it with a few multi-row statements, in the runner's transaction. Must
   * leave exactly the rows that applying the events one by one with `apply` leaves (the per-event path
   * stays the reference: tests/integration/projections/batchApply.test.ts compares the two).
   */
  applyBatch?(trx: Knex.Transaction, events: readonly RecordedEvent[]): Promise<void>;
  /**
   * Optional: runs once after the last `apply` of a batch, in the same transaction (a read model kept
   * as one value, such as the metrics state, is written once per batch instead of once per event).
   */
  afterBatch?(trx: Knex.Transaction): Promise<void>;
};

/** A winston logger fits this shape. */
export type ProjectionLogger = {
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
};

/** Warnings and errors to the console; the process entry points pass their winston logger instead. */
export const consoleProjectionLogger: ProjectionLogger = {
  info: () => undefined,
  warn: (message, meta) => console.warn(message, meta ?? ''),
  error: (message, meta) => console.error(message, meta ?? ''),
};

export class InvalidProjectionError extends Error {
  readonly code = 'invalid_projection';
  constructor(
    readonly projection: string,
    reason: string,
  ) {
    super(`projection ${projection}: ${reason}`);
    this.name = 'InvalidProjectionError';
  }
}

export class UnknownProjectionError extends Error {
  readonly code = 'unknown_projection';
  constructor(
    readonly projection: string,
    known: readonly string[],
  ) {
    super(`unknown projection ${projection}; known: ${known.length > 0 ? known.join(', ') : '(none registered)'}`);
    this.name = 'UnknownProjectionError';
  }
}

/** Someone else moved the checkpoint after this batch was read: the batch is rolled back and re-read. */
export class CheckpointMovedError extends Error {
  readonly code = 'checkpoint_moved';
  constructor(
    readonly projection: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`projection ${projection}: checkpoint moved from ${expected} to ${actual} by someone else; batch aborted`);
    this.name = 'CheckpointMovedError';
  }
}

/**
 * The read model was built by a newer version of this projection (a newer deployment owns it): an
 * older process must not rebuild it back, so it steps aside instead.
 */
export class ProjectionVersionAheadError extends Error {
  readonly code = 'projection_version_ahead';
  constructor(
    readonly projection: string,
    readonly stored: number,
    readonly version: number,
  ) {
    super(
      `projection ${projection}: the read model was built by version ${stored}, newer than this code's ${version}; leaving it to the newer deployment`,
    );
    this.name = 'ProjectionVersionAheadError';
  }
}

/** `apply` failed on one event; the batch is rolled back and retried, the event is never skipped. */
export class ProjectionApplyError extends Error {
  readonly code = 'projection_apply_failed';
  constructor(
    readonly projection: string,
    readonly event: Pick<RecordedEvent, 'position' | 'type' | 'id'>,
    readonly cause: unknown,
    /** more than 1: the batch path failed on a batch of this many events starting at `event` */
    readonly batchOf = 1,
  ) {
    super(
      `projection ${projection} failed on ${batchOf > 1 ? `a batch of ${batchOf} events from ` : ''}event ${event.type} at position ${event.position} (${event.id}): ${cause instanceof Error ? cause.message : String(cause)}`,
    );
    this.name = 'ProjectionApplyError';
  }
}

export const validateProjections = (projections: readonly Projection[]): void => {
  const names = new Set<string>();
  for (const projection of projections) {
    if (!/^[a-z][a-z0-9_.-]{0,99}$/i.test(projection.name))
      throw new InvalidProjectionError(projection.name, 'name must be 1..100 of [a-z0-9_.-]');
    if (names.has(projection.name)) throw new InvalidProjectionError(projection.name, 'registered twice');
    names.add(projection.name);
    // An empty type filter would mean "every event" to the store.
    if (projection.handles.length === 0) throw new InvalidProjectionError(projection.name, 'handles no event type');
    if (!Number.isInteger(projection.version) || projection.version < 1)
      throw new InvalidProjectionError(projection.name, 'version must be a positive integer');
  }
};

export const findProjection = (projections: readonly Projection[], name: string): Projection => {
  const found = projections.find((projection) => projection.name === name);
  if (!found)
    throw new UnknownProjectionError(
      name,
      projections.map((projection) => projection.name),
    );
  return found;
};
