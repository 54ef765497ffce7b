import { createSecretKey, randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { JwtPayload } from 'jsonwebtoken';
import { WS_SCOPES } from '#domain/identity/events.js';
import type { WsScope } from '#domain/identity/events.js';

/**
 * Access, refresh and WebSocket tokens: HS256 JWTs told apart by their `typ` header (RFC 9068's
 * `at+jwt` style), so one kind can never stand in for another even though all share key, issuer
 * and audience. jsonwebtoken checks signature, algorithm, issuer, audience and a present `exp`;
 * what it leaves out (a REQUIRED `exp`, the `typ` header, claim shapes) is checked here.
 */

export type TokenType = 'access' | 'refresh' | 'ws';

const TYP: Readonly<Record<TokenType, string>> = { access: 'at+jwt', refresh: 'rt+jwt', ws: 'ws+jwt' };
const ALGORITHM = 'HS256';
/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash output. */
export const MIN_SECRET_BYTES = 32;

export type TokenErrorReason =
  | 'missing'
  | 'malformed'
  | 'expired'
  | 'invalid_signature'
  | 'wrong_type'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'revoked'
  | 'wrong_scope';

/** 401. The message names the token kind and the reason, never the token or the secret. */
export class TokenError extends Error {
  readonly code = 'invalid_token';
  constructor(
    readonly reason: TokenErrorReason,
    readonly expectedType?: TokenType,
  ) {
    super(`${expectedType ?? 'token'}${expectedType ? ' token' : ''} rejected: ${reason}`);
    this.name = 'TokenError';
  }
}

/** Bad service configuration: thrown at startup, never per request. */
export class TokenConfigError extends Error {
  readonly code = 'token_config_invalid';
  constructor(problem: string) {
    super(`token service: ${problem}`);
    this.name = 'TokenConfigError';
  }
}

type Common = Readonly<{ accountId: string; jti: string; issuedAt: number; expiresAt: number }>;
/** times are epoch seconds, as in the JWT */
/** No role or name in an access token: the role is read from the account's current state on every request. */
export type AccessClaims = Common & Readonly<{ type: 'access'; sessionId: string }>;
export type RefreshClaims = Common & Readonly<{ type: 'refresh'; sessionId: string }>;
export type WsClaims = Common & Readonly<{ type: 'ws'; sessionId: string; scope: WsScope }>;
export type ClaimsOf = { access: AccessClaims; refresh: RefreshClaims; ws: WsClaims };

export type IssuedToken = Readonly<{
  token: string;
  jti: string;
  /** seconds */
  expiresIn: number;
  /** ISO-8601 */
  expiresAt: string;
}>;

export type TokenServiceConfig = Readonly<{
  secret: string;
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  wsTtlSeconds: number;
  /** epoch milliseconds; tests move time with it */
  now?: () => number;
  /** skew allowed between processes on expiry, default 0 */
  clockToleranceSeconds?: number;
  /** how far in the future an `iat` may be (clock skew between processes), default 30 s */
  maxIssuedAtSkewSeconds?: number;
  /** ids (sub, sid, jti); production ids are random UUIDs */
  newId?: () => string;
}>;

export type TokenService = {
  issueAccessToken(input: { accountId: string; sessionId: string }): IssuedToken;
  /** tokenId is the jti; the session stream (domain/identity/session.ts) tracks which one is current */
  issueRefreshToken(input: { accountId: string; sessionId: string; tokenId: string }): IssuedToken;
  issueWsToken(input: { accountId: string; sessionId: string; scope: WsScope }): IssuedToken;
  /** throws TokenError; `scope` additionally pins a ws token's scope */
  verify<T extends TokenType>(
    token: string | null | undefined,
    expectedType: T,
    options?: { scope?: WsScope },
  ): ClaimsOf[T];
};

const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Every id we put in a token (account, session, token) is a UUID: anything else was not issued here. */
const id = (v: unknown): v is string => typeof v === 'string' && UUID.test(v);

/** Three parts, JSON header and payload: anything else is malformed, whatever jsonwebtoken would call it. */
const isDecodable = (token: string): boolean => {
  if (token.split('.').length !== 3) return false;
  try {
    const decoded = jwt.decode(token, { complete: true });
    return decoded !== null && typeof decoded.payload === 'object';
  } catch (_error) {
    return false;
  }
};

/** jsonwebtoken's error classes, mapped to our reasons; anything unknown counts as a bad signature. */
const reasonOf = (error: unknown): TokenErrorReason => {
  if (error instanceof jwt.TokenExpiredError) return 'expired';
  if (error instanceof jwt.NotBeforeError) return 'malformed'; // we never issue nbf
  if (error instanceof jwt.JsonWebTokenError) {
    if (error.message.startsWith('jwt audience invalid')) return 'wrong_audience';
    if (error.message.startsWith('jwt issuer invalid')) return 'wrong_issuer';
    if (
      error.message === 'jwt malformed' ||
      error.message === 'invalid token' ||
      /^invalid (exp|nbf) value$/.test(error.message)
    )
      return 'malformed';
  }
  return 'invalid_signature';
};

export const createTokenService = (config: TokenServiceConfig): TokenService => {
  if (Buffer.byteLength(config.secret ?? '', 'utf8') < MIN_SECRET_BYTES)
    throw new TokenConfigError(`the secret must be at least ${MIN_SECRET_BYTES} bytes`);
  for (const name of ['accessTtlSeconds', 'refreshTtlSeconds', 'wsTtlSeconds'] as const) {
    if (!Number.isInteger(config[name]) || config[name] <= 0)
      throw new TokenConfigError(`${name} must be a positive integer`);
  }
  if (!str(config.issuer) || !str(config.audience)) throw new TokenConfigError('issuer and audience are required');

  // A KeyObject, not the raw string: jsonwebtoken would otherwise first try to parse it as a PEM public key.
  const key: KeyObject = createSecretKey(Buffer.from(config.secret, 'utf8'));
  const now = config.now ?? Date.now;
  const newId = config.newId ?? randomUUID;
  const tolerance = config.clockToleranceSeconds ?? 0;
  const maxSkew = config.maxIssuedAtSkewSeconds ?? 30;
  const ttlOf: Readonly<Record<TokenType, number>> = {
    access: config.accessTtlSeconds,
    refresh: config.refreshTtlSeconds,
    ws: config.wsTtlSeconds,
  };

  const sign = (type: TokenType, ttl: number, jti: string, claims: Record<string, unknown>): IssuedToken => {
    const iat = Math.floor(now() / 1000);
    const exp = iat + ttl;
    // iat and exp are set explicitly so the injected clock, not jsonwebtoken's Date.now, decides them.
    const payload = { ...claims, iss: config.issuer, aud: config.audience, jti, iat, exp };
    const token = jwt.sign(payload, key, { algorithm: ALGORITHM, header: { alg: ALGORITHM, typ: TYP[type] } });
    return { token, jti, expiresIn: ttl, expiresAt: new Date(exp * 1000).toISOString() };
  };

  const verifySigned = (token: string | null | undefined, type: TokenType): { typ: unknown; payload: JwtPayload } => {
    if (token === null || token === undefined || token === '') throw new TokenError('missing', type);
    if (typeof token !== 'string' || !isDecodable(token)) throw new TokenError('malformed', type);
    let decoded: jwt.Jwt;
    try {
      decoded = jwt.verify(token, key, {
        algorithms: [ALGORITHM],
        issuer: config.issuer,
        audience: config.audience,
        clockTimestamp: Math.floor(now() / 1000),
        clockTolerance: tolerance,
        complete: true,
      });
    } catch (error) {
      throw new TokenError(reasonOf(error), type);
    }
    if (typeof decoded.payload !== 'object') throw new TokenError('malformed', type);
    return { typ: decoded.header.typ, payload: decoded.payload };
  };

  return {
    issueAccessToken: ({ accountId, sessionId }) =>
      sign('access', config.accessTtlSeconds, newId(), { sub: accountId, sid: sessionId }),

    issueRefreshToken: ({ accountId, sessionId, tokenId }) =>
      sign('refresh', config.refreshTtlSeconds, tokenId, { sub: accountId, sid: sessionId }),

    issueWsToken: ({ accountId, sessionId, scope }) =>
      sign('ws', config.wsTtlSeconds, newId(), { sub: accountId, sid: sessionId, scope }),

    verify<T extends TokenType>(
      token: string | null | undefined,
      expectedType: T,
      options: { scope?: WsScope } = {},
    ): ClaimsOf[T] {
      const { typ, payload: p } = verifySigned(token, expectedType);
      // jsonwebtoken only checks exp when present; a token without one would never expire.
      if (typeof p.exp !== 'number') throw new TokenError('malformed', expectedType);
      if (typ !== TYP[expectedType]) throw new TokenError('wrong_type', expectedType);
      const bad = () => new TokenError('malformed', expectedType);
      if (!id(p.sub) || !id(p.jti) || !id(p.sid) || typeof p.iat !== 'number' || !Number.isInteger(p.iat)) throw bad();
      // A token from the future, or living longer than this server ever issues, was not minted here
      // (or with a clock gone wrong): both would outlive what the configuration promises.
      if (p.iat > Math.floor(now() / 1000) + maxSkew || p.exp - p.iat > ttlOf[expectedType]) throw bad();
      const common = { accountId: p.sub, jti: p.jti, issuedAt: p.iat, expiresAt: p.exp, sessionId: p.sid };
      const claims: AccessClaims | RefreshClaims | WsClaims = (() => {
        const type: TokenType = expectedType;
        switch (type) {
          case 'access':
            return { ...common, type };
          case 'refresh':
            return { ...common, type };
          case 'ws': {
            const { scope } = p as Record<string, unknown>;
            if (!WS_SCOPES.includes(scope as WsScope) || (options.scope !== undefined && scope !== options.scope)) {
              throw new TokenError('wrong_scope', expectedType);
            }
            return { ...common, type, scope: scope as WsScope };
          }
          default: {
            const _exhaustive: never = type;
            throw bad();
          }
        }
      })();
      return claims as ClaimsOf[T];
    },
  };
};
