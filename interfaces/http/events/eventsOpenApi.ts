/** The event explorer's part of the OpenAPI document (interfaces/http/openapi.ts spreads it into paths). */
import { queryParameters } from '../shared/openapiSchema.js';
import { adminOnly, bearer, errorResponse, pathParameter } from '../shared/openapiParts.js';
import { EventQueryParams, Query, StateQuery, StepQuery, StreamQuery } from './eventRoutes.js';

const badInput = errorResponse(
  'Bad parameter: validation_failed, invalid_cursor, invalid_text (a NUL, control or unpaired surrogate in a query), nul_character (in a path), control_character or invalid_utf8',
);

export const eventPaths = {
  '/api/events': {
    get: {
      summary:
        'Every event in the store, newest first by default, filtered; JSON pages (bounded scan per request: keep following next_cursor) or an NDJSON export (format=ndjson or Accept: application/x-ndjson), oldest first',
      security: bearer,
      parameters: queryParameters(Query, {
        from: 'ISO time with offset, inclusive, on metadata.occurredAt',
        to: 'ISO time with offset, exclusive',
        type: 'event type; repeat it or use a comma list',
        stream: 'stream id prefix, e.g. account-',
        actor: 'metadata.actor (a user id or system)',
        correlation_id: 'metadata.correlationId',
        direction: 'backward (default) or forward',
        cursor: 'next_cursor of the previous page',
        limit: '1-500, default 100',
        format: 'json or ndjson',
      }),
      responses: {
        200: {
          description:
            '{events, next_cursor, scanned}: next_cursor is null at the end of the log; a page can hold fewer than limit events (even none) when the scan bound was reached first',
        },
        400: badInput,
        ...adminOnly,
      },
    },
  },
  '/api/events/chain/{correlationId}': {
    get: {
      summary:
        'The causal tree of one correlation id (X-Correlation-Id of any response): events nested by causationId, with occurredAt, recordedAt and the gap from the parent in ms',
      security: bearer,
      parameters: [pathParameter('correlationId', { description: 'a UUID or 8-64 characters of [A-Za-z0-9._-]' })],
      responses: {
        200: { description: '{correlationId, complete, count, roots: [event & {gapMs, children}]}' },
        400: badInput,
        404: errorResponse('No event has this correlation id'),
        ...adminOnly,
      },
    },
  },
  '/api/events/{eventId}': {
    get: {
      summary: 'One event with its metadata and links (causation, chain, stream); include=ancestors,descendants',
      security: bearer,
      parameters: [
        pathParameter('eventId', { description: 'UUID' }),
        ...queryParameters(EventQueryParams, { include: 'ancestors, descendants or both (comma list)' }),
      ],
      responses: {
        200: { description: 'The event, links and the relatives asked for' },
        400: badInput,
        404: errorResponse('No such event'),
        ...adminOnly,
      },
    },
  },
  '/api/streams/{streamId}': {
    get: {
      summary: 'One stream, oldest first, from a revision',
      security: bearer,
      parameters: [
        pathParameter('streamId', { description: 'e.g. account-<id>' }),
        ...queryParameters(StreamQuery, { from_revision: '0 or more, default 0', limit: '1-1000, default 100' }),
      ],
      responses: {
        200: { description: '{streamId, events, next_revision}' },
        400: badInput,
        404: errorResponse('The stream has no events'),
        ...adminOnly,
      },
    },
  },
  '/api/streams/{streamId}/state': {
    get: {
      summary:
        'Time travel: the state of an account-<id>, chat-<id>, number-<id>, message-<id>, process-<name>, secret-<name>, llm-provider-<name>, llm-force or llm-settings stream as of `at`, folded by the live decider over the events that occurred at or before it, with those events (secrets redacted) and a summary (for an account: was a lock in force, which AccountLocked event)',
      security: bearer,
      parameters: [
        pathParameter('streamId', { description: 'e.g. account-<id>' }),
        ...queryParameters(StateQuery, { at: 'ISO time with offset' }),
      ],
      responses: {
        200: { description: '{streamId, at, kind, state, summary, events, laterEvents}' },
        400: errorResponse('Bad parameter, or a stream family time travel does not fold (unsupported_stream)'),
        404: errorResponse('The stream has no events'),
        ...adminOnly,
      },
    },
  },
  '/api/streams/{streamId}/steps': {
    get: {
      summary:
        'Replay stepper: the event at one revision of a stream, the state right after it (folded from revision 0 by the live decider, as time travel does; null for a stream no decider folds), the paths it changed, who did it (actor and username), from where (ip, user agent) and why (correlation id, causation event), and the previous and next revisions',
      security: bearer,
      parameters: [
        pathParameter('streamId', { description: 'e.g. account-<id>, chat-<id>, number-<id>, llm-provider-<name>' }),
        ...queryParameters(StepQuery),
      ],
      responses: {
        200: {
          description:
            '{streamId, kind, revision, lastRevision, previous, next, event, folded, state, summary, changed, who: {actor, username}, origin: {ip, userAgent}, why: {correlationId, causationId, cause}}',
        },
        400: badInput,
        404: errorResponse(
          'The stream has no events (stream_not_found), or no event at that revision (revision_not_found)',
        ),
        ...adminOnly,
      },
    },
  },
};
