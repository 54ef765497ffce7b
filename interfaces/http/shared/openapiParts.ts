/**
 * The pieces every context's OpenAPI paths are built from (interfaces/http/openapi.ts and the per-context
 * files spread into it): the error response, JSON content, the bearer security requirement, the 401/403
 * answers by role, and the path parameters that name an id. Request bodies and queries come from zod
 * (./openapiSchema.ts), never from here.
 */

/** A response whose body is the stable error shape {"error":{"code","message","correlationId"}}. */
export const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

/** `content` of a JSON response with this schema. */
export const jsonContent = (schema: Record<string, unknown>) => ({ 'application/json': { schema } });

/** `security` of an operation that needs an access token (Authorization: Bearer). */
export const bearer = [{ bearer: [] }];

/** Any signed-in user. */
export const signedIn = { 401: errorResponse('No, malformed, expired, forged or revoked access token') };
/** Admins only. */
export const adminOnly = { ...signedIn, 403: errorResponse('Needs the role admin') };
/** Admins and operators. */
export const staffOnly = { ...signedIn, 403: errorResponse('Needs the role admin or operator') };

/** A required path parameter (a plain string unless told). */
export const pathParameter = (
  name: string,
  { description, schema = { type: 'string' } }: { description?: string; schema?: Record<string, unknown> } = {},
) => ({
  name,
  in: 'path' as const,
  required: true,
  ...(description === undefined ? {} : { description }),
  schema,
});

/** A path parameter holding a UUID (`id` unless told). */
export const uuidPathParameter = (name = 'id') => pathParameter(name, { schema: { type: 'string', format: 'uuid' } });

/** The `{id}` of /api/numbers/{id}/…: a number id. */
export const numberIdParameter = pathParameter('id', {
  schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,31}$' },
});
