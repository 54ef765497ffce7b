import { Router } from 'express';
import { z } from 'zod';
import type { Authenticator } from '#application/identity/sessions.js';
import type { AuditFilters, AuditLogReader } from '#projections/audit/auditLog.js';
import { AUDIT_OUTCOMES } from '#projections/audit/auditEntries.js';
import { requireAuth } from '../identity/authenticate.js';
import {
  CursorParam,
  LimitParam,
  cursorCodec,
  exportNdjson,
  refusePagingOnExport,
  timeRange,
  wantsNdjson,
} from '../shared/paging.js';
import { parseInput } from '../shared/validate.js';
import { rejectOddText } from '../shared/text.js';
import type { Clock } from '#application/shared/runtime.js';

const Text = z.string().min(1).max(256);
const Time = z.union([z.iso.datetime({ offset: true }), z.iso.date()]);
export const Query = z
  .object({
    actor: Text.optional(),
    action: z
      .string()
      // eslint-disable-next-line security/detect-unsafe-regex -- each repetition starts with a literal dot: linear
      .regex(/^[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?$/, 'an action like login.failed, or a prefix like login.*')
      .max(100)
      .optional(),
    target: Text.optional(),
    correlation_id: Text.optional(),
    outcome: z.enum(AUDIT_OUTCOMES as [string, ...string[]]).optional(),
    from: Time.optional(),
    to: Time.optional(),
    limit: LimitParam(500).optional(),
    cursor: CursorParam.optional(),
    order: z.enum(['asc', 'desc']).optional(),
    format: z.enum(['json', 'ndjson']).optional(),
  })
  .strict();

/** Opaque to clients: the seq of the last entry they saw. */
const cursors = cursorCodec({ tag: '', min: 1 });

const filtersOf = (query: z.infer<typeof Query>): AuditFilters => {
  const { from, to } = timeRange(query);
  return {
    actor: query.actor,
    action: query.action,
    target: query.target,
    correlationId: query.correlation_id,
    outcome: query.outcome as AuditFilters['outcome'],
    from,
    to,
  };
};

export type AuditRoutesOptions = {
  identity: Authenticator;
  /** read side: the audit_log read model (projections/audit/auditLog.ts: auditLogReader(knex)) */
  auditLog: AuditLogReader;
  /** names the export file */
  clock: Clock;
};

/**
 * GET /api/audit (admin): filter by actor, action (or `prefix.*`), target, outcome, correlation_id and
 * a [from, to) time range. JSON pages newest first with an opaque next_cursor, or, with format=ndjson
 * or Accept: application/x-ndjson, every matching entry oldest first as NDJSON (no pagination).
 */
export const auditRoutes = ({ identity, auditLog, clock }: AuditRoutesOptions): Router => {
  const router = Router();
  router.use('/api/audit', rejectOddText());

  router.get('/api/audit', requireAuth(identity, 'admin'), async (req, res) => {
    const query = parseInput(Query, req.query, 'query');
    const filters = filtersOf(query);
    const order = query.order;
    res.set('Cache-Control', 'no-store');
    if (wantsNdjson(req, query.format)) {
      refusePagingOnExport(query, 'entry');
      await exportNdjson(res, auditLog.stream(filters, { order: order ?? 'asc' }), { name: 'audit', now: clock() });
      return;
    }
    const page = await auditLog.page({
      ...filters,
      limit: query.limit ?? 100,
      afterSeq: query.cursor === undefined ? null : cursors.decode(query.cursor),
      order: order ?? 'desc',
    });
    res.json({ entries: page.entries, next_cursor: page.nextSeq === null ? null : cursors.encode(page.nextSeq) });
  });

  return router;
};
