import { Router } from 'express';
import { WEB_STATIC_DIR } from '#interfaces/web/webRoutes.js';
import { eventPaths } from './events/eventsOpenApi.js';
import { privacyPaths } from './privacy/openapi.js';
import { messagingPaths } from './messaging/openapi.js';
import { Query as AuditQuery } from './audit/auditRoutes.js';
import { LoginBody, RefreshBody } from './identity/authRoutes.js';
import { CreateBody, ResetBody, RoleBody, UnlockBody } from './identity/usersRoutes.js';
import { ForceBody, SettingsPatch } from './llm/llmRoutes.js';
import { PutBody } from './secrets/secretsRoutes.js';
import { jsonRequestBody, queryParameters } from './shared/openapiSchema.js';
import {
  adminOnly,
  bearer,
  errorResponse,
  jsonContent,
  pathParameter,
  uuidPathParameter,
} from './shared/openapiParts.js';
import { schedulingPaths } from './scheduling/openapi.js';
import { runtimePaths } from './runtime/openapi.js';
import { projectionPaths } from './projections/projectionsOpenApi.js';

/**
 * The OpenAPI 3.1 description of the HTTP API, served at GET /api/openapi.json.
 * tests/integration/http/openapi.test.ts fails when a route of the app is missing here or a
 * documented route does not exist, so this stays the truth.
 */
