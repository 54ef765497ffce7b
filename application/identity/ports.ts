import type { Role, WsScope } from '#domain/identity/events.js';

/** argon2id in production (infrastructure/identity/passwords.ts). */
export type PasswordHasher = {
  hashPassword(password: string): Promise<string>;
  verifyPassword(hash: string, password: string): Promise<boolean>;
  /** burns the time of a real verify, for unknown usernames */
  verifyAgainstDummy(password: string): Promise<false>;
};

export type IssuedToken = { token: string; jti: string; expiresIn: number; expiresAt: string };

export type AccessClaims = {
  type: 'access';
  accountId: string;
  username: string;
  role: Role;
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
export type WsClaims = { type: 'ws'; accountId: string; scope: WsScope; jti: string; expiresAt: number };

/** JWT in production (infrastructure/identity/jwt.ts); verify throws a TokenError with a reason. */
export type TokenIssuer = {
  issueAccessToken(input: { accountId: string; username: string; role: Role; sessionId: string }): IssuedToken;
  issueRefreshToken(input: { accountId: string; sessionId: string; tokenId: string }): IssuedToken;
  issueWsToken(input: { accountId: string; scope: WsScope }): IssuedToken;
  verify(token: string | null | undefined, expectedType: 'access'): AccessClaims;
  verify(token: string | null | undefined, expectedType: 'refresh'): RefreshClaims;
  verify(token: string | null | undefined, expectedType: 'ws', options?: { scope?: WsScope }): WsClaims;
};

/** What login needs to know fast, before paying for argon2: fed by a projection of login events. */
export type LockoutView = {
  /** epoch ms until which the account is locked, or null */
  lockedUntil(accountId: string): Promise<number | null>;
};
