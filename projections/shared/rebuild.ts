import type { Knex } from 'knex';
import type { EventStore, RecordedEvent } from '#application/shared/eventStore.js';
import type { Database } from '#infrastructure/sql/database.js';
import {
  applyBatch,
  applyEvents,
  CHECKPOINTS_TABLE,
  readCheckpoint,
  scanAfter,
  type ScannedBatch,
} from './checkpoints.js';
import { openProjectionLocks, type ProjectionLocks } from './locks.js';
import { CheckpointMovedError, validateProjections, type Projection } from './projection.js';
import {
  createDeferredIndexes,
  createShadowTables,
  currentSearchPath,
  liveSchemaOf,
  markShadowTransaction,
  shadowSchemaName,
  shadowTablesExist,
  swapShadowTables,
  shadowSearchPath,
} from './shadow.js';
import { countMatching } from './status.js';

/** Created by infrastructure/migrations (202511291801_projection_rebuilds). */
export const REBUILDS_TABLE = 'projection_rebuilds';

export type RebuildProgress = {
  /** events replayed so far (all the projections' matching events, counted once) */
  done: number;
  /** matching events in the store (grows with the events appended during the rebuild) */
  total: number;
  /** the shadow checkpoint a resumed rebuild started from (0 for a fresh one) */
  resumedFrom: number;
};

export type RebuildOptions = {
  db: Database;
  store: EventStore;
  /** one projection ... */
  projection?: Projection;
  /** ... or several, replayed together in one pass over the store */
  projections?: readonly Projection[];
  /** events replayed so far, of the matching events the store holds */
  onProgress?: (done: number, total: number, progress: RebuildProgress) => void;
  /** called once when a killed rebuild's shadow is picked up again */
  onResume?: (projection: string, position: number, eventsApplied: number) => void;
  /** kept for callers of the in-place rebuild: the blue/green rebuild never hands off */
  onHandOff?: (holderPid: number | null) => void;
  /** events read and applied per transaction (default 5,000) */
  batchSize?: number;
  /** recorded with the rebuild (the admin who asked, or 'cli') */
  requestedBy?: string;
  /** kept for callers of the in-place rebuild */
  pollMs?: number;
  lockRetryMs?: number;
  /** after each committed batch (tests use it to look at the live read model mid-rebuild) */
  afterBatch?: () => Promise<void> | void;
};

export type RebuildResult = {
  name: string;
  eventsApplied: number;
  position: number;
  replayedBy: 'this_process' | 'running_process';
  /** the shadow checkpoint it resumed from, null when it started from the first event */
  resumedFrom: number | null;
  durationMs: number;
};

export class RebuildFailedError extends Error {
  readonly code = 'rebuild_failed';
  constructor(
    readonly projection: string,
    readonly reason: string,
  ) {
    super(`rebuild of ${projection} failed: ${reason}`);
    this.name = 'RebuildFailedError';
  }
}

/** Another process is rebuilding it (it holds the rebuild lock). */
export class RebuildInProgressError extends Error {
  readonly code = 'rebuild_in_progress';
  constructor(readonly projection: string) {
    super(`projection ${projection} is already being rebuilt by another process`);
    this.name = 'RebuildInProgressError';
  }
}

export const rebuildLockName = (projection: string): string => `rebuild:${projection}`;

type RebuildRow = {
  name: string;
  version: number;
  shadow_schema: string;
  position: string | number;
  events_applied: string | number;
  events_total: string | number;
  started_at: Date | string;
  updated_at: Date | string;
  last_error: string | null;
  last_error_at: Date | string | null;
  requested_by: string | null;
};

export type RebuildRecord = {
  name: string;
  version: number;
  shadowSchema: string;
  position: number;
  eventsApplied: number;
  eventsTotal: number;
  startedAt: string;
  updatedAt: string;
  lastError: string | null;
  lastErrorAt: string | null;
  requestedBy: string | null;
};

const iso = (value: Date | string | null): string | null => (value === null ? null : new Date(value).toISOString());

const toRecord = (row: RebuildRow): RebuildRecord => ({
  name: row.name,
  version: row.version,
  shadowSchema: row.shadow_schema,
  position: Number(row.position),
  eventsApplied: Number(row.events_applied),
  eventsTotal: Number(row.events_total),
  startedAt: iso(row.started_at)!,
  updatedAt: iso(row.updated_at)!,
  lastError: row.last_error,
  lastErrorAt: iso(row.last_error_at),
  requestedBy: row.requested_by,
});

