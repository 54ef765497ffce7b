import type { EventStore } from '#application/shared/eventStore.js';
import type { Database } from '#infrastructure/sql/database.js';
import { consoleProjectionLogger, findProjection, type Projection, type ProjectionLogger } from './projection.js';
import { rebuildProjections, RebuildInProgressError } from './rebuild.js';
import { projectionStatus, type ProjectionStatus } from './status.js';

/** What the admin API drives: the projections' status, and blue/green rebuilds run in this process's background. */
export type ProjectionAdmin = {
  names(): string[];
  status(): Promise<ProjectionStatus[]>;
  /**
   * Throws UnknownProjectionError, or RebuildInProgressError when a rebuild of it runs (here or in
   * another process); otherwise starts the rebuild in the background and returns at once.
   */
  checkCanRebuild(name: string): Promise<void>;
  startRebuild(name: string, requestedBy: string): void;
  /** waits for this process's rebuilds (at shutdown: they resume from their shadow checkpoint next time) */
  stop(): Promise<void>;
};

export const createProjectionAdmin = (options: {
  db: Database;
  store: EventStore;
  projections: readonly Projection[];
  logger?: ProjectionLogger;
  batchSize?: number;
}): ProjectionAdmin => {
  const { db, store, projections } = options;
  const logger = options.logger ?? consoleProjectionLogger;
  const running = new Map<string, Promise<void>>();
  return {
    names: () => projections.map((p) => p.name),
    status: () => projectionStatus(db, store, projections),
    async checkCanRebuild(name) {
      const projection = findProjection(projections, name);
      if (running.has(projection.name)) throw new RebuildInProgressError(projection.name);
      const [status] = await projectionStatus(db, store, [projection]);
      if (status?.rebuild?.active) throw new RebuildInProgressError(projection.name);
    },
    startRebuild(name, requestedBy) {
      const projection = findProjection(projections, name);
      if (running.has(projection.name)) throw new RebuildInProgressError(projection.name);
      logger.info('projection rebuild started', { projection: projection.name, requestedBy });
      const work = rebuildProjections({
        db,
        store,
        projections: [projection],
        requestedBy,
        batchSize: options.batchSize,
      })
        .then(([result]) =>
          logger.info('projection rebuild swapped in', {
            projection: projection.name,
            eventsApplied: result?.eventsApplied,
            durationMs: result?.durationMs,
          }),
        )
        .catch((error: unknown) =>
          logger.error('projection rebuild failed (run it again to resume)', {
            projection: projection.name,
            error: error instanceof Error ? error.message : String(error),
          }),
        )
        .finally(() => running.delete(projection.name));
      running.set(projection.name, work);
    },
    async stop() {
      await Promise.all(running.values());
    },
  };
};
