import { Router, type Request } from 'express';
import type { Knex } from 'knex';
import { z } from 'zod';
import type { Authenticator } from '#application/identity/sessions.js';
import { cancelScheduledMessage, scheduleMessage, type SchedulingDeps } from '#application/scheduling/scheduled.js';
import { NotFoundError } from '#application/shared/errors.js';
import {
  findScheduledMessage,
  listScheduledMessages,
  SCHEDULE_STATES,
} from '#projections/scheduling/scheduledMessages.js';
import { commandContext } from '../shared/context.js';
import { parseInput } from '../shared/validate.js';
import { authOf, requireAuth } from '../identity/authenticate.js';
import { IdempotencyKey, NumberId, Template, Text } from '../messaging/messagingRoutes.js';

/** ISO-8601 with a zone (Z or ±hh:mm): a time without one would be read in the server's zone. */
const At = z.iso.datetime({
  offset: true,
  message: 'is an ISO-8601 date and time with a zone, e.g. 2026-12-01T09:30:00Z',
});
const To = z.string().max(64);
export const ScheduleBody = z.union([
  z.object({ to: To, text: Text, at: At, number: NumberId.optional() }).strict(),
  z.object({ to: To, template: Template, at: At, number: NumberId.optional() }).strict(),
]);
export const ScheduleListQuery = z
  .object({
    state: z.enum(SCHEDULE_STATES).optional(),
    cursor: z
      .string()
      .regex(/^\d{1,18}$/, 'is a cursor from a previous page')
      .optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();
export const ScheduleId = z.uuid('is a scheduled message id');

export type ScheduledRoutesOptions = {
  auth: Authenticator;
  knex: Knex;
  scheduling: SchedulingDeps;
};

/**
 * Scheduled messages: create (staff, like a manual send), list, cancel. Every write is an event on
 * `schedule-<id>` (audited); the list reads the scheduled-messages read model. The scheduler process fires them.
 */
export const scheduledRoutes = (options: ScheduledRoutesOptions): Router => {
  const { auth, knex } = options;
  const router = Router();
  const anyRole = requireAuth(auth);
  const staff = requireAuth(auth, 'admin', 'operator');
  const context = (req: Request) => commandContext(req, authOf(req).accountId);

  router.post('/api/scheduled-messages', staff, async (req, res) => {
    const body = parseInput(ScheduleBody, req.body);
    const key = req.get('idempotency-key');
    const idempotencyKey = key === undefined ? null : parseInput(IdempotencyKey, key, 'Idempotency-Key header');
    const result = await scheduleMessage(
      options.scheduling,
      {
        to: body.to,
        text: 'text' in body ? body.text : null,
        template: 'template' in body ? body.template : null,
        at: body.at,
        numberId: body.number ?? null,
        idempotencyKey,
      },
      context(req),
    );
    res.status(result.duplicate ? 200 : 201).json({
      id: result.scheduleId,
      number: result.numberId,
      chatId: result.chatId,
      at: result.at,
      state: 'pending',
      duplicate: result.duplicate,
    });
  });

  router.get('/api/scheduled-messages', anyRole, async (req, res) => {
    const query = parseInput(ScheduleListQuery, req.query, 'query');
    res.json(
      await listScheduledMessages(knex, {
        state: query.state,
        before: query.cursor === undefined ? undefined : Number(query.cursor),
        limit: query.limit,
      }),
    );
  });

  router.get('/api/scheduled-messages/:id', anyRole, async (req, res) => {
    const id = parseInput(ScheduleId, req.params.id, 'scheduled message id');
    const row = await findScheduledMessage(knex, id);
    if (!row) throw new NotFoundError(`There is no scheduled message with id ${id}.`, 'scheduled_message_not_found');
    res.json(row);
  });

  router.delete('/api/scheduled-messages/:id', staff, async (req, res) => {
    const id = parseInput(ScheduleId, req.params.id, 'scheduled message id');
    const { changed } = await cancelScheduledMessage(options.scheduling, id, context(req));
    res.json({ id, state: 'cancelled', changed });
  });

  return router;
};
