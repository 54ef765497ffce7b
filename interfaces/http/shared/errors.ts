import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'winston';
import { AppError } from '#application/shared/errors.js';
import { DomainError, type ErrorKind } from '#domain/shared/event.js';
import { currentContext } from '#infrastructure/logging/context.js';
import { isDependencyUnavailable } from './unavailable.js';

/** The one error shape of the API: {"error":{"code","message","correlationId"[,"details"]}}. */
export const errorBody = (code: string, message: string, details?: Record<string, unknown>) => ({
  error: { code, message, correlationId: currentContext()?.correlationId ?? null, ...(details ? { details } : {}) },
});

type BodyParserError = Error & { type?: string; status?: number; expose?: boolean };

const bodyParserErrors: Record<string, [number, string, string]> = {
  'entity.parse.failed': [400, 'malformed_json', 'The request body is not valid JSON.'],
  'entity.too.large': [413, 'payload_too_large', 'The request body is larger than the server accepts.'],
  'encoding.unsupported': [415, 'unsupported_encoding', 'The request body encoding is not supported.'],
  'charset.unsupported': [415, 'unsupported_charset', 'The request body charset is not supported.'],
  'request.aborted': [400, 'request_aborted', 'The request was aborted by the client.'],
  'request.size.invalid': [400, 'request_size_invalid', 'The request body size does not match Content-Length.'],
  'stream.encoding.set': [500, 'internal_error', 'Internal server error.'],
};

/** The one map from an error's kind to its HTTP status. */
export const STATUS_BY_KIND: Readonly<Record<ErrorKind, number>> = {
  validation: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  precondition_failed: 412,
  too_large: 413,
  unprocessable: 422,
  locked: 423,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

/**
 * The same map for WebSocket close codes: a refusal closes with 4000 + its HTTP status (4400, 4401,
 * 4403, 4429...), the private-use range the API documents; an internal error with 1011 and an
 * unavailable dependency with 1013 (try again later), the protocol's own codes.
 */
export const closeCodeOf = (kind: ErrorKind): number =>
  kind === 'internal' ? 1011 : kind === 'unavailable' ? 1013 : 4000 + STATUS_BY_KIND[kind];

export const notFoundHandler: RequestHandler = (req, res) => {
  res.status(404).json(errorBody('not_found', `No route for ${req.method} ${req.path}.`));
};

/** Maps every error to the JSON shape; unknown errors are 500 with no stack or internals in the body. */
export const errorHandler =
  (logger: Logger): ErrorRequestHandler =>
  (error: unknown, req, res, _next) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error instanceof AppError) {
      if (error.headers) res.set(error.headers);
      res.status(error.status).json(errorBody(error.code, error.message, error.details));
      return;
    }
    if (error instanceof DomainError && error.kind !== 'internal') {
      res.status(STATUS_BY_KIND[error.kind]).json(errorBody(error.code, error.message, error.details));
      return;
    }
    const parserError = error as BodyParserError;
    const known = parserError.type ? bodyParserErrors[parserError.type] : undefined;
    if (known) {
      res.status(known[0]).json(errorBody(known[1], known[2]));
      return;
    }
    if (
      typeof parserError.status === 'number' &&
      parserError.status >= 400 &&
      parserError.status < 500 &&
      parserError.expose
    ) {
      res.status(parserError.status).json(errorBody('bad_request', parserError.message));
      return;
    }
    if (isDependencyUnavailable(error)) {
      // A command appends in one transaction: nothing is half-written; the client can retry.
      logger.error('dependency unavailable', { error, method: req.method, path: req.path });
      res
        .status(503)
        .set('Retry-After', '5')
        .json(
          errorBody('service_unavailable', 'A dependency (database or event store) is unavailable; try again shortly.'),
        );
      return;
    }
    logger.error('unhandled error', { error, method: req.method, path: req.path });
    res.status(500).json(errorBody('internal_error', 'Internal server error.'));
  };
