// Why a connection is refused, as a close code, a reason text (part of the API, docs/websocket.md) and a
// sentence for people. The token itself never appears in any of them, nor in the log line.
import { WsTokenRejected } from '#application/identity/sessions.js';
import { DomainError, type ErrorKind } from '#domain/shared/event.js';
import { TokenError } from '#infrastructure/identity/jwt.js';
import { closeCodeOf } from '#interfaces/http/shared/errors.js';
import { CloseCode } from './messages.js';

export type Rejection = { closeCode: number; reason: string; message: string };

const reject = (closeCode: number, reason: string, message: string): Rejection => ({ closeCode, reason, message });
// Refusals close with the code the one error map gives their kind (interfaces/http/shared/errors.ts).
const refuse = (kind: ErrorKind, reason: string, message: string): Rejection =>
  reject(closeCodeOf(kind), reason, message);

const RENEW = 'Request a new one from POST /api/auth/ws-token.';

const TOKEN_REJECTIONS: Record<string, Rejection> = {
  missing: refuse('unauthorized', 'token_missing', `The auth message carries no token. ${RENEW}`),
  malformed: refuse('unauthorized', 'token_malformed', `The token is not a well-formed ws token. ${RENEW}`),
  expired: refuse('unauthorized', 'token_expired', `The ws token has expired. ${RENEW}`),
  invalid_signature: refuse('unauthorized', 'token_invalid_signature', 'The token signature is not valid.'),
  wrong_type: refuse(
    'unauthorized',
    'token_wrong_type',
    `Only a ws token is accepted here, not an access or refresh token. ${RENEW}`,
  ),
  wrong_issuer: refuse('unauthorized', 'token_invalid', 'The token was not issued by this server.'),
  wrong_audience: refuse('unauthorized', 'token_invalid', 'The token is not meant for this API.'),
  wrong_scope: refuse('forbidden', 'token_wrong_scope', 'The ws token does not carry the metrics:read scope.'),
  already_used: refuse('unauthorized', 'token_already_used', `A ws token works once. ${RENEW}`),
  revoked: refuse('unauthorized', 'token_revoked', 'The session behind this token has been revoked.'),
  unknown: refuse('unauthorized', 'token_unknown', `This ws token was never issued. ${RENEW}`),
};

export const Rejections = {
  tokenInQuery: refuse(
    'validation',
    'token_in_query',
    'Tokens are never accepted in the URL (it ends up in logs and history); send {"type":"auth","token":...} as the first message.',
  ),
  malformedMessage: refuse(
    'validation',
    'malformed_message',
    'The first message must be the JSON text {"type":"auth","token":"<ws token>"}.',
  ),
  unexpectedMessage: refuse(
    'validation',
    'unexpected_message',
    'After authentication the server only sends; client messages are not part of the protocol.',
  ),
  authTimeout: reject(CloseCode.authTimeout, 'auth_timeout', 'No auth message arrived in time.'),
  tooManyForUser: refuse(
    'rate_limited',
    'too_many_connections_user',
    'This account has too many live connections open; close one first.',
  ),
  tooManyForIp: refuse('rate_limited', 'too_many_connections_ip', 'Too many live connections from this address.'),
  tooMany: refuse(
    'rate_limited',
    'too_many_connections',
    'The server has reached its connection limit; try again later.',
  ),
  internal: refuse('internal', 'internal_error', 'The server could not check the token; try again.'),
} as const;

/**
 * The rejection for an error thrown by consumeWsToken: a token problem by its reason, any other refusal
 * by its kind; null for an unexpected error (logged, then closed as internal).
 */
export const tokenRejection = (error: unknown): Rejection | null => {
  if (error instanceof WsTokenRejected || error instanceof TokenError)
    return TOKEN_REJECTIONS[error.reason] ?? TOKEN_REJECTIONS.malformed!;
  if (error instanceof DomainError && error.kind !== 'internal') return refuse(error.kind, error.code, error.message);
  return null;
};
