import { hash } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { Authenticator } from '#application/identity/sessions.js';
import type { AccessClaims, Principal, TokenIssuer } from '#application/identity/ports.js';
import type { Clock } from '#application/shared/runtime.js';
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

/** Verified access tokens remembered per process at most; the oldest go first. */
const VERIFIED_MAX = 10_000;

type VerifiedTokens = { claims(token: string | null): AccessClaims };

/**
 * A cache of verified access tokens, keyed by the SHA-256 of the token (the token itself is not kept),
 * until the token's expiry by the runtime's clock. A hit skips the signature check and the claim
 * checks, which depend on nothing but the token and the time; whether its session is still active is
 * not cached: the session allowlist is asked on every request, so a revocation is as immediate as
 * without the cache. Without a clock (an authenticator without runtime) every request verifies.
 */
const verifiedTokens = (tokens: TokenIssuer, clock: Clock | undefined): VerifiedTokens => {
  if (clock === undefined) return { claims: (token) => tokens.verify(token, 'access') };
  const verified = new Map<string, AccessClaims>();
  return {
    claims(token) {
      if (token === null || token.length === 0 || token.length > 4096) return tokens.verify(token, 'access');
      const key = hash('sha256', token, 'base64');
      const nowSeconds = Math.floor(clock().getTime() / 1000);
      const hit = verified.get(key);
      // Within [iat, exp): what verify would accept (it tolerates no clock skew on exp).
      if (hit !== undefined && nowSeconds >= hit.issuedAt && nowSeconds < hit.expiresAt) return hit;
      if (hit !== undefined) verified.delete(key);
      const claims = tokens.verify(token, 'access');
      if (verified.size >= VERIFIED_MAX) {
        for (const [k, c] of verified) if (c.expiresAt <= nowSeconds) verified.delete(k);
        if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
      }
      verified.set(key, Object.freeze(claims));
      return claims;
    },
  };
};

/** One cache per token service, shared by every requireAuth built on it. */
const caches = new WeakMap<TokenIssuer, VerifiedTokens>();
const verifiedTokensOf = (deps: Authenticator): VerifiedTokens => {
  let cache = caches.get(deps.tokens);
  if (cache === undefined) {
    const runtime = (deps as { runtime?: { clock?: Clock } }).runtime;
    cache = verifiedTokens(deps.tokens, runtime?.clock);
    caches.set(deps.tokens, cache);
  }
  return cache;
};

/**
 * Requires a valid access token of an active session (the session allowlist, asked on every
 * request), and one of `roles` when given: the account's role as it is now, never the one it had
 * when the token was issued. What application/identity/sessions.ts `authenticate` does, with the
 * token's verification remembered until its expiry.
 */
export const requireAuth = (deps: Authenticator, ...roles: Role[]): RequestHandler => {
  const verified = verifiedTokensOf(deps);
  const authenticate = (token: string | null): Promise<Principal> => {
    let claims: AccessClaims;
    try {
      claims = verified.claims(token);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return deps.sessions.check(claims);
  };
  return (req, _res, next) => {
    authenticate(bearerToken(req)).then(
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
};
