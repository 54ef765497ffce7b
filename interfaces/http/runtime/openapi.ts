import { adminOnly, bearer, errorResponse, jsonContent, numberIdParameter } from '../shared/openapiParts.js';
/** OpenAPI paths of runtime control and the processes list (spread into interfaces/http/openapi.ts). */
const accepted = (extra: Record<string, unknown>) => ({
  description: 'Requested: the worker holding the number obeys and records the outcome (GET /api/whatsapp/status)',
  content: jsonContent({
    type: 'object',
    required: ['requestId', 'action', 'status'],
    properties: {
      requestId: { type: 'string', format: 'uuid' },
      action: { type: 'string' },
      status: { const: 'pending' },
      ...extra,
    },
  }),
});

const perNumber = (action: string, what: string) => ({
  post: {
    summary: `${what} (admin, audited as runtime.${action}_requested, then runtime.completed/failed/timed_out)`,
    security: bearer,
    parameters: [numberIdParameter],
    responses: {
      202: accepted({ numberId: { type: 'string' } }),
      400: errorResponse('Bad number id'),
      404: errorResponse('Unknown number (number_not_found)'),
      409: errorResponse('Disabled number (number_disabled): no worker takes it'),
      ...adminOnly,
    },
  },
});
const allNumbers = (action: string, what: string) => ({
  post: {
    summary: `${what} for every active number (admin, audited): one request id for all of them`,
    security: bearer,
    responses: { 202: accepted({ numbers: { type: 'array', items: { type: 'string' } } }), ...adminOnly },
  },
});

export const runtimePaths = {
  '/api/numbers/{id}/runtime/start': perNumber('start', "Start a number's runtime: open its channel, drain its queue"),
  '/api/numbers/{id}/runtime/stop': perNumber(
    'stop',
    "Stop a number's runtime: close its channel (session kept); its queue waits",
  ),
  '/api/numbers/{id}/runtime/restart': perNumber('restart', "Restart a number's runtime: close and open its channel"),
  '/api/numbers/{id}/runtime/logout': perNumber(
    'logout',
    'End the WhatsApp Web session: credentials cleared, the next start pairs anew (other kinds: a stop)',
  ),
  '/api/admin/runtime/start': allNumbers('start', 'Start the runtime'),
  '/api/admin/runtime/stop': allNumbers('stop', 'Stop the runtime'),
  '/api/admin/runtime/restart': allNumbers('restart', 'Restart the runtime'),
  '/api/admin/runtime/requests/{requestId}': {
    get: {
      summary: 'A runtime request per number: pending, completed, failed or timed_out, with the worker and outcome',
      security: bearer,
      parameters: [{ name: 'requestId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
      responses: {
        200: { description: 'The request' },
        400: errorResponse('Bad request id'),
        404: errorResponse('Unknown request (runtime_request_not_found)'),
        ...adminOnly,
      },
    },
  },
  '/api/admin/processes': {
    get: {
      summary:
        'Each process instance (app, worker-web, scheduler): role, pid, host, last heartbeat age, state running/stopped/crashed',
      security: bearer,
      responses: { 200: { description: 'Processes' }, ...adminOnly },
    },
  },
};
