import { ProjectionName, RebuildBody } from './projectionRoutes.js';
import { inputJsonSchema, jsonRequestBody } from '../shared/openapiSchema.js';

/** The read models' part of the OpenAPI document (interfaces/http/openapi.ts spreads it into paths). */
const error = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});
const bearer = [{ bearer: [] }];
const adminOnly = {
  401: error('No, malformed, expired, forged or revoked access token'),
  403: error('Not an admin'),
};

export const projectionPaths = {
  '/api/projections': {
    get: {
      summary:
        'Every read model: position, head, lag in events (no cap) and in ms, state (live, rebuilding with progress, failed with the error)',
      security: bearer,
      responses: {
        200: {
          description:
            '{projections: [{name, version, state, error, position, headPosition, lagEvents, lagMs, eventsApplied, lastEventAt, running, rebuild: null | {active, done, total, percent, startedAt, updatedAt, requestedBy, lastError}}]}',
        },
        ...adminOnly,
      },
    },
  },
  '/api/projections/{name}/rebuild': {
    post: {
      summary:
        'Blue/green rebuild of one read model, in the background: replayed into shadow tables while the live one keeps serving, then swapped in atomically; recorded as a ProjectionRebuildRequested event (audited). An interrupted rebuild resumes when asked again',
      security: bearer,
      parameters: [
        {
          name: 'name',
          in: 'path',
          required: true,
          description: 'projection name (GET /api/projections)',
          schema: inputJsonSchema(ProjectionName),
        },
      ],
      requestBody: jsonRequestBody(RebuildBody),
      responses: {
        202: { description: '{projection, state: "rebuilding", eventId}: follow it with GET /api/projections' },
        400: error('validation_failed: a malformed name or a non-empty body'),
        ...adminOnly,
        404: error('unknown_projection'),
        409: error('rebuild_in_progress: a rebuild of it runs here or in another process'),
      },
    },
  },
};
