import type { Event } from '#domain/shared/event.js';

/**
 * The identity context's event catalogue. Streams:
 *   account-<accountId>  AccountEvent
 *   login-unknown-<id>   LockoutEvent for a username that has no account (the same lockout rules)
 *   session-<sessionId>  SessionEvent + TokenAuditEvent (both decided by the session decider)
 *   wstoken-<jti>        WsTokenEvent
 *   ratelimit-<ip>       RateLimited
 * Timestamps in event data are ISO-8601 strings: the deciders need them to replay rules
 * (the failure window) without the envelope, so they live in `data`, not only in metadata.
 */

export const ROLES = ['admin', 'operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];
export const isRole = (value: unknown): value is Role => (ROLES as readonly unknown[]).includes(value);

/** unknown_user is recorded on a `login-unknown-<id>` stream, never on an account stream */
export type LoginFailureReason = 'wrong_password' | 'account_locked' | 'account_disabled' | 'unknown_user';

// ---------- account ----------

export type AccountCreated = Event<
  'AccountCreated',
  {
    accountId: string;
    username: string;
    role: Role;
    passwordHash: string;
    /** admin account id, or 'system' for the bootstrap admin */
    createdBy: string;
  }
>;

export type PasswordChanged = Event<'PasswordChanged', { accountId: string; passwordHash: string; changedBy: string }>;

export type RoleChanged = Event<
  'RoleChanged',
  { accountId: string; role: Role; previousRole: Role; changedBy: string }
>;

export type AccountDisabled = Event<'AccountDisabled', { accountId: string; by: string }>;

export type AccountEnabled = Event<'AccountEnabled', { accountId: string; by: string }>;

export type LoginSucceeded = Event<
  'LoginSucceeded',
  {
    accountId: string;
    username: string;
    ip: string | null;
    userAgent: string | null;
    sessionId: string;
    /** ISO-8601 */
    at: string;
  }
>;

/**
 * Where an attempt came from, for the per-source lockout: the client address, or 'unknown' when
 * the server could not tell (ip null).
 */
export const sourceOf = (ip: string | null): string => ip ?? 'unknown';

export type LoginFailed = Event<
  'LoginFailed',
  {
    accountId: string;
    username: string;
    reason: LoginFailureReason;
    ip: string | null;
    userAgent: string | null;
    /**
     * Failures from this source (account + address) that count toward the next source lock, this one
     * included. Attempts refused because of a lock do not count: for them it is 0.
     */
    failureCount: number;
    /** failures from every source that count toward the next account-wide lock, this one included */
    accountFailureCount: number;
    /** set when a lock refuses (or, with this attempt, starts refusing) this source; null otherwise */
    lockedUntil: string | null;
    /** ISO-8601 */
    at: string;
  }
>;

/** Too many failures from one source: that account + address pair is refused until `until`. */
export type SourceLocked = Event<
  'SourceLocked',
  {
    accountId: string;
    username: string;
    source: string;
    /** ISO-8601: attempts from this source before this instant are refused */
    until: string;
    /** 1 for the first lock of this pair since its last success (or admin unlock), 2 for the second... */
    lockoutCount: number;
    failures: number;
  }
>;

export type SourceUnlocked = Event<
  'SourceUnlocked',
  {
    accountId: string;
    source: string;
    /** 'system' when the lock expired, otherwise the admin's account id */
    by: string;
  }
>;

/** Too many failures across sources: the whole account is refused until `until`, from every address. */
export type AccountLocked = Event<
  'AccountLocked',
  {
    accountId: string;
    username: string;
    /** ISO-8601: attempts before this instant are refused */
    until: string;
    /** 1 for the first account-wide lock since the last admin unlock or success, 2 for the second... */
    lockoutCount: number;
    /** failures in the window that triggered this lock, all sources together */
    failures: number;
  }
>;

export type AccountUnlocked = Event<
  'AccountUnlocked',
  {
    accountId: string;
    /** 'system' when the lock expired, otherwise the admin's account id */
    by: string;
  }
>;

/** Lockout events: on account streams and, for names without an account, on `login-unknown-<id>`. */
export type LockoutEvent = LoginFailed | SourceLocked | SourceUnlocked | AccountLocked | AccountUnlocked;

export type AccountEvent =
  AccountCreated | PasswordChanged | RoleChanged | AccountDisabled | AccountEnabled | LoginSucceeded | LockoutEvent;

// ---------- session (refresh-token family) ----------

export type SessionRevocationReason =
  'logout' | 'refresh_token_reuse' | 'admin' | 'account_disabled' | 'password_changed' | 'role_changed';

export type SessionStarted = Event<
  'SessionStarted',
  {
    sessionId: string;
    accountId: string;
    refreshTokenId: string;
    /** ISO-8601: expiry of the current refresh token */
    expiresAt: string;
  }
>;

export type RefreshTokenRotated = Event<
  'RefreshTokenRotated',
  {
    sessionId: string;
    previousTokenId: string;
    refreshTokenId: string;
    expiresAt: string;
  }
>;

export type SessionRevoked = Event<
  'SessionRevoked',
  {
    sessionId: string;
    accountId: string;
    reason: SessionRevocationReason;
    /** 'system' for reuse detection, otherwise the account that asked */
    by: string;
  }
>;

export type SessionEvent = SessionStarted | RefreshTokenRotated | SessionRevoked;

// ---------- token events (decided with the session, no state derives from them) ----------

export type AccessTokenIssued = Event<
  'AccessTokenIssued',
  { accountId: string; sessionId: string; jti: string; expiresAt: string }
>;

export type LoggedOut = Event<'LoggedOut', { accountId: string; sessionId: string }>;

export type TokenAuditEvent = AccessTokenIssued | LoggedOut;

// ---------- single-use WebSocket token ----------

export type WsScope = 'metrics:read';
export const WS_SCOPES: readonly WsScope[] = ['metrics:read'];

export type WsTokenIssued = Event<
  'WsTokenIssued',
  { jti: string; accountId: string; sessionId: string; scope: WsScope; expiresAt: string }
>;

export type WsTokenConsumed = Event<'WsTokenConsumed', { jti: string; consumedAt: string }>;

export type WsTokenEvent = WsTokenIssued | WsTokenConsumed;

// ---------- the whole context ----------

export type IdentityEvent = AccountEvent | SessionEvent | TokenAuditEvent | WsTokenEvent | RateLimited;

// ---------- rate limiting (sampled) ----------

/**
 * Sampled: one event when a client is first refused in a window, never one per refused request (a
 * flood must not turn into a flood of appends). Stream `ratelimit-<ip>`.
 */
export type RateLimited = Event<
  'RateLimited',
  {
    ip: string;
    /** 'POST /api/auth/login', 'GET /api/users/:id'... */
    route: string;
    /** requests allowed per window */
    limit: number;
    windowSeconds: number;
    /** from the login body, when there is one */
    username?: string;
  }
>;

export const accountStreamId = (accountId: string): string => `account-${accountId}`;
export const sessionStreamId = (sessionId: string): string => `session-${sessionId}`;
export const wsTokenStreamId = (jti: string): string => `wstoken-${jti}`;
/** where attempts for usernames that have no account are recorded */
export const unknownLoginStreamId = (accountId: string): string => `login-unknown-${accountId}`;
/** `ratelimit-<ip>` with ':' and '.' turned into '-', so IPv4 and IPv6 give plain stream names. */
export const rateLimitStreamId = (ip: string): string => `ratelimit-${ip.replace(/[:.]/g, '-')}`;

/** Commands share the events' shape: a type tag and plain data. */
export type Command<Type extends string, Data extends Record<string, unknown>> = Readonly<{
  type: Type;
  data: Readonly<Data>;
}>;
