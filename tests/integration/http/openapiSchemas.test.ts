// The OpenAPI document's request bodies and query parameters are generated from the zod schemas the
// routes validate with (interfaces/http/shared/openapiSchema.ts), never typed by hand: for every
// documented body and query parameter, the document's schema is z.toJSONSchema of that zod schema.
import { expect } from 'chai';
import { z } from 'zod';
import { Query as AuditQuery } from '#interfaces/http/audit/auditRoutes.js';
import {
  EventQueryParams,
  Query as EventsQuery,
  StateQuery,
  StreamQuery,
} from '#interfaces/http/events/eventRoutes.js';
import { LoginBody, RefreshBody } from '#interfaces/http/identity/authRoutes.js';
import { CreateBody, ResetBody, RoleBody, UnlockBody } from '#interfaces/http/identity/usersRoutes.js';
import { ForceBody, SettingsPatch } from '#interfaces/http/llm/llmRoutes.js';
import { ChatsQuery, MessagesQuery, SendBody, SimulatorBody } from '#interfaces/http/messaging/messagingRoutes.js';
import { AddBody } from '#interfaces/http/messaging/numbersRoutes.js';
import { openApiDocument } from '#interfaces/http/openapi.js';
import { PutBody } from '#interfaces/http/secrets/secretsRoutes.js';
import { zodSchemaOf } from '#interfaces/http/shared/openapiSchema.js';

type Operation = {
  requestBody?: { required?: boolean; content: Record<string, { schema: unknown }> };
  parameters?: Array<{ name: string; in: string; required?: boolean; schema: unknown }>;
};

/** The JSON schema zod gives for what a client may send, as the convention says (io: 'input'). */
const expected = (schema: z.ZodType) => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input' });
  return rest;
};

const operations = (): Array<[string, Operation]> =>
  Object.entries(openApiDocument.paths as unknown as Record<string, Record<string, Operation>>).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]): [string, Operation] => [`${method.toUpperCase()} ${path}`, op]),
  );

/**
 * Not validated by zod on purpose: a signed webhook's raw bytes and the verification handshake's
 * hub.* parameters are Meta's formats, checked by interfaces/http/channels/cloudWebhookRoutes.ts itself.
 */
const NOT_ZOD_BODIES = new Set(['POST /webhooks/whatsapp']);
const NOT_ZOD_QUERIES = new Set(['GET /webhooks/whatsapp']);

/** The schema each route parses its body or query with (exported by the route file). */
const ROUTE_BODIES: Record<string, z.ZodType> = {
  'POST /api/auth/login': LoginBody,
  'POST /api/auth/refresh': RefreshBody,
  'POST /api/users': CreateBody,
  'PATCH /api/users/{id}': RoleBody,
  'POST /api/users/{id}/unlock': UnlockBody,
  'POST /api/users/{id}/reset-password': ResetBody,
  'PUT /api/secrets/{name}': PutBody,
  'POST /api/llm/providers/force': ForceBody,
  'PUT /api/llm/settings': SettingsPatch,
  'POST /api/numbers': AddBody,
  'POST /api/simulator/messages': SimulatorBody,
  'POST /api/whatsapp/send': SendBody,
};
const ROUTE_QUERIES: Record<string, z.ZodType> = {
  'GET /api/audit': AuditQuery,
  'GET /api/events': EventsQuery,
  'GET /api/events/{eventId}': EventQueryParams,
  'GET /api/streams/{streamId}': StreamQuery,
  'GET /api/streams/{streamId}/state': StateQuery,
  'GET /api/chats': ChatsQuery,
  'GET /api/chats/{chatId}/messages': MessagesQuery,
};

describe('OpenAPI request schemas come from the routes’ zod schemas', () => {
  it('every documented JSON request body is the JSON schema of a zod schema, required exactly when the schema needs a body', () => {
    const handTyped: string[] = [];
    for (const [operation, op] of operations()) {
      if (!op.requestBody || NOT_ZOD_BODIES.has(operation)) continue;
      const documented = op.requestBody.content['application/json']?.schema;
      const zodSchema = zodSchemaOf(documented);
      if (zodSchema === undefined) {
        handTyped.push(operation);
        continue;
      }
      expect(documented, operation).to.deep.equal(expected(zodSchema));
      expect(op.requestBody.required, `${operation}: required`).to.equal(!zodSchema.safeParse(undefined).success);
    }
    expect(handTyped, 'request bodies typed by hand: use jsonRequestBody(<the route’s zod schema>)').to.deep.equal([]);
  });

  it('every documented query parameter is the JSON schema of the field of a zod schema, required as the schema says', () => {
    const handTyped: string[] = [];
    for (const [operation, op] of operations()) {
      for (const parameter of op.parameters ?? []) {
        if (parameter.in !== 'query' || NOT_ZOD_QUERIES.has(operation)) continue;
        const field = zodSchemaOf(parameter.schema);
        if (field === undefined) {
          handTyped.push(`${operation} ?${parameter.name}`);
          continue;
        }
        // the field's description, if any, is the parameter's (OpenAPI puts prose beside the schema)
        const { description: _prose, ...fieldSchema } = expected(field);
        expect(parameter.schema, `${operation} ?${parameter.name}`).to.deep.equal(fieldSchema);
        expect(parameter.required, `${operation} ?${parameter.name}: required`).to.equal(
          !field.safeParse(undefined).success,
        );
      }
    }
    expect(handTyped, 'query parameters typed by hand: use queryParameters(<the route’s zod schema>)').to.deep.equal(
      [],
    );
  });

  it('each route’s body and query are documented with the very schema the route parses them with', () => {
    const byOperation = new Map(operations());
    for (const [operation, schema] of Object.entries(ROUTE_BODIES)) {
      const op = byOperation.get(operation);
      expect(op, operation).to.not.equal(undefined);
      expect(zodSchemaOf(op!.requestBody?.content['application/json']?.schema), operation).to.equal(schema);
    }
    for (const [operation, schema] of Object.entries(ROUTE_QUERIES)) {
      const op = byOperation.get(operation);
      expect(op, operation).to.not.equal(undefined);
      const documented = (op!.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      const properties = Object.keys((expected(schema) as { properties?: object }).properties ?? {});
      expect(documented, operation).to.deep.equal(properties);
    }
  });

  it('a body the document calls invalid is refused by the route’s schema, and a valid one accepted', () => {
    // One concrete pair per kind of constraint the document carries over (length, enum, additionalProperties).
    expect(LoginBody.safeParse({ username: 'a', password: 'b' }).success).to.equal(true);
    expect(LoginBody.safeParse({ username: 'a', password: 'b', extra: 1 }).success).to.equal(false);
    const login = expected(LoginBody) as { additionalProperties?: boolean };
    expect(login.additionalProperties).to.equal(false);
    const create = expected(CreateBody) as unknown as { properties: { role: { enum: string[] } } };
    for (const role of create.properties.role.enum)
      expect(CreateBody.safeParse({ username: 'someone', password: 'password-one-1', role }).success, role).to.equal(
        true,
      );
    expect(CreateBody.safeParse({ username: 'someone', password: 'password-one-1', role: 'root' }).success).to.equal(
      false,
    );
  });
});