const idParam = uuidPathParameter();
const nameParam = pathParameter('name', { schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' } });
const changed = {
  200: {
    description: 'Done (changed: false when there was nothing to change)',
    content: jsonContent({ type: 'object', properties: { id: { type: 'string' }, changed: { type: 'boolean' } } }),
  },
};
const tokenPair = {
  type: 'object',
  required: ['access_token', 'token_type', 'expires_in', 'refresh_token'],
  properties: {
    access_token: { type: 'string', description: 'JWT, HS256, typ at+jwt' },
    token_type: { const: 'Bearer' },
    expires_in: { type: 'integer', description: 'seconds' },
    refresh_token: { type: 'string', description: 'JWT, typ rt+jwt; single use: rotate with /api/auth/refresh' },
    refresh_expires_in: { type: 'integer' },
  },
};

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'chatbot API',
    version: '0.1.0',
    description:
      'Every error has the shape {"error":{"code","message","correlationId"}}. Every response carries X-Correlation-Id (taken from the request when it is 8-64 characters of [A-Za-z0-9._-] or a UUID). Rate limits answer 429 with Retry-After.',
  },
  servers: [{ url: 'http://localhost:8003' }],
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    schemas: {
      Error: {
        type: 'object',
        required: ['error'],
        properties: {
          error: {
            type: 'object',
            required: ['code', 'message', 'correlationId'],
            properties: {
              code: { type: 'string', examples: ['token_expired', 'validation_failed', 'account_locked'] },
              message: { type: 'string' },
              correlationId: { type: 'string' },
              details: { type: 'object' },
            },
          },
        },
      },
    },
  },
  paths: {
    ...messagingPaths,
    ...schedulingPaths,
    '/': {
      get: {
        summary: 'The admin console (HTML, Spanish and English); its files are served under /assets/',
        responses: { 200: { description: 'HTML page' } },
      },
    },
    '/healthz': {
      get: {
        summary: 'Health of every dependency, with latency',
        responses: {
          200: {
            description: 'All checks ok',
            content: jsonContent({
              type: 'object',
              properties: {
                status: { const: 'ok' },
                checks: { type: 'object' },
                detail: {
                  type: 'object',
                  description:
                    'processes: running/crashed/stopped/notReporting per process name; never changes the status',
                },
              },
            }),
          },
          503: {
            description: 'A dependency failed; checks names it',
            content: jsonContent({
              type: 'object',
              properties: { status: { const: 'unavailable' }, checks: { type: 'object' } },
            }),
          },
        },
      },
    },
    '/api/openapi.json': { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1' } } } },
    '/api/docs': {
      get: {
        summary:
          'This document as a page to read and filter (HTML, Spanish and English, under the same CSP as the console)',
        responses: { 200: { description: 'HTML page' } },
      },
    },
    '/api/auth/login': {
      post: {
        summary: 'Log in; every attempt is a LoginSucceeded/LoginFailed event',
        requestBody: jsonRequestBody(LoginBody),
        responses: {
          200: { description: 'Tokens', content: jsonContent(tokenPair) },
          400: errorResponse('Malformed JSON or wrong fields'),
          401: errorResponse(
            'invalid_credentials (same for unknown users, wrong passwords, disabled accounts and names that cannot exist; every attempt is recorded)',
          ),
          413: errorResponse('Body too large'),
          423: errorResponse(
            'account_locked, with Retry-After: too many failures from this address, or from all addresses (the same answer for names without an account)',
          ),
          429: errorResponse('rate_limited, with Retry-After'),
          503: errorResponse('rate_limiter_unavailable: Redis is down, login fails closed'),
        },
      },
    },
    '/api/auth/refresh': {
      post: {
        summary: 'Rotate the refresh token; reusing a rotated one revokes the whole session',
        requestBody: jsonRequestBody(RefreshBody),
        responses: {
          200: { description: 'New tokens', content: jsonContent(tokenPair) },
          400: errorResponse('Bad body'),
          401: errorResponse('token_* reason, refresh_token_reused or token_revoked'),
        },
      },
    },
    '/api/auth/logout': {
      post: {
        summary: 'Revoke this session',
        security: bearer,
        responses: { 204: { description: 'Revoked' }, 401: errorResponse('Bad token') },
      },
    },
    '/api/auth/me': {
      get: {
        summary: 'The user of this access token',
        security: bearer,
        responses: {
          200: {
            description: 'User',
            content: jsonContent({
              type: 'object',
              properties: {
                id: { type: 'string' },
                username: { type: 'string' },
                role: { enum: ['admin', 'operator', 'viewer'] },
                session_id: { type: 'string' },
                expires_at: { type: 'string' },
              },
            }),
          },
          401: errorResponse(
            'token_missing | token_malformed | token_expired | token_invalid_signature | token_wrong_type | token_revoked',
          ),
        },
      },
    },
    '/api/auth/ws-token': {
      post: {
        summary: 'A single-use, 60 s token (typ ws+jwt, scope metrics:read) for the WebSocket first message',
        security: bearer,
        responses: {
          200: {
            description: 'Token',
            content: jsonContent({
              type: 'object',
              properties: {
                ws_token: { type: 'string' },
                expires_in: { type: 'integer' },
                scope: { const: 'metrics:read' },
              },
            }),
          },
          401: errorResponse('Bad token'),
        },
      },
    },
    '/api/users': {
      get: {
        summary: 'List accounts (read model)',
        security: bearer,
        responses: { 200: { description: 'Users' }, ...adminOnly },
      },
      post: {
        summary: 'Create an account',
        security: bearer,
        requestBody: jsonRequestBody(CreateBody),
        responses: {
          201: { description: 'Created' },
          400: errorResponse('Bad input'),
          409: errorResponse('username_taken'),
          ...adminOnly,
        },
      },
    },
    '/api/users/locks': {
      get: {
        summary:
          'Login locks in force: account + address pairs (LOGIN_MAX_FAILURES) and whole accounts (LOGIN_ACCOUNT_MAX_FAILURES), for names with and without an account',
        security: bearer,
        responses: {
          200: {
            description: 'Locks',
            content: jsonContent({
              type: 'object',
              properties: {
                locks: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      account_id: { type: 'string', format: 'uuid' },
                      username: { type: 'string', description: 'control and bidi characters escaped as \\uXXXX' },
                      known: { type: 'boolean', description: 'false: no account has this name' },
                      scope: { enum: ['source', 'account'] },
                      source: { type: ['string', 'null'], description: 'the client address of a source lock' },
                      locked_until: { type: 'string', format: 'date-time' },
                      lockout_count: { type: 'integer' },
                      failures: { type: 'integer' },
                    },
                  },
                },
              },
            }),
          },
          ...adminOnly,
        },
      },
    },
    '/api/users/{id}': {
      patch: {
        summary: "Change the role (ends the account's sessions)",
        security: bearer,
        parameters: [idParam],
        requestBody: jsonRequestBody(RoleBody),
        responses: {
          ...changed,
          404: errorResponse('account_not_found'),
          409: errorResponse('last_admin: the only active admin cannot demote itself'),
          ...adminOnly,
        },
      },
    },
    '/api/users/{id}/disable': {
      post: {
        summary: 'Refuse logins, end every session of the account (SessionRevoked each)',
        security: bearer,
        parameters: [idParam],
        responses: {
          ...changed,
          404: errorResponse('account_not_found'),
          409: errorResponse('last_admin: the only active admin cannot disable itself'),
          ...adminOnly,
        },
      },
    },
    '/api/users/{id}/enable': {
      post: {
        summary: 'Allow logins again (no earlier session comes back)',
        security: bearer,
        parameters: [idParam],
        responses: { ...changed, 404: errorResponse('account_not_found'), ...adminOnly },
      },
    },
    '/api/users/{id}/unlock': {
      post: {
        summary:
          "Lift login locks of a name (AccountUnlocked / SourceUnlocked, audited): every lock, or only one address's",
        security: bearer,
        parameters: [idParam],
        requestBody: jsonRequestBody(
          UnlockBody,
          'no body, or {}: every lock of the name; source: only the lock of this client address',
        ),
        responses: { ...changed, 404: errorResponse('account_not_found'), ...adminOnly },
      },
    },
    '/api/users/{id}/reset-password': {
      post: {
        summary: 'Set a new password',
        security: bearer,
        parameters: [idParam],
        requestBody: jsonRequestBody(ResetBody),
        responses: {
          ...changed,
          400: errorResponse('weak_password'),
          404: errorResponse('account_not_found'),
          ...adminOnly,
        },
      },
    },
    '/api/secrets': {
      get: {
        summary: 'Secret names, kinds, key fingerprints; never values or ciphertext',
        security: bearer,
        responses: { 200: { description: 'Metadata' }, ...adminOnly },
      },
    },
    '/api/secrets/{name}': {
      put: {
        summary: 'Store a secret (Fernet ciphertext only, in events and read models)',
        security: bearer,
        parameters: [nameParam],
        requestBody: jsonRequestBody(PutBody),
        responses: {
          204: { description: 'Stored' },
          400: errorResponse('Bad input'),
          413: errorResponse('Too large'),
          ...adminOnly,
        },
      },
      delete: {
        summary: 'Delete a secret',
        security: bearer,
        parameters: [nameParam],
        responses: { 204: { description: 'Deleted' }, 404: errorResponse('Unknown secret'), ...adminOnly },
      },
    },
    '/api/llm/providers': {
      get: {
        summary:
          'The LLM provider chain in effective order: circuit state, calls, error rate and p50/p95 latency over the last 15 minutes, tokens and cost today, tokens and cost per day, the force override (admins and operators)',
        security: bearer,
        responses: {
          200: { description: '{providers, order, forced, windowMinutes, daily, now}' },
          ...adminOnly,
          403: errorResponse('Neither an admin nor an operator'),
        },
      },
    },
    '/api/llm/providers/force': {
      post: {
        summary: 'Put one provider first in the chain for 1-1440 minutes (admin, audited); it expires by itself',
        security: bearer,
        requestBody: jsonRequestBody(ForceBody),
        responses: {
          200: { description: '{provider, until}' },
          400: errorResponse('Unknown provider or bad duration (unknown_provider, validation_failed)'),
          ...adminOnly,
        },
      },
      delete: {
        summary: 'End the force override early (admin, audited); nothing forced is not an error',
        security: bearer,
        responses: { 204: { description: 'Ended (or nothing was forced)' }, ...adminOnly },
      },
    },
    '/api/llm/settings': {
      get: {
        summary: 'System prompt, model, temperature, token budgets, fallback text, rules-first, price table (admin)',
        security: bearer,
        responses: { 200: { description: '{settings, updatedAt, updatedBy, limits}' }, ...adminOnly },
      },
      put: {
        summary: 'Change some or all LLM settings (admin, audited: LlmSettingsChanged)',
        security: bearer,
        requestBody: jsonRequestBody(SettingsPatch),
        responses: { 200: { description: '{settings, changed}' }, 400: errorResponse('Bad input'), ...adminOnly },
      },
    },
    '/api/audit': {
      get: {
        summary:
          'The tamper-evident audit trail; JSON pages or NDJSON export (format=ndjson or Accept: application/x-ndjson)',
        security: bearer,
        parameters: queryParameters(AuditQuery),
        responses: {
          200: { description: '{entries, next_cursor} or NDJSON lines' },
          400: errorResponse('Bad query'),
          ...adminOnly,
        },
      },
    },
    ...eventPaths,
    ...runtimePaths,
    ...projectionPaths,
    ...privacyPaths,
    '/metrics': {
      get: {
        summary:
          'Prometheus text format; Authorization: Bearer METRICS_TOKEN, or loopback only when no token is set (or a separate METRICS_BIND address)',
        responses: {
          200: { description: 'Metrics' },
          401: errorResponse('Wrong metrics token'),
          404: errorResponse('Not exposed on this address'),
        },
      },
    },
    '/ws/metrics': {
      get: {
        summary:
          'WebSocket upgrade: live metrics. First message {"type":"auth","token":"<ws_token>"}; see docs/websocket.md for messages and close codes',
        responses: { 101: { description: 'Switching protocols' } },
      },
    },
  },
} as const;

export const openApiRoutes = (): Router => {
  const router = Router();
  router.get('/api/openapi.json', (_req, res) => {
    res.json(openApiDocument);
  });
  // A page of our own (interfaces/web/static/api-docs.*) that renders the document: no inline script,
  // so it works under the strict CSP, and nothing to keep in step with a third-party UI.
  router.get('/api/docs', (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile('api-docs.html', { root: WEB_STATIC_DIR, dotfiles: 'deny', lastModified: true }, (error) => {
      if (error) next(error);
    });
  });
  return router;
};
