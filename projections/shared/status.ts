import type { EventStore, RecordedEvent } from '#application/shared/eventStore.js';
import type { Database } from '#infrastructure/sql/database.js';
import { readCheckpoints } from './checkpoints.js';
import { lockHolder, lockNamespace } from './locks.js';
import type { Projection } from './projection.js';

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
  /** matching events after the checkpoint, counted up to `lagEventsCap` */
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
  const cap = options.lagEventsCap ?? 1_000;
  const now = (options.now ?? (() => new Date()))().getTime();
  const [checkpoints, headPosition, namespace] = await Promise.all([
    readCheckpoints(
      db.knex,
      projections.map((p) => p.name),
    ),
    store.headPosition(),
    lockNamespace(db.knex, 'projections'),
  ]);
  return Promise.all(
    projections.map(async (projection): Promise<ProjectionStatus> => {
      const checkpoint = checkpoints.get(projection.name);
      const position = checkpoint?.position ?? 0;
      const [lag, holderPid] = await Promise.all([
        countMatching(store, position, projection.handles, cap),
        lockHolder(db, namespace, projection.name),
      ]);
      return {
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
