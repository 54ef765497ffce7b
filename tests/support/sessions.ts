import type { SessionAllowlist } from '#application/identity/allowlist.js';
import { UnauthorizedError } from '#application/shared/errors.js';
import type { Role } from '#domain/identity/events.js';

export type FixedSession = { accountId: string; sessionId: string; username: string; role: Role };

/**
 * For router tests that mint their own tokens without an identity context behind them: these
 * sessions are active with these roles, every other one is refused (the allowlist contract).
 */
export const fixedSessions = (sessions: readonly FixedSession[]): SessionAllowlist => {
  const bySession = new Map(sessions.map((s) => [s.sessionId, s]));
  return {
    check(claims) {
      const session = bySession.get(claims.sessionId);
      if (!session || session.accountId !== claims.accountId)
        return Promise.reject(new UnauthorizedError('token_revoked', 'The session of this token has been revoked.'));
      return Promise.resolve({ ...session, expiresAt: claims.expiresAt });
    },
    endedAmong: (ids) => Promise.resolve(new Set(ids.filter((id) => !bySession.has(id)))),
    activeOf: (accountId) => Promise.resolve(sessions.filter((s) => s.accountId === accountId).map((s) => s.sessionId)),
    ended: (sessionId) => void bySession.delete(sessionId),
    onEnded: () => () => undefined,
    watch: () => Promise.resolve(),
    stop: () => Promise.resolve(),
  };
};
