import type { Event } from '#domain/shared/event.js';

/**
 * The identity context's event catalogue. Streams:
 *   account-<accountId>  AccountEvent
 *   session-<sessionId>  SessionEvent (+ TokenAuditEvent, which the session decider ignores)
 *   wstoken-<jti>        WsTokenEvent
 * Timestamps in event data are ISO-8601 strings: the deciders need them to replay rules
 * (the failure window) without the envelope, so they live in `data`, not only in metadata.
 */

export type Role = 'admin' | 'operator' | 'viewer';
export const ROLES: readonly Role[] = ['admin', 'operator', 'viewer'];

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

export type LoginFailed = Event<
  'LoginFailed',
  {
    accountId: string;
    username: string;
    reason: LoginFailureReason;
    ip: string | null;
    userAgent: string | null;
    /**
     * Wrong passwords that count toward the next lockout, this one included. Attempts refused
     * because the account is locked or disabled do not count: for them it is the unchanged count.
     */
    failureCount: number;
    /** set when the account is (or, with this attempt, becomes) locked; null otherwise */
    lockedUntil: string | null;
    /** ISO-8601 */
    at: string;
  }
>;

export type AccountLocked = Event<
  'AccountLocked',
  {
    accountId: string;
    /** ISO-8601: attempts before this instant are refused */
    until: string;
    /** 1 for the first lockout since the last successful login, 2 for the second... */
    lockoutCount: number;
    /** wrong passwords in the window that triggered this lockout */
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

export type AccountEvent =
  | AccountCreated
  | PasswordChanged
  | RoleChanged
  | AccountDisabled
  | AccountEnabled
  | LoginSucceeded
  | LoginFailed
  | AccountLocked
  | AccountUnlocked;

// ---------- session (refresh-token family) ----------

export type SessionRevocationReason = 'logout' | 'refresh_token_reuse' | 'admin' | 'account_disabled';

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
    reason: SessionRevocationReason;
    /** 'system' for reuse detection, otherwise the account that asked */
    by: string;
  }
>;

export type SessionEvent = SessionStarted | RefreshTokenRotated | SessionRevoked;

// ---------- audit-only token events (no decider derives state from them) ----------

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
  { jti: string; accountId: string; scope: WsScope; expiresAt: string }
>;

export type WsTokenConsumed = Event<'WsTokenConsumed', { jti: string; consumedAt: string }>;

export type WsTokenEvent = WsTokenIssued | WsTokenConsumed;

// ---------- the whole context ----------

export type IdentityEvent = AccountEvent | SessionEvent | TokenAuditEvent | WsTokenEvent;

/** Type names per stream family, for subscription filters and projections. */
export const ACCOUNT_EVENT_TYPES = [
  'AccountCreated',
  'PasswordChanged',
  'RoleChanged',
  'AccountDisabled',
  'AccountEnabled',
  'LoginSucceeded',
  'LoginFailed',
  'AccountLocked',
  'AccountUnlocked',
] as const satisfies readonly AccountEvent['type'][];
export const SESSION_EVENT_TYPES = [
  'SessionStarted',
  'RefreshTokenRotated',
  'SessionRevoked',
] as const satisfies readonly SessionEvent['type'][];
export const TOKEN_AUDIT_EVENT_TYPES = [
  'AccessTokenIssued',
  'LoggedOut',
] as const satisfies readonly TokenAuditEvent['type'][];
export const WS_TOKEN_EVENT_TYPES = [
  'WsTokenIssued',
  'WsTokenConsumed',
] as const satisfies readonly WsTokenEvent['type'][];
export const IDENTITY_EVENT_TYPES: readonly IdentityEvent['type'][] = [
  ...ACCOUNT_EVENT_TYPES,
  ...SESSION_EVENT_TYPES,
  ...TOKEN_AUDIT_EVENT_TYPES,
  ...WS_TOKEN_EVENT_TYPES,
];

export const accountStreamId = (accountId: string): string => `account-${accountId}`;
export const sessionStreamId = (sessionId: string): string => `session-${sessionId}`;
export const wsTokenStreamId = (jti: string): string => `wstoken-${jti}`;
/** where attempts for usernames that have no account are recorded */
export const unknownLoginStreamId = (accountId: string): string => `login-unknown-${accountId}`;

/** Commands share the events' shape: a type tag and plain data. */
export type Command<Type extends string, Data extends Record<string, unknown>> = Readonly<{
  type: Type;
  data: Readonly<Data>;
}>;
