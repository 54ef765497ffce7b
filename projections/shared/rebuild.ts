import type { EventStore } from '#application/shared/eventStore.js';
import type { Database } from '#infrastructure/sql/database.js';
import { applyBatch, readCheckpoint, recordError, resetProjection, scanAfter } from './checkpoints.js';
import { lockHolder, lockNamespace, openProjectionLocks } from './locks.js';
import { CheckpointMovedError, validateProjections, type Projection } from './projection.js';
import { countMatching } from './status.js';

export type RebuildOptions = {
  db: Database;
  store: EventStore;
  projection: Projection;
  /** events replayed so far, of the matching events the store held when the rebuild began */
  onProgress?: (done: number, total: number) => void;
  /** a running process holds the projection's lock: it replays, this call follows its progress */
  onHandOff?: (holderPid: number | null) => void;
  batchSize?: number;
  /** how often progress is read while another process replays (default 250 ms) */
  pollMs?: number;
  /** how often the lock is tried again while another process replays (default 3 s) */
  lockRetryMs?: number;
};

export type RebuildResult = {
  name: string;
  eventsApplied: number;
  position: number;
  replayedBy: 'this_process' | 'running_process';
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Empties the projection's tables, rewinds its checkpoint to 0 and replays every matching event.
 * The reset is one transaction under the checkpoint's row lock, so it is safe while the application
 * runs: a runner holding the projection's lock sees its checkpoint moved, drops its batch and replays
 * from 0 itself, and this call follows that progress (taking over if the holder goes away). With no
 * runner alive, this call takes the lock and replays.
 */
export const rebuildProjection = async (options: RebuildOptions): Promise<RebuildResult> => {
  const { db, store, projection } = options;
  validateProjections([projection]);
  const started = Date.now();
  const total = (await countMatching(store, 0, projection.handles)).count;
  // Events appended during the rebuild are replayed too: the total grows with them.
  const progress = (done: number) => options.onProgress?.(done, Math.max(done, total));
  const locks = await openProjectionLocks(db);
  try {
    let acquired = await locks.tryAcquire(projection.name);
    const before = await readCheckpoint(db.knex, projection.name);
    if (before !== null && before.version > projection.version) {
      throw new RebuildFailedError(
        projection.name,
        `the read model was built by version ${before.version}, newer than this code's ${projection.version}; rebuild it with the newer version`,
      );
    }
    const errorBefore = before?.lastErrorAt ?? null;
    await resetProjection(db.knex, projection);
    progress(0);
    if (!acquired)
      options.onHandOff?.(await lockHolder(db, await lockNamespace(db.knex, 'projections'), projection.name));
    const replayedBy = acquired ? 'this_process' : 'running_process';
    let lastTry = Date.now();
    for (;;) {
      if (acquired) {
        const { position, eventsApplied } = await replay(options, progress);
        return { name: projection.name, position, eventsApplied, replayedBy, durationMs: Date.now() - started };
      }
      const checkpoint = await readCheckpoint(db.knex, projection.name);
      if (checkpoint === null)
        throw new RebuildFailedError(projection.name, 'its checkpoint disappeared during the rebuild');
      progress(checkpoint.eventsApplied);
      if (checkpoint.lastErrorAt !== errorBefore && checkpoint.lastError !== null) {
        throw new RebuildFailedError(
          projection.name,
          `the process running it reports: ${checkpoint.lastError} (it keeps retrying; see \`chatbot projections status\`)`,
        );
      }
      const remaining = await store.readAll({
        after: checkpoint.position,
        maxCount: 1,
        filter: { eventTypes: projection.handles },
      });
      if (remaining.length === 0) {
        return {
          name: projection.name,
          position: checkpoint.position,
          eventsApplied: checkpoint.eventsApplied,
          replayedBy,
          durationMs: Date.now() - started,
        };
      }
      if (Date.now() - lastTry >= (options.lockRetryMs ?? 3_000)) {
        lastTry = Date.now();
        acquired = await locks.tryAcquire(projection.name);
      }
      if (!acquired) await sleep(options.pollMs ?? 250);
    }
  } finally {
    await locks.close();
  }
};

/** Replays from the stored checkpoint to the head, batch by batch, with the runner's compare-and-set. */
const replay = async (
  options: RebuildOptions,
  progress: (done: number) => void,
): Promise<{ position: number; eventsApplied: number }> => {
  const { db, store, projection } = options;
  const load = async () => {
    const checkpoint = await readCheckpoint(db.knex, projection.name);
    if (checkpoint === null)
      throw new RebuildFailedError(projection.name, 'its checkpoint disappeared during the rebuild');
    return checkpoint;
  };
  let { position, eventsApplied } = await load();
  for (;;) {
    const { events, scannedTo } = await scanAfter(store, position, projection.handles, options.batchSize ?? 500);
    if (events.length === 0 && scannedTo <= position) return { position, eventsApplied };
    try {
      position = await applyBatch(db.knex, projection, position, events, scannedTo);
      eventsApplied += events.length;
      progress(eventsApplied);
    } catch (error) {
      if (!(error instanceof CheckpointMovedError)) {
        await recordError(db.knex, projection.name, error).catch(() => undefined);
        throw error;
      }
      ({ position, eventsApplied } = await load());
    }
  }
};