/** Rebuilds in progress (or interrupted), by projection name. */
export const readRebuilds = async (knex: Knex, names: readonly string[]): Promise<Map<string, RebuildRecord>> => {
  const rows: RebuildRow[] = await knex<RebuildRow>(REBUILDS_TABLE).whereIn('name', names);
  return new Map(rows.map((row) => [row.name, toRecord(row)]));
};

type Target = {
  projection: Projection;
  handles: ReadonlySet<string>;
  shadow: string;
  liveSchema: string;
  position: number;
  eventsApplied: number;
  lastEventAt: string | null;
  resumedFrom: number | null;
};

/**
 * Blue/green rebuild: replays every matching event into shadow tables while the live read model keeps
 * serving (and its runner keeps it current), then swaps them in atomically. Each committed batch moves
 * the shadow checkpoint (projection_rebuilds) in the same transaction as its writes, so a rebuild that
 * is killed resumes from there. Several projections are replayed in one pass over the store.
 */
export const rebuildProjections = async (options: RebuildOptions): Promise<RebuildResult[]> => {
  const { db, store } = options;
  const projections = options.projections ?? (options.projection ? [options.projection] : []);
  validateProjections(projections);
  if (projections.length === 0) return [];
  const started = Date.now();
  const batchSize = options.batchSize ?? 5_000;
  const locks = await openProjectionLocks(db);
  try {
    for (const projection of projections)
      if (!(await locks.tryAcquire(rebuildLockName(projection.name))))
        throw new RebuildInProgressError(projection.name);
    const targets: Target[] = [];
    for (const projection of projections) targets.push(await prepareShadow(db.knex, projection, options));
    const livePath = await currentSearchPath(db.knex);
    const handles = [...new Set(projections.flatMap((p) => p.handles))];

    let from = Math.min(...targets.map((t) => t.position));
    const resumedFrom = from;
    const countAfter = async (after: number) => (await countMatching(store, after, handles)).count;
    const [before, remaining] = await Promise.all([
      from === 0 ? Promise.resolve(0) : countBetween(store, handles, from),
      countAfter(from),
    ]);
    let done = before;
    let total = before + remaining;
    await db
      .knex(REBUILDS_TABLE)
      .whereIn(
        'name',
        projections.map((p) => p.name),
      )
      .update({ events_total: total });
    const report = () => options.onProgress?.(done, Math.max(done, total), { done, total, resumedFrom });
    report();

    // Reading the next batch overlaps applying this one (PostgreSQL: the store has its own pool).
    const read = (after: number) => scanAfter(store, after, handles, batchSize);
    let next: Promise<ScannedBatch> | null = read(from);
    for (;;) {
      const batch: ScannedBatch = await next;
      next = null;
      if (batch.events.length === 0 && batch.scannedTo <= from) break;
      const caughtUp = batch.events.length < batchSize;
      if (!caughtUp && db.kind === 'postgres') next = read(batch.scannedTo);
      await applyToShadows(db, targets, batch, livePath);
      from = batch.scannedTo;
      done += batch.events.length;
      total = Math.max(total, done);
      report();
      await options.afterBatch?.();
      if (caughtUp) break;
      next ??= read(from);
    }
    await next?.catch(() => undefined);

    for (const target of targets) await createDeferredIndexes(db.knex, target.shadow, target.projection.tables);
    await swap(db.knex, targets);
    // With no runner alive to apply what came after the shadow's checkpoint, apply it here.
    await catchUpLive(db, store, locks, targets, batchSize);
    total = done;
    return targets.map((target) => ({
      name: target.projection.name,
      eventsApplied: target.eventsApplied,
      position: target.position,
      replayedBy: 'this_process',
      resumedFrom: target.resumedFrom,
      durationMs: Date.now() - started,
    }));
  } catch (error) {
    if (!(error instanceof RebuildInProgressError)) await recordRebuildError(db.knex, projections, error);
    throw error;
  } finally {
    await locks.close();
  }
};

