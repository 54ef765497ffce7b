import { DomainError } from '#domain/shared/event.js';

/**
 * Typed rule violations of the identity context. `code` is stable (API error code);
 * the HTTP status each one maps to is noted for the single error handler.
 */

/** 400 */
export class InvalidTimestamp extends DomainError {
  readonly kind = 'validation';
  constructor(field: string) {
    super('invalid_timestamp', `${field} is not a valid ISO-8601 instant`, { field });
  }
}

/** 400 */
export class InvalidLockoutPolicy extends DomainError {
  readonly kind = 'validation';
  constructor(problem: string) {
    super('invalid_lockout_policy', `lockout policy: ${problem}`, { problem });
  }
}

/** 400: TypeScript prevents it; this guards untyped callers. */
export class UnknownIdentityCommand extends DomainError {
  readonly kind = 'validation';
  constructor(type: unknown) {
    super('unknown_command', `unknown identity command ${String(type)}`, { type: String(type) });
  }
}

/** 409 */
export class AccountAlreadyExists extends DomainError {
  readonly kind = 'conflict';
  constructor(accountId: string) {
    super('username_taken', 'The username is taken.', { accountId });
  }
}

/** 404 */
export class AccountNotFound extends DomainError {
  readonly kind = 'not_found';
  constructor(accountId: string) {
    super('account_not_found', 'No such account.', { accountId });
  }
}

/** 409 */
export class SessionAlreadyExists extends DomainError {
  readonly kind = 'conflict';
  constructor(sessionId: string) {
    super('session_already_exists', 'a session with this id already exists', { sessionId });
  }
}

/** 401 */
export class SessionNotFound extends DomainError {
  readonly kind = 'unauthorized';
  constructor(sessionId: string) {
    super('token_revoked', 'The session of this token has been revoked.', { sessionId, reason: 'session_not_found' });
  }
}

/** 401 */
export class SessionAlreadyRevoked extends DomainError {
  readonly kind = 'unauthorized';
  constructor(sessionId: string, reason: string) {
    super('token_revoked', 'The session of this token has been revoked.', { sessionId, reason });
  }
}

/** 401 */
export class SessionExpired extends DomainError {
  readonly kind = 'unauthorized';
  constructor(sessionId: string, expiresAt: string) {
    super('token_expired', 'The session has expired; log in again.', { sessionId, expiresAt });
  }
}

/** 401: a refresh token that never belonged to this session's family. */
export class UnknownRefreshToken extends DomainError {
  readonly kind = 'unauthorized';
  constructor(sessionId: string) {
    super('token_revoked', 'The session of this token has been revoked.', {
      sessionId,
      reason: 'unknown_refresh_token',
    });
  }
}

/**
 * 401. Not thrown by `decide`: on reuse, decide RETURNS the SessionRevoked event (so the handler
 * appends it and the family dies), and the handler throws this after the append, when
 * `rotationOutcome(events)` says 'reuse_detected'. Throwing inside decide would lose the revocation.
 */
export class RefreshTokenReused extends DomainError {
  readonly kind = 'unauthorized';
  constructor(sessionId: string) {
    super('refresh_token_reused', 'This refresh token was already used; the whole session has been revoked.', {
      sessionId,
    });
  }
}

/** 409 */
export class WsTokenAlreadyIssued extends DomainError {
  readonly kind = 'conflict';
  constructor(jti: string) {
    super('ws_token_already_issued', 'a WebSocket token with this id already exists', { jti });
  }
}

/** 401 */
export class WsTokenNotFound extends DomainError {
  readonly kind = 'unauthorized';
  constructor(jti: string) {
    super('ws_token_not_found', 'unknown WebSocket token', { jti });
  }
}

/** 401 */
export class WsTokenAlreadyUsed extends DomainError {
  readonly kind = 'unauthorized';
  constructor(jti: string) {
    super('ws_token_already_used', 'the WebSocket token has already been used', { jti });
  }
}

/** 401 */
export class WsTokenExpired extends DomainError {
  readonly kind = 'unauthorized';
  constructor(jti: string, expiresAt: string) {
    super('ws_token_expired', 'the WebSocket token has expired', { jti, expiresAt });
  }
}

/** 400 */
export class InvalidUsername extends DomainError {
  readonly kind = 'validation';
  constructor(min: number, max: number) {
    super(
      'invalid_username',
      `The username must be ${min}-${max} characters: letters, digits, dot, dash or underscore.`,
      { min, max },
    );
  }
}

/** 400 */
export class WeakPassword extends DomainError {
  readonly kind = 'validation';
  constructor(min: number, max: number) {
    super('weak_password', `The password must have ${min} to ${max} characters.`, { min, max });
  }
}

/** 400 */
export class InvalidRole extends DomainError {
  readonly kind = 'validation';
  constructor(roles: readonly string[]) {
    super('invalid_role', `The role must be one of ${roles.join(', ')}.`, { roles: [...roles] });
  }
}

/** 409: disabling or demoting the only active admin would lock everyone out of the console. */
export class LastAdmin extends DomainError {
  readonly kind = 'conflict';
  constructor() {
    super(
      'last_admin',
      'This is the only active admin: create or enable another admin first, then disable or demote this one.',
    );
  }
}

/** 404: nothing is locked for this name (no account and no recorded attempts). */
export class NoLockoutRecord extends DomainError {
  readonly kind = 'not_found';
  constructor(accountId: string) {
    super('account_not_found', 'No such account.', { accountId });
  }
}
