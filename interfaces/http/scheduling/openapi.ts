import { bearer, errorResponse, signedIn, staffOnly, uuidPathParameter } from '../shared/openapiParts.js';
import { jsonRequestBody, queryParameters } from '../shared/openapiSchema.js';
import { ScheduleBody, ScheduleListQuery } from './scheduledRoutes.js';

/** OpenAPI paths of the scheduled-messages API (spread into interfaces/http/openapi.ts). */
// Request schemas come from the very zod schemas the routes validate with (../shared/openapiSchema.ts).
const row = {
  type: 'object',
  properties: {
    scheduleId: { type: 'string', format: 'uuid' },
    numberId: { type: 'string' },
    chatId: { type: 'string', format: 'uuid' },
    to: { type: 'string' },
    text: { type: ['string', 'null'] },
    template: { type: ['object', 'null'] },
    at: { type: 'string', format: 'date-time' },
    state: { enum: ['pending', 'fired', 'cancelled', 'failed'] },
    messageId: { type: ['string', 'null'], description: 'the outbound message it became, once fired' },
    firedAt: { type: ['string', 'null'] },
    lateMs: { type: ['integer', 'null'], description: 'how long after `at` it fired' },
    queuedAt: { type: ['string', 'null'] },
    errorCode: { type: ['string', 'null'], description: 'why a fired message could not be queued' },
  },
};

export const schedulingPaths = {
  '/api/scheduled-messages': {
    post: {
      summary:
        'Schedule a message (MessageScheduled, audited) to be queued at `at` by the scheduler process (within a second). Idempotency-Key: the same key answers the first schedule',
      security: bearer,
      parameters: [{ name: 'Idempotency-Key', in: 'header', schema: { type: 'string', maxLength: 128 } }],
      requestBody: jsonRequestBody(ScheduleBody),
      responses: {
        201: { description: '{id, number, chatId, at, state: pending, duplicate: false}' },
        200: { description: 'The same Idempotency-Key again: the first schedule (duplicate: true)' },
        400: errorResponse('Bad recipient, body, or `at` (not in the future, or more than 366 days ahead)'),
        404: errorResponse('Unknown number'),
        409: errorResponse('Number disabled, or the Idempotency-Key was used for another schedule'),
        ...staffOnly,
      },
    },
    get: {
      summary: 'Scheduled messages, newest first, optionally by state',
      security: bearer,
      parameters: queryParameters(ScheduleListQuery),
      responses: {
        200: {
          description: '{scheduledMessages, nextCursor}',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  scheduledMessages: { type: 'array', items: row },
                  nextCursor: { type: ['string', 'null'] },
                },
              },
            },
          },
        },
        400: errorResponse('Bad query'),
        ...signedIn,
      },
    },
  },
  '/api/scheduled-messages/{id}': {
    get: {
      summary: 'One scheduled message',
      security: bearer,
      parameters: [uuidPathParameter()],
      responses: {
        200: { description: 'The scheduled message', content: { 'application/json': { schema: row } } },
        404: errorResponse('Unknown scheduled message'),
        ...signedIn,
      },
    },
    delete: {
      summary: 'Cancel a scheduled message (ScheduledMessageCancelled, audited); cancelling twice changes nothing',
      security: bearer,
      parameters: [uuidPathParameter()],
      responses: {
        200: { description: '{id, state: cancelled, changed}' },
        404: errorResponse('Unknown scheduled message'),
        409: errorResponse('Already fired'),
        ...staffOnly,
      },
    },
  },
};
