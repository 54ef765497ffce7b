import { Router } from 'express';
import { z } from 'zod';
import {
  buildChain,
  chainView,
  DEFAULT_SCAN_LIMITS,
  eventsOfCorrelation,
  eventView,
  exportEvents,
  findEvent,
  queryEvents,
  relativesOf,
  type EventQuery,
  type ScanLimits,
} from '#application/forensics/eventQuery.js';
import { stepOf } from '#application/forensics/replay.js';
import { stateAsOf } from '#application/forensics/timeTravel.js';
import type { Authenticator } from '#application/identity/sessions.js';
import type { EventStore } from '#application/shared/eventStore.js';
import { NotFoundError, ValidationError } from '#application/shared/errors.js';
import { isValidCorrelationId } from '#infrastructure/logging/context.js';
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

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Refuses, before any schema runs, text no id, type or name of ours contains: NUL and other control
 * characters, lone surrogates, and U+FFFD (what a query string with invalid UTF-8 decodes to).
 */
const checkCharacters = (input: Record<string, unknown>, what: string): void => {
  for (const [key, raw] of Object.entries(input)) {
    for (const value of Array.isArray(raw) ? (raw as unknown[]) : [raw]) {
      if (typeof value !== 'string') continue;
      if (value.includes('\u0000'))
        throw new ValidationError(`The ${what} ${key} contains a NUL character.`, { field: key }, 'nul_character');
      if (CONTROL.test(value))
        throw new ValidationError(
          `The ${what} ${key} contains a control character.`,
          { field: key },
          'control_character',
        );
      if (LONE_SURROGATE.test(value) || value.includes('\uFFFD'))
        throw new ValidationError(`The ${what} ${key} is not valid UTF-8 text.`, { field: key }, 'invalid_utf8');
    }
  }
};

const Time = z.iso.datetime({ offset: true });
const EVENT_TYPE = /^[A-Za-z][A-Za-z0-9_.-]{0,99}$/;
const StreamText = z.string().min(1).max(200);

export const Query = z
  .object({
    from: Time.optional(),
    to: Time.optional(),
    type: z
      .union([z.string().max(2000), z.array(z.string().max(2000)).max(50)])
      .transform((value) =>
        (Array.isArray(value) ? value : [value])
          .flatMap((part) => part.split(','))
          .map((part) => part.trim())
          .filter((part) => part !== ''),
      )
      .pipe(
        z
          .array(z.string().regex(EVENT_TYPE, 'event type names like LoginSucceeded'))
          .min(1, 'at least one type')
          .max(50),
      )
      .optional(),
    stream: StreamText.optional(),
    actor: z.string().min(1).max(256).optional(),
    correlation_id: z
      .string()
      .refine(isValidCorrelationId, 'a correlation id: a UUID or 8-64 characters of [A-Za-z0-9._-]')
      .optional(),
    direction: z.enum(['forward', 'backward', 'forwards', 'backwards']).optional(),
    cursor: CursorParam.optional(),
    limit: LimitParam(500).optional(),
    format: z.enum(['json', 'ndjson']).optional(),
  })
  .strict();

export const StreamQuery = z
  .object({
    from_revision: z
      .string()
      .regex(/^\d{1,12}$/, 'a revision (0 or more)')
      .transform(Number)
      .optional(),
    limit: LimitParam(1000).optional(),
  })
  .strict();
export const EventQueryParams = z
  .object({
    include: z
      .string()
      .regex(/^(ancestors|descendants)(,(ancestors|descendants))?$/, 'ancestors, descendants or both')
      .optional(),
  })
  .strict();
const EventId = z.uuid('an event id (UUID)');
export const StateQuery = z.object({ at: Time }).strict();
/** The replay stepper's query (the OpenAPI document is generated from this very schema). */
export const StepQuery = z
  .object({
    revision: z
      .union([
        z.literal('last'),
        z
          .string()
          .regex(/^\d{1,12}$/, 'a revision (0 or more) or last')
          .transform(Number),
      ])
      .optional()
      .describe('the revision to show: 0 (default) to the newest, or last'),
  })
  .strict();

/** Opaque to clients: a store position. */
const cursors = cursorCodec({ tag: 'p', min: 0 });

const toQuery = (query: z.infer<typeof Query>): Omit<EventQuery, 'direction' | 'limit'> => {
  const { from, to } = timeRange(query);
  return {
    types: query.type,
    streamPrefix: query.stream,
    actor: query.actor,
    correlationId: query.correlation_id,
    from,
    to,
    cursor: query.cursor === undefined ? undefined : cursors.decode(query.cursor),
  };
};

export type EventRoutesOptions = {
  identity: Authenticator;
  store: EventStore;
  /** bounds of one explorer page (tests lower them) */
  scanLimits?: ScanLimits;
  /** bound of the id and correlation-id lookups (newest events first) */
  lookupScanLimit?: number;
};

/**
 * The event explorer (admins only): GET /api/events, /api/events/chain/{correlationId},
 * /api/events/{eventId} and /api/streams/{streamId}. Event data is redacted (password hashes,
 * ciphertexts, tokens); personal data is shown as stored until crypto-shredding lands.
 */
