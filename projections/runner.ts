import type { EventStore, Subscription } from '#application/shared/eventStore.js';
import type { Database } from '#infrastructure/sql/database.js';
import { applyBatch, prepareCheckpoint, readCheckpoint, recordError, scanAfter } from './shared/checkpoints.js';
import { lockHolder, lockNamespace, openProjectionLocks, type ProjectionLocks } from './shared/locks.js';
import {
  CheckpointMovedError,
  consoleProjectionLogger,
  ProjectionVersionAheadError,
  validateProjections,
  type Projection,
  type ProjectionLogger,
} from './shared/projection.js';
import { backoffMs, Signal } from '#infrastructure/shared/signal.js';

export type { Projection, ProjectionLogger } from './shared/projection.js';
export {
  CheckpointMovedError,
  ProjectionApplyError,
  ProjectionVersionAheadError,
  UnknownProjectionError,
  InvalidProjectionError,
  findProjection,
} from './shared/projection.js';
export { projectionStatus, type ProjectionStatus } from './shared/status.js';
export {
  rebuildProjection,
  rebuildProjections,
  RebuildFailedError,
  RebuildInProgressError,
  type RebuildOptions,
  type RebuildResult,
} from './shared/rebuild.js';
export { CHECKPOINTS_TABLE } from './shared/checkpoints.js';

export type ProjectionRunnerOptions = {
  db: Database;
  store: EventStore;
  projections: readonly Projection[];
  logger?: ProjectionLogger;
  /** most events applied in one transaction (default 1,000: a projection's batch path writes them with a few statements) */
  batchSize?: number;
  /** how often a process waiting for another one's lock tries again (default 3 s) */
  lockRetryMs?: number;
  /** fallback poll when no wake-up arrives (default 1 s); wake-ups come from the store's subscription */
  pollIntervalMs?: number;
  /** ceiling of the retry backoff after a failed batch (default 30 s) */
  maxBackoffMs?: number;
};

export type ProjectionRunState = 'waiting_for_lock' | 'starting' | 'catching_up' | 'live' | 'failing' | 'stopped';

/** This process's view of one projection (the cluster-wide view is projectionStatus). */
export type ProjectionRunStatus = {
  name: string;
  state: ProjectionRunState;
  /** checkpoint as this runner last saw it (null before it held the lock) */
  position: number | null;
  /** by this runner since it started */
  eventsApplied: number;
  batchesApplied: number;
  /** batches rolled back because someone else moved the checkpoint */
  batchesAborted: number;
  /** consecutive failed batches (0 when healthy) */
  failures: number;
  lastError: string | null;
};

export type ProjectionRunner = {
  status(): ProjectionRunStatus[];
  /** finishes the batches in flight, releases the locks; idempotent */
  stop(): Promise<void>;
};

/**
 * Runs every projection: per projection, wait for its cluster-wide lock, then apply batches of matching
 * events, each in one transaction with its compare-and-set checkpoint, waking up on new events.
 * Failures are retried with backoff (the failing event is never skipped) and recorded in the checkpoint.
 */
