import type { Role, WsScope } from '#domain/identity/events.js';

/** argon2id in production (infrastructure/identity/passwords.ts). */
export type PasswordHasher = {
  hashPassword(password: string): Promise<string>;
  verifyPassword(hash: string, password: string): Promise<boolean>;
  /** burns the time of a real verify, for unknown usernames */
  verifyAgainstDummy(password: string): Promise<false>;
};

export type IssuedToken = { token: string; jti: string; expiresIn: number; expiresAt: string };

/** What a verified access token says: who and which session. Never the role: that is read from state. */
export type AccessClaims = {
  type: 'access';
  accountId: string;
  sessionId: string;
  jti: string;
  issuedAt: number;
  expiresAt: number;
};
export type RefreshClaims = {
  type: 'refresh';
  accountId: string;
  sessionId: string;
  jti: string;
  issuedAt: number;
  expiresAt: number;
};
export type WsClaims = {
  type: 'ws';
  accountId: string;
  sessionId: string;
  scope: WsScope;
  jti: string;
  issuedAt: number;
  expiresAt: number;
};

/** JWT in production (infrastructure/identity/jwt.ts); verify throws a TokenError with a reason. */
export type TokenIssuer = {
  issueAccessToken(input: { accountId: string; sessionId: string }): IssuedToken;
  issueRefreshToken(input: { accountId: string; sessionId: string; tokenId: string }): IssuedToken;
  issueWsToken(input: { accountId: string; sessionId: string; scope: WsScope }): IssuedToken;
  verify(token: string | null | undefined, expectedType: 'access'): AccessClaims;
  verify(token: string | null | undefined, expectedType: 'refresh'): RefreshClaims;
  verify(token: string | null | undefined, expectedType: 'ws', options?: { scope?: WsScope }): WsClaims;
};

/** The caller of a request, as the current state says: the account's role now, not when the token was issued. */
export type Principal = {
  accountId: string;
  username: string;
  role: Role;
  sessionId: string;
  /** epoch seconds: expiry of the access token that authenticated the request */
  expiresAt: number;
};
