import type { Decider } from '#domain/shared/event.js';
import type {
  AccessTokenIssued,
  Command,
  SessionEvent,
  SessionRevocationReason,
  SessionRevoked,
  TokenAuditEvent,
} from './events.js';
import {
  SessionAlreadyExists,
  SessionAlreadyRevoked,
  SessionExpired,
  SessionNotFound,
  UnknownIdentityCommand,
  UnknownRefreshToken,
} from './errors.js';
import { toIso, toMillis } from './time.js';

/**
 * A session is one refresh-token family, stream `session-<sessionId>`. Every refresh rotates the
 * token; presenting a token the family has already rotated away from means it was copied, so the
 * whole family is revoked (OAuth 2.0 Security BCP, refresh token rotation with reuse detection).
 *
 * Reuse is not an exception inside `decide`: decide RETURNS [SessionRevoked{refresh_token_reuse}],
 * the handler appends it, then asks `rotationOutcome(events)` and, on 'reuse_detected', throws
 * RefreshTokenReused (errors.ts) to the client. Throwing from decide would drop the revocation.
 * Consequence worth knowing: a client that retries the same refresh request after a lost
 * response loses its session; it must log in again.
 *
 * The token events (AccessTokenIssued, LoggedOut) are decided with the session change they belong
 * to, in the same append; evolve ignores them.
 */

type Family = Readonly<{
  sessionId: string;
  accountId: string;
  currentTokenId: string;
  /** every token id this family has rotated away from */
  previousTokenIds: readonly string[];
  /** ISO-8601: expiry of the current refresh token */
  expiresAt: string;
}>;

export type Session =
  | Readonly<{ status: 'none' }>
  | (Family & Readonly<{ status: 'active' }>)
  | (Family & Readonly<{ status: 'revoked'; reason: SessionRevocationReason; by: string }>);

export type SessionStreamEvent = SessionEvent | TokenAuditEvent;

/** The access token issued with a session start or a rotation: recorded on the session stream. */
type AccessToken = { accessTokenId: string; accessExpiresAt: string };

export type StartSession = Command<
  'StartSession',
  { sessionId: string; accountId: string; refreshTokenId: string; expiresAt: string } & AccessToken
>;
export type RotateRefreshToken = Command<
  'RotateRefreshToken',
  {
    sessionId: string;
    /** the `jti` of the refresh token the client presented (after its signature was verified) */
    presentedTokenId: string;
    newTokenId: string;
    /** ISO-8601 expiry of the new refresh token */
    expiresAt: string;
    now: string;
  } & AccessToken
>;
/** The holder of the session ends it. */
export type Logout = Command<'Logout', { sessionId: string; by: string }>;
/**
 * Someone else ends it (an admin's change to the account). Reuse revocation is decided by rotation
 * itself, not requested. A session that does not exist yet is revoked all the same (a tombstone):
 * its start, racing with a password reset, must not bring it to life afterwards.
 */
export type RevokeSession = Command<
  'RevokeSession',
  {
    sessionId: string;
    accountId: string;
    reason: Exclude<SessionRevocationReason, 'refresh_token_reuse' | 'logout'>;
    by: string;
  }
>;

export type SessionCommand = StartSession | RotateRefreshToken | Logout | RevokeSession;

export const initialState = (): Session => ({ status: 'none' });

const accessTokenIssued = (sessionId: string, accountId: string, c: AccessToken): AccessTokenIssued => ({
  type: 'AccessTokenIssued',
  data: {
    accountId,
    sessionId,
    jti: c.accessTokenId,
    expiresAt: toIso(toMillis(c.accessExpiresAt, 'accessExpiresAt')),
  },
});

const rotate = ({ data: c }: RotateRefreshToken, state: Session): SessionStreamEvent[] => {
  if (state.status === 'none') throw new SessionNotFound(c.sessionId);
  if (state.status === 'revoked') throw new SessionAlreadyRevoked(state.sessionId, state.reason);
  // Checked before expiry: a stolen old token is worth recording even on a session about to die.
  if (state.previousTokenIds.includes(c.presentedTokenId)) {
    const revoked: SessionRevoked = {
      type: 'SessionRevoked',
      data: { sessionId: state.sessionId, accountId: state.accountId, reason: 'refresh_token_reuse', by: 'system' },
    };
    return [revoked];
  }
  if (c.presentedTokenId !== state.currentTokenId) throw new UnknownRefreshToken(state.sessionId);
  if (toMillis(c.now) >= toMillis(state.expiresAt, 'expiresAt'))
    throw new SessionExpired(state.sessionId, state.expiresAt);
  toMillis(c.expiresAt, 'expiresAt');
  return [
    {
      type: 'RefreshTokenRotated',
      data: {
        sessionId: state.sessionId,
        previousTokenId: state.currentTokenId,
        refreshTokenId: c.newTokenId,
        expiresAt: c.expiresAt,
      },
    },
    accessTokenIssued(state.sessionId, state.accountId, c),
  ];
};