export const eventRoutes = ({ identity, store, scanLimits, lookupScanLimit }: EventRoutesOptions): Router => {
  const router = Router();
  const admin = requireAuth(identity, 'admin');
  const limits = scanLimits ?? DEFAULT_SCAN_LIMITS;

  router.get('/api/events', admin, async (req, res) => {
    checkCharacters(req.query, 'query parameter');
    const query = parseInput(Query, req.query, 'query');
    const filters = toQuery(query);
    res.set('Cache-Control', 'no-store');
    if (wantsNdjson(req, query.format)) {
      refusePagingOnExport(query, 'event');
      if (query.direction?.startsWith('backward'))
        throw new ValidationError('The NDJSON export is oldest first.', undefined, 'export_forward_only');
      await exportNdjson(res, exportEvents(store, filters, limits.batchSize), {
        name: 'events',
        now: new Date(),
        view: eventView,
      });
      return;
    }
    const direction = query.direction?.startsWith('forward') ? 'forwards' : 'backwards';
    const page = await queryEvents(store, { ...filters, direction, limit: query.limit ?? 100 }, limits);
    res.json({
      events: page.events.map(eventView),
      next_cursor: page.nextCursor === null ? null : cursors.encode(page.nextCursor),
      scanned: page.scanned,
    });
  });

  router.get('/api/events/chain/:correlationId', admin, async (req, res) => {
    const correlationId = req.params.correlationId as string;
    checkCharacters({ correlationId }, 'path parameter');
    if (!isValidCorrelationId(correlationId))
      throw new ValidationError(
        'The correlation id must be a UUID or 8-64 characters of [A-Za-z0-9._-].',
        undefined,
        'invalid_correlation_id',
      );
    const { events, complete } = await eventsOfCorrelation(store, correlationId, lookupScanLimit);
    if (events.length === 0)
      throw new NotFoundError(`No event has the correlation id ${correlationId}.`, 'chain_not_found');
    res.set('Cache-Control', 'no-store');
    res.json({ correlationId, complete, count: events.length, roots: chainView(buildChain(events)) });
  });

  router.get('/api/events/:eventId', admin, async (req, res) => {
    checkCharacters({ eventId: req.params.eventId, ...req.query }, 'parameter');
    const eventId = parseInput(EventId, req.params.eventId, 'event id');
    const { include } = parseInput(EventQueryParams, req.query, 'query');
    const event = await findEvent(store, eventId, lookupScanLimit);
    if (!event) throw new NotFoundError(`No event has the id ${eventId}.`, 'event_not_found');
    const wanted = new Set(include?.split(',') ?? []);
    const relatives =
      wanted.size > 0
        ? relativesOf(event, (await eventsOfCorrelation(store, event.metadata.correlationId, lookupScanLimit)).events)
        : null;
    res.set('Cache-Control', 'no-store');
    res.json({
      ...eventView(event),
      links: {
        causation: event.metadata.causationId === null ? null : `/api/events/${event.metadata.causationId}`,
        chain: `/api/events/chain/${encodeURIComponent(event.metadata.correlationId)}`,
        stream: `/api/streams/${encodeURIComponent(event.streamId)}?from_revision=${event.revision}`,
      },
      ...(wanted.has('ancestors') ? { ancestors: relatives!.ancestors.map(eventView) } : {}),
      ...(wanted.has('descendants') ? { descendants: relatives!.descendants.map(eventView) } : {}),
    });
  });

  router.get('/api/streams/:streamId', admin, async (req, res) => {
    const streamId = req.params.streamId as string;
    checkCharacters({ streamId, ...req.query }, 'parameter');
    parseInput(StreamText, streamId, 'stream id');
    const query = parseInput(StreamQuery, req.query, 'query');
    const fromRevision = query.from_revision ?? 0;
    const limit = query.limit ?? 100;
    const events = await store.readStream(streamId, { fromRevision, maxCount: limit + 1 });
    if (events.length === 0 && fromRevision === 0)
      throw new NotFoundError(`The stream ${streamId} has no events.`, 'stream_not_found');
    const page = events.slice(0, limit);
    res.set('Cache-Control', 'no-store');
    res.json({
      streamId,
      events: page.map(eventView),
      next_revision: events.length > limit ? page[page.length - 1]!.revision + 1 : null,
    });
  });

  router.get('/api/streams/:streamId/state', admin, async (req, res) => {
    const streamId = req.params.streamId as string;
    checkCharacters({ streamId, ...req.query }, 'parameter');
    parseInput(StreamText, streamId, 'stream id');
    const { at } = parseInput(StateQuery, req.query, 'query');
    const result = await stateAsOf(store, streamId, new Date(at));
    if (result.events.length === 0 && result.laterEvents === 0)
      throw new NotFoundError(`The stream ${streamId} has no events.`, 'stream_not_found');
    res.set('Cache-Control', 'no-store');
    res.json(result);
  });

  router.get('/api/streams/:streamId/steps', admin, async (req, res) => {
    const streamId = req.params.streamId as string;
    checkCharacters({ streamId, ...req.query }, 'parameter');
    parseInput(StreamText, streamId, 'stream id');
    const { revision } = parseInput(StepQuery, req.query, 'query');
    const step = await stepOf(store, streamId, revision ?? 0, { lookupScanLimit });
    res.set('Cache-Control', 'no-store');
    res.json(step);
  });

  return router;
};
