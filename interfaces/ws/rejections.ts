// Why a connection is refused, as a close code, a reason text (part of the API, docs/websocket.md) and a
// sentence for people. The token itself never appears in any of them, nor in the log line.
import { AppError } from '#application/shared/errors.js';
import { WsTokenAlreadyUsed, WsTokenExpired, WsTokenNotFound } from '#domain/identity/errors.js';
import { DomainError } from '#domain/shared/event.js';
import { TokenError } from '#infrastructure/identity/jwt.js';
import { CloseCode } from './messages.js';

export type Rejection = { closeCode: number; reason: string; message: string };

const reject = (closeCode: number, reason: string, message: string): Rejection => ({ closeCode, reason, message });

const RENEW = 'Request a new one from POST /api/auth/ws-token.';

const TOKEN_REJECTIONS: Record<string, Rejection> = {
  missing: reject(CloseCode.unauthorized, 'token_missing', `The auth message carries no token. ${RENEW}`),
  malformed: reject(CloseCode.unauthorized, 'token_malformed', `The token is not a well-formed ws token. ${RENEW}`),
  expired: reject(CloseCode.unauthorized, 'token_expired', `The ws token has expired. ${RENEW}`),
  invalid_signature: reject(CloseCode.unauthorized, 'token_invalid_signature', 'The token signature is not valid.'),
  wrong_type: reject(
    CloseCode.unauthorized,
    'token_wrong_type',
    `Only a ws token is accepted here, not an access or refresh token. ${RENEW}`,
  ),
  wrong_issuer: reject(CloseCode.unauthorized, 'token_invalid', 'The token was not issued by this server.'),
  wrong_audience: reject(CloseCode.unauthorized, 'token_invalid', 'The token is not meant for this API.'),
  wrong_scope: reject(CloseCode.forbidden, 'token_wrong_scope', 'The ws token does not carry the metrics:read scope.'),
  already_used: reject(CloseCode.unauthorized, 'token_already_used', `A ws token works once. ${RENEW}`),
  revoked: reject(CloseCode.unauthorized, 'token_revoked', 'The session behind this token has been revoked.'),
  unknown: reject(CloseCode.unauthorized, 'token_unknown', `This ws token was never issued. ${RENEW}`),
};

export const Rejections = {
  tokenInQuery: reject(
    CloseCode.badRequest,
    'token_in_query',
    'Tokens are never accepted in the URL (it ends up in logs and history); send {"type":"auth","token":...} as the first message.',
  ),
  malformedMessage: reject(
    CloseCode.badRequest,
    'malformed_message',
    'The first message must be the JSON text {"type":"auth","token":"<ws token>"}.',
  ),
  unexpectedMessage: reject(
    CloseCode.badRequest,
    'unexpected_message',
    'After authentication the server only sends; client messages are not part of the protocol.',
  ),
  authTimeout: reject(CloseCode.authTimeout, 'auth_timeout', 'No auth message arrived in time.'),
  tooManyForUser: reject(
    CloseCode.tooManyConnections,
    'too_many_connections_user',
    'This account has too many live connections open; close one first.',
  ),
  tooManyForIp: reject(
    CloseCode.tooManyConnections,
    'too_many_connections_ip',
    'Too many live connections from this address.',
  ),
  tooMany: reject(
    CloseCode.tooManyConnections,
    'too_many_connections',
    'The server has reached its connection limit; try again later.',
  ),
  internal: reject(CloseCode.internalError, 'internal_error', 'The server could not check the token; try again.'),
} as const;

/** The rejection for an error thrown by consumeWsToken, or null when it is not a token problem. */
export const tokenRejection = (error: unknown): Rejection | null => {
  if (error instanceof TokenError) return TOKEN_REJECTIONS[error.reason] ?? TOKEN_REJECTIONS.malformed!;
  if (error instanceof WsTokenAlreadyUsed) return TOKEN_REJECTIONS.already_used!;
  if (error instanceof WsTokenExpired) return TOKEN_REJECTIONS.expired!;
  if (error instanceof WsTokenNotFound) return TOKEN_REJECTIONS.unknown!;
  // the session behind the token has ended (allowlist), or its stream refuses it
  if (
    (error instanceof AppError && error.status === 401) ||
    (error instanceof DomainError && error.kind === 'unauthorized')
  )
    return TOKEN_REJECTIONS.revoked!;
  return null;
};