export const startProjections = (options: ProjectionRunnerOptions): ProjectionRunner => {
  const { db, store, projections } = options;
  validateProjections(projections);
  const logger = options.logger ?? consoleProjectionLogger;
  const batchSize = options.batchSize ?? 1_000;
  const lockRetryMs = options.lockRetryMs ?? 3_000;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;

  // One wake-up per projection, fired by the events it handles: an event wakes only the projections that
  // fold it (the others move their checkpoint past it on their next wake-up or poll), so each message
  // does not cost every projection a scan and a checkpoint write.
  const wakes = new Map(projections.map((p) => [p.name, new Signal()]));
  const wakesByType = new Map<string, Signal[]>();
  for (const p of projections)
    for (const type of p.handles) wakesByType.set(type, [...(wakesByType.get(type) ?? []), wakes.get(p.name)!]);
  const wake = { fire: () => wakes.forEach((signal) => signal.fire()) };
  const stopping = new Signal();
  let stopped = false;
  const sleep = (ms: number) => stopping.wait(stopping.generation, ms);
  const statuses = new Map<string, ProjectionRunStatus>(
    projections.map((p) => [
      p.name,
      {
        name: p.name,
        state: 'waiting_for_lock',
        position: null,
        eventsApplied: 0,
        batchesApplied: 0,
        batchesAborted: 0,
        failures: 0,
        lastError: null,
      },
    ]),
  );

  let locks: ProjectionLocks | null = null;
  let namespace: number | null = null;
  const setUp = async (): Promise<ProjectionLocks | null> => {
    for (let attempt = 1; !stopped; attempt++) {
      try {
        namespace = await lockNamespace(db.knex, 'projections');
        return await openProjectionLocks(db, { onLost: () => wake.fire() });
      } catch (error) {
        logger.error('projections: cannot reach the database; retrying', { error: messageOf(error), attempt });
        await sleep(backoffMs(attempt, maxBackoffMs));
      }
    }
    return null;
  };

  /** Returns why it stopped applying: the runner stops, the lock connection died, or a newer version owns the projection. */
  const runWhileHeld = async (
    projection: Projection,
    status: ProjectionRunStatus,
    held: ProjectionLocks,
  ): Promise<'stopped' | 'lost' | 'stepped_aside'> => {
    const signal = wakes.get(projection.name)!;
    let position: number | null = null;
    while (!stopped && held.isHeld(projection.name)) {
      try {
        if (position === null) {
          status.state = 'starting';
          const prepared = await prepareCheckpoint(db.knex, projection);
          if (prepared.reset === 'version_changed') {
            logger.warn('projection version changed: rebuilding from the first event', {
              projection: projection.name,
              from: prepared.storedVersion,
              to: projection.version,
            });
          }
          position = prepared.position;
          status.position = position;
        }
        const since = signal.generation;
        const { events, scannedTo } = await scanAfter(store, position, projection.handles, batchSize);
        if (events.length === 0) {
          if (scannedTo > position) {
            // Nothing of ours up to there: record how far we looked, so the next wake-up starts there.
            position = await applyBatch(db.knex, projection, position, [], scannedTo);
            status.position = position;
          } else {
            // Nothing to apply, so no compare-and-set will tell us: notice a rebuild's reset (or a deleted row) here.
            const stored = (await readCheckpoint(db.knex, projection.name))?.position ?? null;
            if (stored !== position) {
              logger.warn('projection checkpoint moved by someone else (a rebuild?); continuing from it', {
                projection: projection.name,
                expected: position,
                actual: stored,
              });
              position = stored;
              status.position = stored;
              continue;
            }
          }
          status.state = 'live';
          status.failures = 0;
          await signal.wait(since, pollIntervalMs);
          continue;
        }
        status.state = status.failures > 0 ? 'failing' : 'catching_up';
        position = await applyBatch(db.knex, projection, position, events, scannedTo);
        status.position = position;
        status.eventsApplied += events.length;
        status.batchesApplied += 1;
        status.failures = 0;
      } catch (error) {
        if (error instanceof ProjectionVersionAheadError) {
          // Hand the lock to the newer deployment; look again later in case it is gone for good.
          status.state = 'waiting_for_lock';
          status.lastError = error.message;
          logger.warn(error.message, {
            projection: projection.name,
            stored: error.stored,
            version: projection.version,
          });
          await held.release(projection.name);
          await sleep(lockRetryMs);
          return 'stepped_aside';
        }
        if (error instanceof CheckpointMovedError) {
          status.batchesAborted += 1;
          logger.warn('projection checkpoint moved by someone else: batch rolled back, re-reading', {
            projection: projection.name,
            expected: error.expected,
            actual: error.actual,
          });
          position = error.actual < 0 ? null : error.actual;
          status.position = position;
          continue;
        }
        status.failures += 1;
        status.state = 'failing';
        status.lastError = messageOf(error);
        logger.error('projection batch failed and was rolled back; retrying', {
          projection: projection.name,
          error: status.lastError,
          attempt: status.failures,
        });
        await recordError(db.knex, projection.name, error).catch(() => undefined);
        await sleep(backoffMs(status.failures, maxBackoffMs));
      }
    }
    return stopped ? 'stopped' : 'lost';
  };

  const run = async (projection: Projection, held: ProjectionLocks): Promise<void> => {
    const status = statuses.get(projection.name)!;
    let announcedWait = false;
    while (!stopped) {
      let acquired = false;
      try {
        acquired = await held.tryAcquire(projection.name);
      } catch (error) {
        logger.warn('projection lock connection failed; retrying', {
          projection: projection.name,
          error: messageOf(error),
        });
      }
      if (!acquired) {
        status.state = 'waiting_for_lock';
        if (!announcedWait) {
          announcedWait = true;
          const holderPid =
            namespace === null ? null : await lockHolder(db, namespace, projection.name).catch(() => null);
          logger.info('projection waiting for its lock: another process runs it', {
            projection: projection.name,
            holderPid,
          });
        }
        await sleep(lockRetryMs);
        continue;
      }
      announcedWait = false;
      logger.info('projection lock acquired', { projection: projection.name });
      if ((await runWhileHeld(projection, status, held)) === 'lost') {
        logger.warn('projection lost its lock (database connection gone); re-acquiring', {
          projection: projection.name,
        });
      }
    }
    await held.release(projection.name).catch(() => undefined);
    status.state = 'stopped';
  };

  let subscription: Subscription | null = null;
  let resubscribeTimer: NodeJS.Timeout | null = null;
  const handled = [...new Set(projections.flatMap((p) => p.handles))];
  const subscribe = (after: number) => {
    if (stopped) return;
    let seen = after;
    subscription = store.subscribeToAll({
      after,
      filter: { eventTypes: handled },
      onEvent: (event) => {
        seen = event.position;
        for (const signal of wakesByType.get(event.type) ?? []) signal.fire();
      },
      onError: (error) => {
        logger.warn('projections: wake-up subscription failed; polling until it is back', { error: error.message });
        resubscribeTimer = setTimeout(() => subscribe(seen), 1_000);
      },
    });
  };
  const startWakeups = async () => {
    for (let attempt = 1; !stopped; attempt++) {
      try {
        subscribe(await store.headPosition());
        return;
      } catch (_error) {
        await sleep(backoffMs(attempt, maxBackoffMs));
      }
    }
  };

  const running = (async () => {
    if (projections.length === 0) return;
    const wakeups = startWakeups();
    locks = await setUp();
    const held = locks;
    await Promise.all([wakeups, ...(held ? projections.map((projection) => run(projection, held)) : [])]);
  })();

  let stopping$: Promise<void> | null = null;
  return {
    status: () => [...statuses.values()].map((status) => ({ ...status })),
    stop: () =>
      (stopping$ ??= (async () => {
        stopped = true;
        stopping.fire();
        wake.fire();
        if (resubscribeTimer) clearTimeout(resubscribeTimer);
        await running;
        await subscription?.stop();
        await locks?.close();
        for (const status of statuses.values()) status.state = 'stopped';
      })()),
  };
};

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
