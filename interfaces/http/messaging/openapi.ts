import { cloudWebhookOpenApiPaths } from '../channels/cloudWebhookRoutes.js';
import { webPairingOpenApiPaths } from './webPairingRoutes.js';
import { jsonRequestBody, queryParameters } from '../shared/openapiSchema.js';
import { ChatsQuery, MessagesQuery, SendBody, SimulatorBody } from './messagingRoutes.js';
import { AddBody } from './numbersRoutes.js';
import {
  adminOnly,
  bearer,
  errorResponse,
  numberIdParameter,
  signedIn,
  staffOnly,
  uuidPathParameter,
} from '../shared/openapiParts.js';

/** OpenAPI paths of the messaging API (spread into interfaces/http/openapi.ts). */
const chatId = uuidPathParameter('chatId');
const messageId = uuidPathParameter();
const pageDescriptions = { cursor: 'nextCursor of the previous page', q: 'text search' };

export const messagingPaths = {
  ...cloudWebhookOpenApiPaths,
  ...webPairingOpenApiPaths,
  '/api/numbers': {
    get: {
      summary: 'Numbers (instances): kind, state, last error',
      security: bearer,
      responses: { 200: { description: 'Numbers' }, ...signedIn },
    },
    post: {
      summary: 'Add a number (admin, audited); a Cloud API access token becomes a Fernet secret',
      security: bearer,
      requestBody: jsonRequestBody(AddBody),
      responses: {
        201: { description: 'Added' },
        400: errorResponse('Bad input'),
        409: errorResponse('Exists'),
        503: errorResponse('FERNET_KEYS not set'),
        ...adminOnly,
      },
    },
  },
  '/api/numbers/{id}': {
    delete: {
      summary: 'Remove a number (admin, audited)',
      security: bearer,
      parameters: [numberIdParameter],
      responses: { 204: { description: 'Removed' }, 404: errorResponse('Unknown number'), ...adminOnly },
    },
  },
  '/api/numbers/{id}/disable': {
    post: {
      summary: 'Disable a number: nothing is sent or answered on it',
      security: bearer,
      parameters: [numberIdParameter],
      responses: { 200: { description: 'Done' }, 404: errorResponse('Unknown number'), ...adminOnly },
    },
  },
  '/api/numbers/{id}/enable': {
    post: {
      summary: 'Enable a disabled number',
      security: bearer,
      parameters: [numberIdParameter],
      responses: { 200: { description: 'Done' }, 404: errorResponse('Unknown number'), ...adminOnly },
    },
  },
  '/api/simulator/messages': {
    post: {
      summary: 'A contact of the simulator number says something (MessageReceived); the answer names the chatId',
      security: bearer,
      requestBody: jsonRequestBody(SimulatorBody),
      responses: {
        202: { description: '{messageId, chatId}' },
        400: errorResponse('Bad input'),
        404: errorResponse('Simulator turned off'),
        ...staffOnly,
      },
    },
  },
  '/api/whatsapp/send': {
    post: {
      summary:
        'Queue a message (MessageQueued); worker-web sends it. Idempotency-Key: the same key answers the first message id',
      security: bearer,
      parameters: [{ name: 'Idempotency-Key', in: 'header', schema: { type: 'string', maxLength: 128 } }],
      requestBody: jsonRequestBody(SendBody),
      responses: {
        202: { description: '{messageId, chatId, number, status: queued, duplicate}' },
        400: errorResponse('Bad recipient (E.164 or JID) or body'),
        404: errorResponse('Unknown number'),
        409: errorResponse('Number disabled'),
        422: errorResponse('Free text outside the 24-hour customer service window (Cloud API): send a template'),
        ...staffOnly,
      },
    },
  },
  '/api/whatsapp/status': {
    get: {
      summary:
        'Per number: kind, connection, queue depth, oldest queued age, dead letters, sends in the last minute, last error; worker heartbeat age',
      security: bearer,
      responses: { 200: { description: 'Status' }, ...signedIn },
    },
  },
  '/api/whatsapp/dead-letters': {
    get: {
      summary: 'Dead-lettered messages',
      security: bearer,
      responses: { 200: { description: 'Dead letters' }, ...signedIn },
    },
  },
  '/api/whatsapp/dead-letters/{id}/retry': {
    post: {
      summary: 'Requeue a dead letter (admin, audited)',
      security: bearer,
      parameters: [messageId],
      responses: {
        202: { description: 'Requeued' },
        404: errorResponse('Unknown message'),
        409: errorResponse('Not dead-lettered'),
        ...adminOnly,
      },
    },
  },
  '/api/whatsapp/dead-letters/{id}/drop': {
    post: {
      summary: 'Drop a dead letter or a queued message (admin, audited)',
      security: bearer,
      parameters: [messageId],
      responses: {
        202: { description: 'Dropped' },
        404: errorResponse('Unknown message'),
        409: errorResponse('Already sent'),
        ...adminOnly,
      },
    },
  },
  '/api/chats': {
    get: {
      summary: 'Chats, most recent first: last message, unread count, 24-hour window, paused flag',
      security: bearer,
      parameters: queryParameters(ChatsQuery, pageDescriptions),
      responses: { 200: { description: '{chats, nextCursor}' }, 400: errorResponse('Bad query'), ...signedIn },
    },
  },
  '/api/chats/{chatId}': {
    get: {
      summary: 'One chat',
      security: bearer,
      parameters: [chatId],
      responses: { 200: { description: 'Chat' }, 404: errorResponse('Unknown chat'), ...signedIn },
    },
  },
  '/api/chats/{chatId}/messages': {
    get: {
      summary: 'Messages of a chat, newest first, with delivery statuses',
      security: bearer,
      parameters: [chatId, ...queryParameters(MessagesQuery, pageDescriptions)],
      responses: {
        200: { description: '{chat, messages, nextCursor}' },
        404: errorResponse('Unknown chat'),
        ...signedIn,
      },
    },
  },
  '/api/chats/{chatId}/pause': {
    post: {
      summary: 'Human takeover: the bot stops answering this chat (audited)',
      security: bearer,
      parameters: [chatId],
      responses: { 200: { description: 'Paused' }, 404: errorResponse('Unknown chat'), ...staffOnly },
    },
  },
  '/api/chats/{chatId}/resume': {
    post: {
      summary: 'The bot answers this chat again (audited)',
      security: bearer,
      parameters: [chatId],
      responses: { 200: { description: 'Resumed' }, 404: errorResponse('Unknown chat'), ...staffOnly },
    },
  },
};
