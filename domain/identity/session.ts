import type { Decider } from '#domain/shared/event.js';
import type { Command, SessionEvent, SessionRevocationReason, SessionRevoked, TokenAuditEvent } from './events.js';
import {
  SessionAlreadyExists,
  SessionAlreadyRevoked,
  SessionExpired,
  SessionNotFound,
  UnknownIdentityCommand,
  UnknownRefreshToken,
} from './errors.js';
import { toMillis } from './time.js';

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
 * Audit events (AccessTokenIssued, LoggedOut) may be appended to this stream; evolve ignores them.
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

export type StartSession = Command<
  'StartSession',
  { sessionId: string; accountId: string; refreshTokenId: string; expiresAt: string }
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
  }
>;
/** Reuse revocation is decided by rotation itself, not requested. */
export type RevokeSession = Command<
  'RevokeSession',
  { sessionId: string; reason: Exclude<SessionRevocationReason, 'refresh_token_reuse'>; by: string }
>;

export type SessionCommand = StartSession | RotateRefreshToken | RevokeSession;

export const initialState = (): Session => ({ status: 'none' });

const rotate = ({ data: c }: RotateRefreshToken, state: Session): SessionEvent[] => {
  if (state.status === 'none') throw new SessionNotFound(c.sessionId);
  if (state.status === 'revoked') throw new SessionAlreadyRevoked(state.sessionId, state.reason);
  // Checked before expiry: a stolen old token is worth recording even on a session about to die.
  if (state.previousTokenIds.includes(c.presentedTokenId)) {
    const revoked: SessionRevoked = {
      type: 'SessionRevoked',
      data: { sessionId: state.sessionId, reason: 'refresh_token_reuse', by: 'system' },
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
  ];
};

export const decide = (command: SessionCommand, state: Session): SessionEvent[] => {
  switch (command.type) {
    case 'StartSession': {
      if (state.status !== 'none') throw new SessionAlreadyExists(command.data.sessionId);
      const { sessionId, accountId, refreshTokenId, expiresAt } = command.data;
      toMillis(expiresAt, 'expiresAt');
      return [{ type: 'SessionStarted', data: { sessionId, accountId, refreshTokenId, expiresAt } }];
    }
    case 'RotateRefreshToken':
      return rotate(command, state);
    case 'RevokeSession': {
      if (state.status === 'none') throw new SessionNotFound(command.data.sessionId);
      // Logging out twice is not an error: the session is gone either way.
      if (state.status === 'revoked') return [];
      return [
        {
          type: 'SessionRevoked',
          data: { sessionId: state.sessionId, reason: command.data.reason, by: command.data.by },
        },
      ];
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
      if (state.status !== 'active') return state;
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