export const decide = (command: SessionCommand, state: Session): SessionStreamEvent[] => {
  switch (command.type) {
    case 'StartSession': {
      if (state.status === 'revoked') throw new SessionAlreadyRevoked(command.data.sessionId, state.reason);
      if (state.status !== 'none') throw new SessionAlreadyExists(command.data.sessionId);
      const { sessionId, accountId, refreshTokenId, expiresAt } = command.data;
      toMillis(expiresAt, 'expiresAt');
      return [
        { type: 'SessionStarted', data: { sessionId, accountId, refreshTokenId, expiresAt } },
        accessTokenIssued(sessionId, accountId, command.data),
      ];
    }
    case 'RotateRefreshToken':
      return rotate(command, state);
    case 'Logout': {
      if (state.status === 'none') throw new SessionNotFound(command.data.sessionId);
      // Logging out twice is not an error: the session is gone either way.
      if (state.status === 'revoked') return [];
      const { sessionId, accountId } = state;
      return [
        { type: 'SessionRevoked', data: { sessionId, accountId, reason: 'logout', by: command.data.by } },
        { type: 'LoggedOut', data: { accountId, sessionId } },
      ];
    }
    case 'RevokeSession': {
      if (state.status === 'revoked') return [];
      const { sessionId, accountId, reason, by } = command.data;
      return [{ type: 'SessionRevoked', data: { sessionId, accountId, reason, by } }];
    }
    default: {
      const _exhaustive: never = command;
      throw new UnknownIdentityCommand((_exhaustive as { type?: unknown }).type);
    }
  }
};

export const evolve = (state: Session, event: SessionStreamEvent): Session => {
  switch (event.type) {
    case 'SessionStarted': {
      if (state.status !== 'none') return state;
      const { sessionId, accountId, refreshTokenId, expiresAt } = event.data;
      return {
        status: 'active',
        sessionId,
        accountId,
        currentTokenId: refreshTokenId,
        previousTokenIds: [],
        expiresAt,
      };
    }
    case 'RefreshTokenRotated':
      if (state.status !== 'active') return state;
      return {
        ...state,
        currentTokenId: event.data.refreshTokenId,
        previousTokenIds: [...state.previousTokenIds, event.data.previousTokenId],
        expiresAt: event.data.expiresAt,
      };
    case 'SessionRevoked':
      if (state.status === 'revoked') return state;
      if (state.status === 'none')
        return {
          status: 'revoked',
          sessionId: event.data.sessionId,
          accountId: event.data.accountId,
          currentTokenId: '',
          previousTokenIds: [],
          expiresAt: '',
          reason: event.data.reason,
          by: event.data.by,
        };
      return { ...state, status: 'revoked', reason: event.data.reason, by: event.data.by };
    case 'AccessTokenIssued':
    case 'LoggedOut':
      return state;
    default: {
      const _exhaustive: never = event;
      return state;
    }
  }
};

export const sessionDecider: Decider<Session, SessionCommand, SessionStreamEvent> = { decide, evolve, initialState };

// ---------- pure queries ----------

/** A session lets its tokens work only while it is neither revoked nor past its refresh expiry. */
export const isSessionActive = (state: Session, now: string): boolean =>
  state.status === 'active' && toMillis(now) < Date.parse(state.expiresAt);

export type RotationOutcome =
  | Readonly<{ kind: 'rotated'; refreshTokenId: string; expiresAt: string }>
  /** the handler appends the events, then throws RefreshTokenReused */
  | Readonly<{ kind: 'reuse_detected'; sessionId: string }>;

/** What the events decided for a RotateRefreshToken mean; null when they hold neither. */
export const rotationOutcome = (events: readonly SessionStreamEvent[]): RotationOutcome | null => {
  for (const e of events) {
    if (e.type === 'RefreshTokenRotated')
      return { kind: 'rotated', refreshTokenId: e.data.refreshTokenId, expiresAt: e.data.expiresAt };
    if (e.type === 'SessionRevoked' && e.data.reason === 'refresh_token_reuse')
      return { kind: 'reuse_detected', sessionId: e.data.sessionId };
  }
  return null;
};
