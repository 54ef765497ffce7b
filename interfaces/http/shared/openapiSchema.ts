import { z } from 'zod';

/**
 * OpenAPI pieces generated from the zod schemas the routes validate with, so that the document cannot
 * drift from validation: the JSON Schema (2020-12, what OpenAPI 3.1 uses) of what a client may send
 * (`io: 'input'`: before defaults and transforms), without the `$schema` line.
 */
export const inputJsonSchema = (schema: z.ZodType): Record<string, unknown> => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' });
  generatedFrom.set(rest, schema);
  return rest;
};

/**
 * Which zod schema each generated JSON schema object came from, so a test can tell a generated request
 * body or query parameter from one typed by hand (tests/integration/http/openapiSchemas.test.ts).
 */
const generatedFrom = new WeakMap<object, z.ZodType>();
export const zodSchemaOf = (jsonSchema: unknown): z.ZodType | undefined =>
  typeof jsonSchema === 'object' && jsonSchema !== null ? generatedFrom.get(jsonSchema) : undefined;

/** A JSON request body validated by `schema`; required unless the schema accepts no body at all. */
export const jsonRequestBody = (schema: z.ZodType, description?: string) => ({
  required: !schema.safeParse(undefined).success,
  ...(description === undefined ? {} : { description }),
  content: { 'application/json': { schema: inputJsonSchema(schema) } },
});

type JsonObjectSchema = { properties?: Record<string, Record<string, unknown>>; required?: string[] };

/**
 * One `in: query` parameter per property of the object schema the route parses `req.query` with; the
 * schemas come from zod, the prose (`descriptions`, by parameter name) is the document's own.
 */
export const queryParameters = (schema: z.ZodType, descriptions: Readonly<Record<string, string>> = {}) => {
  const json = inputJsonSchema(schema) as JsonObjectSchema;
  const required = new Set(json.required ?? []);
  return Object.entries(json.properties ?? {}).map(([name, property]) => {
    const { description, ...rest } = property as { description?: string };
    const text = descriptions[name] ?? description;
    const field = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape?.[name];
    if (field !== undefined) generatedFrom.set(rest, field);
    return {
      name,
      in: 'query' as const,
      required: required.has(name),
      ...(text === undefined ? {} : { description: text }),
      schema: rest,
    };
  });
};
