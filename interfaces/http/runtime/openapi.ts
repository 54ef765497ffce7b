/** OpenAPI paths of runtime control and the processes list (spread into interfaces/http/openapi.ts). */
const error = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});
const json = (schema: Record<string, unknown>) => ({ 'application/json': { schema } });
const security = [{ bearer: [] }];
const admin = { 401: error('No or bad access token'), 403: error('Needs the role admin') };
const numberId = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,31}$' },
};
const accepted = (extra: Record<string, unknown>) => ({
  description: 'Requested: the worker holding the number obeys and records the outcome (GET /api/whatsapp/status)',
  content: json({
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
    security,
    parameters: [numberId],
    responses: {
      202: accepted({ numberId: { type: 'string' } }),
      400: error('Bad number id'),
      404: error('Unknown number (number_not_found)'),
      409: error('Disabled number (number_disabled): no worker takes it'),
      ...admin,
    },
  },
});
const allNumbers = (action: string, what: string) => ({
  post: {
    summary: `${what} for every active number (admin, audited): one request id for all of them`,
    security,
    responses: { 202: accepted({ numbers: { type: 'array', items: { type: 'string' } } }), ...admin },
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
      security,
      parameters: [{ name: 'requestId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
      responses: {
        200: { description: 'The request' },
        400: error('Bad request id'),
        404: error('Unknown request (runtime_request_not_found)'),
        ...admin,
      },
    },
  },
  '/api/admin/processes': {
    get: {
      summary:
        'Each process instance (app, worker-web, scheduler): role, pid, host, last heartbeat age, state running/stopped/crashed',
      security,
      responses: { 200: { description: 'Processes' }, ...admin },
    },
  },
};