/** One projection (the CLI's and the API's unit). */
export const rebuildProjection = async (options: RebuildOptions): Promise<RebuildResult> => {
  const [result] = await rebuildProjections(options);
  if (!result) throw new RebuildFailedError('(none)', 'no projection given');
  return result;
};

const countBetween = async (store: EventStore, eventTypes: readonly string[], upTo: number): Promise<number> => {
  if (store.countAll) return store.countAll({ after: 0, upTo, filter: { eventTypes } });
  return (await countMatching(store, 0, eventTypes)).count - (await countMatching(store, upTo, eventTypes)).count;
};

/** Resumes a shadow left by a killed rebuild of the same version, or starts a new one. */
const prepareShadow = async (knex: Knex, projection: Projection, options: RebuildOptions): Promise<Target> => {
  const live = await readCheckpoint(knex, projection.name);
  if (live !== null && live.version > projection.version) {
    throw new RebuildFailedError(
      projection.name,
      `the read model was built by version ${live.version}, newer than this code's ${projection.version}; rebuild it with the newer version`,
    );
  }
  const liveSchema = await liveSchemaOf(knex, projection.tables);
  const shadow = shadowSchemaName(liveSchema, projection.name);
  const handles = new Set(projection.handles);
  const existing = (await readRebuilds(knex, [projection.name])).get(projection.name);
  if (
    existing !== undefined &&
    existing.version === projection.version &&
    existing.shadowSchema === shadow &&
    (await shadowTablesExist(knex, shadow, projection.tables))
  ) {
    await knex(REBUILDS_TABLE)
      .where({ name: projection.name })
      .update({ last_error: null, last_error_at: null, updated_at: knex.fn.now() });
    if (existing.position > 0) options.onResume?.(projection.name, existing.position, existing.eventsApplied);
    return {
      projection,
      handles,
      shadow,
      liveSchema,
      position: existing.position,
      eventsApplied: existing.eventsApplied,
      lastEventAt: null,
      resumedFrom: existing.position > 0 ? existing.position : null,
    };
  }
  await createShadowTables(knex, shadow, projection.tables);
  await knex(REBUILDS_TABLE)
    .insert({
      name: projection.name,
      version: projection.version,
      shadow_schema: shadow,
      position: 0,
      events_applied: 0,
      events_total: 0,
      requested_by: options.requestedBy ?? null,
      started_at: knex.fn.now(),
      updated_at: knex.fn.now(),
      last_error: null,
      last_error_at: null,
    })
    .onConflict('name')
    .merge();
  return {
    projection,
    handles,
    shadow,
    liveSchema,
    position: 0,
    eventsApplied: 0,
    lastEventAt: null,
    resumedFrom: null,
  };
};

/**
 * Each projection's share of the batch into its shadow tables, with its shadow checkpoint, in a
 * transaction of its own: on PostgreSQL the projections' transactions run at the same time on separate
 * connections (they touch disjoint tables and checkpoint rows), so the server writes one projection's
 * rows while this process folds the next one's. A projection whose transaction failed keeps its
 * checkpoint where it was; a resumed rebuild replays from each projection's own checkpoint.
 */
const applyToShadows = async (
  db: Database,
  targets: Target[],
  batch: ScannedBatch,
  livePath: string,
): Promise<void> => {
  const work: Array<[Target, RecordedEvent[]]> = [];
  const idle: Target[] = [];
  for (const target of targets) {
    if (batch.scannedTo <= target.position) continue;
    const events = batch.events.filter((event) => event.position > target.position && target.handles.has(event.type));
    if (events.length > 0) work.push([target, events]);
    else idle.push(target);
  }
  const jobs = [
    ...work.map(
      ([target, events]) =>
        () =>
          applyToShadow(db.knex, target, events, batch.scannedTo, livePath),
    ),
    ...(idle.length > 0 ? [() => moveIdle(db.knex, idle, batch.scannedTo)] : []),
  ];
  if (db.kind !== 'postgres') {
    for (const job of jobs) await job();
    return;
  }
  const results = await Promise.allSettled(jobs.map((job) => job()));
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
};

/** The projections with nothing in this batch: their shadow checkpoints move in one statement. */
const moveIdle = async (knex: Knex, targets: Target[], scannedTo: number): Promise<void> => {
  await knex(REBUILDS_TABLE)
    .whereIn(
      'name',
      targets.map((target) => target.projection.name),
    )
    .andWhere('position', '<', scannedTo)
    .update({ position: scannedTo, updated_at: knex.fn.now() });
  for (const target of targets) target.position = scannedTo;
};

