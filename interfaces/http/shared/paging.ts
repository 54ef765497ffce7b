import { once } from 'node:events';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { ValidationError } from '#application/shared/errors.js';

/**
 * Paging and export shared by the list endpoints that page by a number (GET /api/events by store
 * position, GET /api/audit by entry seq): the opaque cursor, the `limit` and `cursor` query schemas,
 * the [from, to) check, and the NDJSON export with backpressure.
 */

/** `limit` as a query parameter: a whole number from 1 to `max`. */
export const LimitParam = (max: number) =>
  z
    .string()
    .regex(/^\d{1,6}$/, `a whole number from 1 to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(1, 'at least 1').max(max, `at most ${max}`));

/** `cursor` as a query parameter: what a previous page gave as next_cursor, unchanged. */
export const CursorParam = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'the next_cursor of a previous page');

export type CursorCodec = { encode(value: number): string; decode(cursor: string): number };

/**
 * Opaque to clients: a number (at least `min`) behind a tag, in base64url. Each endpoint keeps its own
 * tag, so a cursor of one list is refused by another instead of paging from a wrong place.
 */
export const cursorCodec = ({ tag, min }: { tag: string; min: number }): CursorCodec => ({
  encode: (value) => Buffer.from(`${tag}${value}`, 'utf8').toString('base64url'),
  decode(cursor) {
    const text = Buffer.from(cursor, 'base64url').toString('utf8');
    const digits = text.startsWith(tag) ? text.slice(tag.length) : '';
    const value = /^\d{1,15}$/.test(digits) ? Number(digits) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min)
      throw new ValidationError(
        'The cursor is not one this API gave out: pass next_cursor unchanged.',
        undefined,
        'invalid_cursor',
      );
    return value;
  },
});

/** `from` and `to` as Dates, refused when `from` is after `to`. */
export const timeRange = (query: { from?: string; to?: string }): { from?: Date; to?: Date } => {
  const from = query.from === undefined ? undefined : new Date(query.from);
  const to = query.to === undefined ? undefined : new Date(query.to);
  if (from && to && from.getTime() > to.getTime())
    throw new ValidationError('The query is invalid: from must not be after to.', {
      issues: [{ path: 'from', problem: 'after to' }],
    });
  return { from, to };
};

export const NDJSON = 'application/x-ndjson';

/** `format` decides; without it, the Accept header. */
export const wantsNdjson = (req: Request, format: 'json' | 'ndjson' | undefined): boolean =>
  format === undefined ? req.accepts(['application/json', NDJSON]) === NDJSON : format === 'ndjson';

/** The export streams everything that matches: paging parameters are refused rather than ignored. */
export const refusePagingOnExport = (query: { cursor?: unknown; limit?: unknown }, items: string): void => {
  if (query.cursor !== undefined || query.limit !== undefined)
    throw new ValidationError(
      `The NDJSON export streams every matching ${items}: cursor and limit do not apply to it.`,
      undefined,
      'export_not_paginated',
    );
};

/**
 * Streams items as NDJSON (one JSON object per line) with backpressure, as an attachment named
 * `<name>-<time>.ndjson`. The first item is read before any byte is sent, so a failing read is still a
 * JSON error; a client that goes away stops the reading.
 */
export const exportNdjson = async <T>(
  res: Response,
  items: AsyncIterable<T>,
  options: { name: string; now: Date; view?: (item: T) => unknown },
): Promise<void> => {
  const iterator = items[Symbol.asyncIterator]();
  const view = options.view ?? ((item: T) => item);
  let next = await iterator.next();
  res.status(200).type(NDJSON);
  res.set(
    'Content-Disposition',
    `attachment; filename="${options.name}-${options.now.toISOString().replace(/[:.]/g, '-')}.ndjson"`,
  );
  res.flushHeaders();
  try {
    while (!next.done) {
      if (res.destroyed) return;
      if (!res.write(`${JSON.stringify(view(next.value))}\n`))
        await Promise.race([once(res, 'drain'), once(res, 'close')]);
      next = await iterator.next();
    }
    res.end();
  } finally {
    await iterator.return?.();
  }
};
