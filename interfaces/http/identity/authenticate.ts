import type { Request, RequestHandler } from 'express';
import { authenticate, type Authenticator } from '#application/identity/sessions.js';
import type { Principal } from '#application/identity/ports.js';
import { ForbiddenError, UnauthorizedError } from '#application/shared/errors.js';
import type { Role } from '#domain/identity/events.js';
import { runWithContextPatch } from '#infrastructure/logging/context.js';

/** The token reasons the API names; the token and the secret never appear in a response or a log. */
const TOKEN_ERRORS: Record<string, [string, string]> = {
  missing: ['token_missing', 'An Authorization: Bearer <access token> header is required.'],
  malformed: ['token_malformed', 'The bearer token is malformed.'],
  expired: ['token_expired', 'The token has expired; refresh it or log in again.'],
  invalid_signature: ['token_invalid_signature', 'The token signature is not valid.'],
  wrong_type: ['token_wrong_type', 'This kind of token is not accepted here.'],
  wrong_issuer: ['token_invalid', 'The token was not issued by this server.'],
  wrong_audience: ['token_invalid', 'The token is not meant for this API.'],
  wrong_scope: ['token_wrong_scope', 'The token does not carry the required scope.'],
  revoked: ['token_revoked', 'The session of this token has been revoked.'],
};

/** Maps a TokenError (infrastructure/identity/jwt.ts) to a 401; passes anything else through. */
export const toHttpTokenError = (error: unknown): unknown => {
  const e = error as { code?: string; reason?: string };
  if (e?.code === 'invalid_token' && typeof e.reason === 'string') {
    const [code, message] = TOKEN_ERRORS[e.reason] ?? ['token_invalid', 'The token is not valid.'];
    return new UnauthorizedError(code, message);
  }
  return error;
};

export const bearerToken = (req: Request): string | null => {
  const header = req.get('authorization');
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  // A header that is there but not a bearer credential is malformed, not missing.
  return match ? match[1]! : '\u0000malformed';
};

export type AuthenticatedRequest = Request & { auth: Principal };

export const authOf = (req: Request): Principal => {
  const auth = (req as Partial<AuthenticatedRequest>).auth;
  if (!auth) throw new UnauthorizedError('token_missing', 'Authentication required.');
  return auth;
};

/**
 * Requires a valid access token of an active session (the session allowlist), and one of `roles`
 * when given: the account's role as it is now, never the one it had when the token was issued.
 */
export const requireAuth =
  (deps: Authenticator, ...roles: Role[]): RequestHandler =>
  (req, _res, next) => {
    authenticate(deps, bearerToken(req)).then(
      (principal) => {
        if (roles.length > 0 && !roles.includes(principal.role)) {
          next(new ForbiddenError(`This action needs the role ${roles.join(' or ')}.`));
          return;
        }
        (req as AuthenticatedRequest).auth = principal;
        runWithContextPatch({ actor: principal.accountId }, () => next());
      },
      (error: unknown) => next(toHttpTokenError(error)),
    );
  };
