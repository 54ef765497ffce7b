import { Router } from 'express';
import { z } from 'zod';
import type { Authenticator } from '#application/identity/sessions.js';
import { recordRebuildRequest } from '#application/operations/projections.js';
import { ConflictError, NotFoundError } from '#application/shared/errors.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Runtime } from '#application/shared/runtime.js';
import type { ProjectionStatus } from '#projections/shared/status.js';
import type { ProjectionAdmin } from '#projections/shared/rebuildService.js';
import { RebuildInProgressError } from '#projections/shared/rebuild.js';
import { UnknownProjectionError } from '#projections/shared/projection.js';
import { authOf, requireAuth } from '../identity/authenticate.js';
import { commandContext } from '../shared/context.js';
import { parseInput } from '../shared/validate.js';

/** Path parameter: a projection name as projections/shared/projection.ts allows them. */
export const ProjectionName = z.string().regex(/^[a-z][a-z0-9_.-]{0,99}$/i, 'a projection name like accounts');
/** The rebuild takes no options: an empty JSON object, or no body. */
export const RebuildBody = z.object({}).strict();

/** What GET /api/projections returns per projection. */
export const projectionView = (s: ProjectionStatus) => ({
  name: s.name,
  version: s.version,
  state: s.state,
  error: s.error,
  position: s.position,
  headPosition: s.headPosition,
  lagEvents: s.lagEvents,
  lagMs: s.lagMs,
  eventsApplied: s.eventsApplied,
  lastEventAt: s.lastEventAt,
  running: s.running,
  rebuild:
    s.rebuild === null
      ? null
      : {
          active: s.rebuild.active,
          done: s.rebuild.done,
          total: s.rebuild.total,
          percent: s.rebuild.total === 0 ? 100 : Math.floor((s.rebuild.done / s.rebuild.total) * 100),
          startedAt: s.rebuild.startedAt,
          updatedAt: s.rebuild.updatedAt,
          requestedBy: s.rebuild.requestedBy,
          lastError: s.rebuild.lastError,
        },
});

export type ProjectionRoutesOptions = {
  auth: Authenticator;
  admin: ProjectionAdmin;
  store: EventStore;
  runtime: Runtime;
};

/**
 * The read models, for admins: GET /api/projections (position, lag in events and ms, state) and
 * POST /api/projections/{name}/rebuild (a blue/green rebuild in the background; the request is an
 * event, ProjectionRebuildRequested, so the audit trail shows who asked).
 */
export const projectionRoutes = ({ auth, admin, store, runtime }: ProjectionRoutesOptions): Router => {
  const router = Router();
  const adminOnly = requireAuth(auth, 'admin');

  router.get('/api/projections', adminOnly, async (_req, res) => {
    res.json({ projections: (await admin.status()).map(projectionView) });
  });

  router.post('/api/projections/:name/rebuild', adminOnly, async (req, res) => {
    const name = parseInput(ProjectionName, req.params.name, 'projection name');
    parseInput(RebuildBody, req.body ?? {});
    try {
      await admin.checkCanRebuild(name);
    } catch (error) {
      if (error instanceof UnknownProjectionError)
        throw new NotFoundError(`There is no projection named ${name}.`, 'unknown_projection');
      if (error instanceof RebuildInProgressError)
        throw new ConflictError(`A rebuild of ${name} is already under way.`, 'rebuild_in_progress');
      throw error;
    }
    const principal = authOf(req);
    const eventId = await recordRebuildRequest({ store, runtime }, name, commandContext(req, principal.accountId));
    admin.startRebuild(name, principal.accountId);
    res.status(202).json({ projection: name, state: 'rebuilding', eventId });
  });

  return router;
};
