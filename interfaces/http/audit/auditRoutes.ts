import { once } from 'node:events';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Authenticator } from '#application/identity/sessions.js';
import { ValidationError } from '#application/shared/errors.js';
import type { AuditEntry, AuditFilters, AuditLogReader } from '#projections/audit/auditLog.js';
import { AUDIT_OUTCOMES } from '#projections/audit/auditEntries.js';
import { requireAuth } from '../identity/authenticate.js';
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
    limit: z
      .string()
      .regex(/^\d{1,3}$/, 'a whole number from 1 to 500')
      .transform(Number)
      .pipe(z.number().int().min(1, 'at least 1').max(500, 'at most 500'))
      .optional(),
    cursor: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,32}$/, 'the next_cursor of a previous page')
      .optional(),
    order: z.enum(['asc', 'desc']).optional(),
    format: z.enum(['json', 'ndjson']).optional(),
  })
  .strict();

/** Opaque to clients: the seq of the last entry they saw. */
export const encodeCursor = (seq: number): string => Buffer.from(String(seq), 'utf8').toString('base64url');
export const decodeCursor = (cursor: string): number => {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const seq = /^\d{1,15}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(seq) || seq < 1)
    throw new ValidationError(
      'The cursor is not one this API gave out: pass next_cursor unchanged.',
      undefined,
      'invalid_cursor',
    );
  return seq;
};

const NDJSON = 'application/x-ndjson';

const wantsNdjson = (req: Request, format: 'json' | 'ndjson' | undefined): boolean =>
  format === undefined ? req.accepts(['application/json', NDJSON]) === NDJSON : format === 'ndjson';

const filtersOf = (query: z.infer<typeof Query>): AuditFilters => {
  const from = query.from === undefined ? undefined : new Date(query.from);
  const to = query.to === undefined ? undefined : new Date(query.to);
  if (from && to && from.getTime() > to.getTime())
    throw new ValidationError('The query is invalid: from must not be after to.', {
      issues: [{ path: 'from', problem: 'after to' }],
    });
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

/** Streams every matching entry, one JSON object per line; the first batch is read before any byte is sent, so a failing query is still a JSON 500. */
const exportNdjson = async (res: Response, entries: AsyncIterable<AuditEntry>, now: Date): Promise<void> => {
  const iterator = entries[Symbol.asyncIterator]();
  let next = await iterator.next();
  res.status(200).type(NDJSON);
  res.set('Content-Disposition', `attachment; filename="audit-${now.toISOString().replace(/[:.]/g, '-')}.ndjson"`);
  res.flushHeaders();
  try {
    while (!next.done) {
      // the client went away: stop reading the database
      if (res.destroyed) return;
      if (!res.write(`${JSON.stringify(next.value)}\n`)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
      next = await iterator.next();
    }
    res.end();
  } finally {
    await iterator.return?.();
  }
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
      if (query.cursor !== undefined || query.limit !== undefined) {
        throw new ValidationError(
          'The NDJSON export streams every matching entry: cursor and limit do not apply to it.',
          undefined,
          'export_not_paginated',
        );
      }
      await exportNdjson(res, auditLog.stream(filters, { order: order ?? 'asc' }), clock());
      return;
    }
    const page = await auditLog.page({
      ...filters,
      limit: query.limit ?? 100,
      afterSeq: query.cursor === undefined ? null : decodeCursor(query.cursor),
      order: order ?? 'desc',
    });
    res.json({ entries: page.entries, next_cursor: page.nextSeq === null ? null : encodeCursor(page.nextSeq) });
  });

  return router;
};