const applyToShadow = async (
  knex: Knex,
  target: Target,
  events: RecordedEvent[],
  scannedTo: number,
  livePath: string,
): Promise<void> => {
  const applied = target.eventsApplied + events.length;
  const lastEventAt = events[events.length - 1]?.recordedAt ?? target.lastEventAt;
  await knex.transaction(async (trx) => {
    // A shadow batch lost in a server crash is replayed from the shadow checkpoint, which it carries:
    // no need to wait for the WAL flush (the live read model's batches keep the default). The shadow
    // schema goes first in the search path for this transaction (projection_rebuilds, which has no
    // shadow, still resolves to the live one).
    await trx.raw(`select set_config('synchronous_commit', 'off', true), set_config('search_path', ?, true)`, [
      shadowSearchPath(target.shadow, livePath),
    ]);
    markShadowTransaction(trx);
    await applyEvents(trx, target.projection, events);
    const updated = await trx(REBUILDS_TABLE)
      .where({ name: target.projection.name, position: target.position })
      .update({
        position: scannedTo,
        events_applied: applied,
        last_event_at: lastEventAt,
        updated_at: trx.fn.now(),
      });
    if (updated !== 1)
      throw new RebuildFailedError(target.projection.name, 'its shadow checkpoint was moved by someone else');
  });
  // in memory only once the transaction committed
  target.position = scannedTo;
  target.eventsApplied = applied;
  target.lastEventAt = lastEventAt;
};

/**
 * The swap, one transaction for all: the live checkpoints are locked (a runner's batch in flight
 * finishes first, the next one waits), each live table is replaced by its shadow, and each checkpoint
 * takes the shadow's position. A runner then sees its checkpoint moved and continues from there.
 */
const swap = async (knex: Knex, targets: Target[]): Promise<void> => {
  await knex.transaction(async (trx) => {
    for (const target of targets) {
      const { projection } = target;
      await trx(CHECKPOINTS_TABLE)
        .insert({ name: projection.name, position: 0, version: projection.version, events_applied: 0 })
        .onConflict('name')
        .ignore();
      await trx(CHECKPOINTS_TABLE).where({ name: projection.name }).forUpdate().first();
      await swapShadowTables(trx, target.shadow, target.liveSchema, projection.tables);
      await trx(CHECKPOINTS_TABLE).where({ name: projection.name }).update({
        position: target.position,
        version: projection.version,
        events_applied: target.eventsApplied,
        last_event_at: target.lastEventAt,
        last_error: null,
        last_error_at: null,
        updated_at: trx.fn.now(),
      });
      await trx(REBUILDS_TABLE).where({ name: projection.name }).delete();
    }
  });
};

/** Brings the new live tables to the head when no runner holds the projection (nobody else would). */
const catchUpLive = async (
  db: Database,
  store: EventStore,
  locks: ProjectionLocks,
  targets: Target[],
  batchSize: number,
): Promise<void> => {
  for (const target of targets) {
    const { projection } = target;
    if (!(await locks.tryAcquire(projection.name))) continue;
    try {
      let position = (await readCheckpoint(db.knex, projection.name))?.position ?? 0;
      for (;;) {
        const { events, scannedTo } = await scanAfter(store, position, projection.handles, batchSize);
        if (events.length === 0 && scannedTo <= position) break;
        try {
          position = await applyBatch(db.knex, projection, position, events, scannedTo);
          target.eventsApplied += events.length;
          target.position = position;
        } catch (error) {
          if (!(error instanceof CheckpointMovedError)) throw error;
          position = error.actual;
        }
        if (events.length < batchSize) break;
      }
    } finally {
      await locks.release(projection.name);
    }
  }
};

const recordRebuildError = async (knex: Knex, projections: readonly Projection[], error: unknown): Promise<void> => {
  const message = (error instanceof Error ? error.message : String(error)).slice(0, 4000);
  await knex(REBUILDS_TABLE)
    .whereIn(
      'name',
      projections.map((p) => p.name),
    )
    .update({ last_error: message, last_error_at: knex.fn.now(), updated_at: knex.fn.now() })
    .catch(() => undefined);
};
