import { cloudWebhookOpenApiPaths } from '../channels/cloudWebhookRoutes.js';
import { webPairingOpenApiPaths } from './webPairingRoutes.js';
import { jsonRequestBody, queryParameters } from '../shared/openapiSchema.js';
import { ChatsQuery, MessagesQuery, SendBody, SimulatorBody } from './messagingRoutes.js';
import { AddBody } from './numbersRoutes.js';

/** OpenAPI paths of the messaging API (spread into interfaces/http/openapi.ts). */
const error = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});
const security = [{ bearer: [] }];
const auth = { 401: error('No or bad access token') };
const staff = { ...auth, 403: error('Needs the role admin or operator') };
const admin = { ...auth, 403: error('Needs the role admin') };
const chatId = { name: 'chatId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const messageId = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const numberId = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,31}$' },
};
const pageDescriptions = { cursor: 'nextCursor of the previous page', q: 'text search' };

export const messagingPaths = {
  ...cloudWebhookOpenApiPaths,
  ...webPairingOpenApiPaths,
  '/api/numbers': {
    get: {
      summary: 'Numbers (instances): kind, state, last error',
      security,
      responses: { 200: { description: 'Numbers' }, ...auth },
    },
    post: {
      summary: 'Add a number (admin, audited); a Cloud API access token becomes a Fernet secret',
      security,
      requestBody: jsonRequestBody(AddBody),
      responses: {
        201: { description: 'Added' },
        400: error('Bad input'),
        409: error('Exists'),
        503: error('FERNET_KEYS not set'),
        ...admin,
      },
    },
  },
  '/api/numbers/{id}': {
    delete: {
      summary: 'Remove a number (admin, audited)',
      security,
      parameters: [numberId],
      responses: { 204: { description: 'Removed' }, 404: error('Unknown number'), ...admin },
    },
  },
  '/api/numbers/{id}/disable': {
    post: {
      summary: 'Disable a number: nothing is sent or answered on it',
      security,
      parameters: [numberId],
      responses: { 200: { description: 'Done' }, 404: error('Unknown number'), ...admin },
    },
  },
  '/api/numbers/{id}/enable': {
    post: {
      summary: 'Enable a disabled number',
      security,
      parameters: [numberId],
      responses: { 200: { description: 'Done' }, 404: error('Unknown number'), ...admin },
    },
  },
  '/api/simulator/messages': {
    post: {
      summary: 'A contact of the simulator number says something (MessageReceived); the answer names the chatId',
      security,
      requestBody: jsonRequestBody(SimulatorBody),
      responses: {
        202: { description: '{messageId, chatId}' },
        400: error('Bad input'),
        404: error('Simulator turned off'),
        ...staff,
      },
    },
  },
  '/api/whatsapp/send': {
    post: {
      summary:
        'Queue a message (MessageQueued); worker-web sends it. Idempotency-Key: the same key answers the first message id',
      security,
      parameters: [{ name: 'Idempotency-Key', in: 'header', schema: { type: 'string', maxLength: 128 } }],
      requestBody: jsonRequestBody(SendBody),
      responses: {
        202: { description: '{messageId, chatId, number, status: queued, duplicate}' },
        400: error('Bad recipient (E.164 or JID) or body'),
        404: error('Unknown number'),
        409: error('Number disabled'),
        422: error('Free text outside the 24-hour customer service window (Cloud API): send a template'),
        ...staff,
      },
    },
  },
  '/api/whatsapp/status': {
    get: {
      summary:
        'Per number: kind, connection, queue depth, oldest queued age, dead letters, sends in the last minute, last error; worker heartbeat age',
      security,
      responses: { 200: { description: 'Status' }, ...auth },
    },
  },
  '/api/whatsapp/dead-letters': {
    get: { summary: 'Dead-lettered messages', security, responses: { 200: { description: 'Dead letters' }, ...auth } },
  },
  '/api/whatsapp/dead-letters/{id}/retry': {
    post: {
      summary: 'Requeue a dead letter (admin, audited)',
      security,
      parameters: [messageId],
      responses: {
        202: { description: 'Requeued' },
        404: error('Unknown message'),
        409: error('Not dead-lettered'),
        ...admin,
      },
    },
  },
  '/api/whatsapp/dead-letters/{id}/drop': {
    post: {
      summary: 'Drop a dead letter or a queued message (admin, audited)',
      security,
      parameters: [messageId],
      responses: {
        202: { description: 'Dropped' },
        404: error('Unknown message'),
        409: error('Already sent'),
        ...admin,
      },
    },
  },
  '/api/chats': {
    get: {
      summary: 'Chats, most recent first: last message, unread count, 24-hour window, paused flag',
      security,
      parameters: queryParameters(ChatsQuery, pageDescriptions),
      responses: { 200: { description: '{chats, nextCursor}' }, 400: error('Bad query'), ...auth },
    },
  },
  '/api/chats/{chatId}': {
    get: {
      summary: 'One chat',
      security,
      parameters: [chatId],
      responses: { 200: { description: 'Chat' }, 404: error('Unknown chat'), ...auth },
    },
  },
  '/api/chats/{chatId}/messages': {
    get: {
      summary: 'Messages of a chat, newest first, with delivery statuses',
      security,
      parameters: [chatId, ...queryParameters(MessagesQuery, pageDescriptions)],
      responses: { 200: { description: '{chat, messages, nextCursor}' }, 404: error('Unknown chat'), ...auth },
    },
  },
  '/api/chats/{chatId}/pause': {
    post: {
      summary: 'Human takeover: the bot stops answering this chat (audited)',
      security,
      parameters: [chatId],
      responses: { 200: { description: 'Paused' }, 404: error('Unknown chat'), ...staff },
    },
  },
  '/api/chats/{chatId}/resume': {
    post: {
      summary: 'The bot answers this chat again (audited)',
      security,
      parameters: [chatId],
      responses: { 200: { description: 'Resumed' }, 404: error('Unknown chat'), ...staff },
    },
  },
};
