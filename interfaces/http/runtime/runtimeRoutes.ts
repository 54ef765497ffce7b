import { Router } from 'express';
import type { Knex } from 'knex';
import { z } from 'zod';
import type { Authenticator } from '#application/identity/sessions.js';
import { requestRuntime, requestRuntimeForAll, type RuntimeControlDeps } from '#application/runtime/control.js';
import type { ProcessHeartbeats } from '#application/runtime/processMonitor.js';
import { NotFoundError } from '#application/shared/errors.js';
import type { Runtime } from '#application/shared/runtime.js';
import { RUNTIME_ACTIONS } from '#domain/runtime/events.js';
import { listNumbers } from '#projections/messaging/numbers.js';
import { runtimeRequest } from '#projections/runtime/numberRuntime.js';
import { commandContext } from '../shared/context.js';
import { parseInput } from '../shared/validate.js';
import { authOf, requireAuth } from '../identity/authenticate.js';
import { processList } from './processes.js';

const NumberId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'is a number id');
const RequestId = z.uuid('is a request id');
export const ALL_NUMBERS_ACTIONS = ['start', 'stop', 'restart'] as const;

export type RuntimeRoutesOptions = {
  auth: Authenticator;
  knex: Knex;
  runtime: Runtime;
  control: RuntimeControlDeps;
  heartbeats: ProcessHeartbeats;
  /** an instance silent for longer shows as not reporting (the monitor then records it crashed) */
  crashAfterMs: number;
};

/**
 * Runtime control (admin only, audited as runtime.*): a request is an event, the worker holding the
 * number obeys it and records the outcome; the API answers 202 with the request id at once. The
 * processes list reads the heartbeat table.
 */
export const runtimeRoutes = (options: RuntimeRoutesOptions): Router => {
  const { auth, knex, control } = options;
  const router = Router();
  const admin = requireAuth(auth, 'admin');

  for (const action of RUNTIME_ACTIONS)
    router.post(`/api/numbers/:id/runtime/${action}`, admin, async (req, res) => {
      const numberId = parseInput(NumberId, req.params.id, 'number id');
      const { requestId } = await requestRuntime(
        control,
        { numberId, action },
        commandContext(req, authOf(req).accountId),
      );
      res.status(202).json({ requestId, numberId, action, status: 'pending' });
    });

  for (const action of ALL_NUMBERS_ACTIONS)
    router.post(`/api/admin/runtime/${action}`, admin, async (req, res) => {
      const active = (await listNumbers(knex)).filter((n) => n.status === 'active').map((n) => n.numberId);
      const { requestId, numbers } = await requestRuntimeForAll(
        control,
        active,
        action,
        commandContext(req, authOf(req).accountId),
      );
      res.status(202).json({ requestId, action, numbers, status: 'pending' });
    });

  router.get('/api/admin/runtime/requests/:requestId', admin, async (req, res) => {
    const requestId = parseInput(RequestId, req.params.requestId, 'request id');
    const requests = await runtimeRequest(knex, requestId);
    if (requests.length === 0)
      throw new NotFoundError(
        `There is no runtime request ${requestId} (yet: the read model follows the events within a second).`,
        'runtime_request_not_found',
      );
    res.json({ requestId, requests });
  });

  router.get('/api/admin/processes', admin, async (_req, res) => {
    res.json({
      processes: await processList(options.heartbeats, options.runtime.clock(), options.crashAfterMs),
    });
  });

  return router;
};
