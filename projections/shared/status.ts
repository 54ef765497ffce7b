import type { EventStore, RecordedEvent } from '#application/shared/eventStore.js';
import type { Database } from '#infrastructure/sql/database.js';
import { readCheckpoints } from './checkpoints.js';
import { lockHolder, lockNamespace } from './locks.js';
import type { Projection } from './projection.js';
import { readRebuilds, rebuildLockName } from './rebuild.js';

/** live: applying as events come (lag says how far behind); rebuilding: a blue/green rebuild is under way or
 *  was interrupted (see `rebuild`); failed: its last batch (or its rebuild) failed and nothing succeeded since. */
export type ProjectionState = 'live' | 'rebuilding' | 'failed';

export type RebuildStatus = {
  /** a process is rebuilding it now (false: interrupted; `chatbot projections rebuild` resumes it) */
  active: boolean;
  /** events in the shadow tables */
  done: number;
  /** done + matching events after the shadow's checkpoint */
  total: number;
  /** shadow checkpoint */
  position: number;
  startedAt: string;
  updatedAt: string;
  requestedBy: string | null;
  lastError: string | null;
  holderPid: number | null;
};

/** The cluster-wide state of one projection: what /metrics, the dashboard and `chatbot projections status` show. */
export type ProjectionStatus = {
  name: string;
  /** version in this code */
  version: number;
  /** version the read model was built with (null: never started) */
  storedVersion: number | null;
  /** global position scanned up to: every matching event at or below it is applied */
  position: number;
  /** newest event in the store, any type */
  headPosition: number;
  /** matching events after the checkpoint (no cap unless `lagEventsCap` is given) */
  lagEvents: number;
  /** true when there are more than lagEvents */
  lagEventsCapped: boolean;
  /** now - recordedAt of the oldest unapplied matching event; 0 when caught up */
  lagMs: number;
  eventsApplied: number;
  lastEventAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  /** some process holds the projection's lock */
  running: boolean;
  /** PostgreSQL backend pid of the holder's lock session (this process's pid on PGlite) */
  holderPid: number | null;
  state: ProjectionState;
  /** the error of a failed state (the runner's, or the rebuild's) */
  error: string | null;
  rebuild: RebuildStatus | null;
};

/** Matching events after `after`, counted page by page, up to `cap`. */
export const countMatching = async (
  store: EventStore,
  after: number,
  eventTypes: readonly string[],
  cap = Number.POSITIVE_INFINITY,
): Promise<{ count: number; capped: boolean; oldest: RecordedEvent | null }> => {
  if (store.countAll && cap === Number.POSITIVE_INFINITY) {
    // counted by the store: no cap, and no page of events read to count them
    const [count, first] = await Promise.all([
      store.countAll({ after, filter: { eventTypes } }),
      store.readAll({ after, maxCount: 1, filter: { eventTypes } }),
    ]);
    return { count, capped: false, oldest: first[0] ?? null };
  }
  const page = 1_000;
  let count = 0;
  let cursor = after;
  let oldest: RecordedEvent | null = null;
  for (;;) {
    const wanted = Math.min(page, cap - count);
    if (wanted <= 0) {
      const more = await store.readAll({ after: cursor, maxCount: 1, filter: { eventTypes } });
      return { count, capped: more.length > 0, oldest };
    }
    const events = await store.readAll({ after: cursor, maxCount: wanted, filter: { eventTypes } });
    oldest ??= events[0] ?? null;
    count += events.length;
    const last = events[events.length - 1];
    if (events.length < wanted || last === undefined) return { count, capped: false, oldest };
    cursor = last.position;
  }
};

export const projectionStatus = async (
  db: Database,
  store: EventStore,
  projections: readonly Projection[],
  options: { lagEventsCap?: number; now?: () => Date } = {},
): Promise<ProjectionStatus[]> => {
  const cap = options.lagEventsCap ?? Number.POSITIVE_INFINITY;
  const now = (options.now ?? (() => new Date()))().getTime();
  const names = projections.map((p) => p.name);
  const [checkpoints, headPosition, namespace, rebuilds] = await Promise.all([
    readCheckpoints(db.knex, names),
    store.headPosition(),
    lockNamespace(db.knex, 'projections'),
    readRebuilds(db.knex, names).catch(() => new Map<string, never>()),
  ]);
  return Promise.all(
    projections.map(async (projection): Promise<ProjectionStatus> => {
      const checkpoint = checkpoints.get(projection.name);
      const position = checkpoint?.position ?? 0;
      const rebuilding = rebuilds.get(projection.name);
      const [lag, holderPid, rebuildPid, shadowLag] = await Promise.all([
        countMatching(store, position, projection.handles, cap),
        lockHolder(db, namespace, projection.name),
        rebuilding ? lockHolder(db, namespace, rebuildLockName(projection.name)) : Promise.resolve(null),
        rebuilding ? countMatching(store, rebuilding.position, projection.handles, cap) : Promise.resolve(null),
      ]);
      const rebuild: RebuildStatus | null = rebuilding
        ? {
            active: rebuildPid !== null,
            done: rebuilding.eventsApplied,
            total: rebuilding.eventsApplied + (shadowLag?.count ?? 0),
            position: rebuilding.position,
            startedAt: rebuilding.startedAt,
            updatedAt: rebuilding.updatedAt,
            requestedBy: rebuilding.requestedBy,
            lastError: rebuilding.lastError,
            holderPid: rebuildPid,
          }
        : null;
      const runnerFailed =
        checkpoint?.lastError != null &&
        checkpoint.lastErrorAt !== null &&
        (checkpoint.updatedAt === null || Date.parse(checkpoint.lastErrorAt) >= Date.parse(checkpoint.updatedAt));
      const rebuildFailed = rebuild !== null && !rebuild.active && rebuild.lastError !== null;
      const state: ProjectionState = runnerFailed || rebuildFailed ? 'failed' : rebuild ? 'rebuilding' : 'live';
      return {
        state,
        error: runnerFailed ? checkpoint.lastError : rebuildFailed ? rebuild.lastError : null,
        rebuild,
        name: projection.name,
        version: projection.version,
        storedVersion: checkpoint?.version ?? null,
        position,
        headPosition,
        lagEvents: lag.count,
        lagEventsCapped: lag.capped,
        lagMs: lag.oldest === null ? 0 : Math.max(0, now - Date.parse(lag.oldest.recordedAt)),
        eventsApplied: checkpoint?.eventsApplied ?? 0,
        lastEventAt: checkpoint?.lastEventAt ?? null,
        lastError: checkpoint?.lastError ?? null,
        lastErrorAt: checkpoint?.lastErrorAt ?? null,
        running: holderPid !== null,
        holderPid,
      };
    }),
  );
};
