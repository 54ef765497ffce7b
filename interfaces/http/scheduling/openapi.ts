import { jsonRequestBody, queryParameters } from '../shared/openapiSchema.js';
import { ScheduleBody, ScheduleListQuery } from './scheduledRoutes.js';

/** OpenAPI paths of the scheduled-messages API (spread into interfaces/http/openapi.ts). */
const error = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});
const security = [{ bearer: [] }];
const auth = { 401: error('No or bad access token') };
const staff = { ...auth, 403: error('Needs the role admin or operator') };
const id = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
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
      security,
      parameters: [{ name: 'Idempotency-Key', in: 'header', schema: { type: 'string', maxLength: 128 } }],
      requestBody: jsonRequestBody(ScheduleBody),
      responses: {
        201: { description: '{id, number, chatId, at, state: pending, duplicate: false}' },
        200: { description: 'The same Idempotency-Key again: the first schedule (duplicate: true)' },
        400: error('Bad recipient, body, or `at` (not in the future, or more than 366 days ahead)'),
        404: error('Unknown number'),
        409: error('Number disabled, or the Idempotency-Key was used for another schedule'),
        ...staff,
      },
    },
    get: {
      summary: 'Scheduled messages, newest first, optionally by state',
      security,
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
        400: error('Bad query'),
        ...auth,
      },
    },
  },
  '/api/scheduled-messages/{id}': {
    get: {
      summary: 'One scheduled message',
      security,
      parameters: [id],
      responses: {
        200: { description: 'The scheduled message', content: { 'application/json': { schema: row } } },
        404: error('Unknown scheduled message'),
        ...auth,
      },
    },
    delete: {
      summary: 'Cancel a scheduled message (ScheduledMessageCancelled, audited); cancelling twice changes nothing',
      security,
      parameters: [id],
      responses: {
        200: { description: '{id, state: cancelled, changed}' },
        404: error('Unknown scheduled message'),
        409: error('Already fired'),
        ...staff,
      },
    },
  },
};
