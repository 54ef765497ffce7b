import { expect } from 'chai';
import { evolve, initialState, isSessionActive, rotationOutcome, sessionDecider } from '#domain/identity/session.js';
import type { RotateRefreshToken, Session, SessionStreamEvent } from '#domain/identity/session.js';
import {
  InvalidTimestamp,
  SessionAlreadyExists,
  SessionAlreadyRevoked,
  SessionExpired,
  SessionNotFound,
  UnknownRefreshToken,
} from '#domain/identity/errors.js';
import { deciderSpec } from '../support/decider.js';

const spec = deciderSpec(sessionDecider);
const T0 = Date.parse('2025-03-01T12:00:00.000Z');
const t = (s: number) => new Date(T0 + s * 1000).toISOString();
const DAY = 86_400;

const sessionId = 'sess-1';
const started: SessionStreamEvent = {
  type: 'SessionStarted',
  data: { sessionId, accountId: 'acc-1', refreshTokenId: 'rt-1', expiresAt: t(DAY) },
};
const rotated = (previousTokenId: string, refreshTokenId: string, expiresAt: string): SessionStreamEvent => ({
  type: 'RefreshTokenRotated',
  data: { sessionId, previousTokenId, refreshTokenId, expiresAt },
});
const rotate = (presentedTokenId: string, newTokenId: string, now: number): RotateRefreshToken => ({
  type: 'RotateRefreshToken',
  data: {
    sessionId,
    presentedTokenId,
    newTokenId,
    expiresAt: t(now + DAY),
    now: t(now),
    accessTokenId: `at-${newTokenId}`,
    accessExpiresAt: t(now + 900),
  },
});
const issued = (jti: string, at: number): SessionStreamEvent => ({
  type: 'AccessTokenIssued',
  data: { accountId: 'acc-1', sessionId, jti, expiresAt: t(at + 900) },
});
const reuseRevoked: SessionStreamEvent = {
  type: 'SessionRevoked',
  data: { sessionId, accountId: 'acc-1', reason: 'refresh_token_reuse', by: 'system' },
};
const fold = (events: readonly SessionStreamEvent[]): Session => events.reduce(evolve, initialState());

describe('session decider (refresh-token family)', () => {
  it('starting a session records its first refresh token and expiry, and the access token issued with it', () => {
    spec
      .given([])
      .when({
        type: 'StartSession',
        data: {
          sessionId,
          accountId: 'acc-1',
          refreshTokenId: 'rt-1',
          expiresAt: t(DAY),
          accessTokenId: 'at-1',
          accessExpiresAt: t(900),
        },
      })
      .then([started, issued('at-1', 0)]);
  });

  it('a session revoked before it started (a reset racing with the login) cannot start', () => {
    const tombstone: SessionStreamEvent = {
      type: 'SessionRevoked',
      data: { sessionId, accountId: 'acc-1', reason: 'password_changed', by: 'admin-1' },
    };
    spec
      .given([])
      .when({
        type: 'RevokeSession',
        data: { sessionId, accountId: 'acc-1', reason: 'password_changed', by: 'admin-1' },
      })
      .then([tombstone]);
    spec
      .given([tombstone])
      .when({
        type: 'StartSession',
        data: {
          sessionId,
          accountId: 'acc-1',
          refreshTokenId: 'rt-1',
          expiresAt: t(DAY),
          accessTokenId: 'at-1',
          accessExpiresAt: t(900),
        },
      })
      .thenThrows(SessionAlreadyRevoked);
  });

  it('starting a session twice is refused', () => {
    spec
      .given([started])
      .when({
        type: 'StartSession',
        data: {
          sessionId,
          accountId: 'acc-1',
          refreshTokenId: 'rt-9',
          expiresAt: t(DAY),
          accessTokenId: 'at-9',
          accessExpiresAt: t(900),
        },
      })
      .thenThrows(SessionAlreadyExists, { sessionId });
  });

  it('presenting the current refresh token rotates it and slides the expiry', () => {
    spec
      .given([started])
      .when(rotate('rt-1', 'rt-2', 60))
      .then([rotated('rt-1', 'rt-2', t(60 + DAY)), issued('at-rt-2', 60)]);
    spec
      .given([started, rotated('rt-1', 'rt-2', t(60 + DAY))])
      .when(rotate('rt-2', 'rt-3', 120))
      .then([rotated('rt-2', 'rt-3', t(120 + DAY)), issued('at-rt-3', 120)]);
  });

  it('reusing a rotated refresh token revokes the whole family', () => {
    spec
      .given([started, rotated('rt-1', 'rt-2', t(60 + DAY))])
      .when(rotate('rt-1', 'rt-x', 120))
      .thenState((state, events) => {
        expect(events).to.deep.equal([reuseRevoked]);
        expect(rotationOutcome(events)).to.deep.equal({ kind: 'reuse_detected', sessionId });
        expect(state).to.include({ status: 'revoked', reason: 'refresh_token_reuse' });
        expect(isSessionActive(state, t(121))).to.equal(false);
      });
  });

  it('after reuse, even the legitimate current token is refused', () => {
    spec
      .given([started, rotated('rt-1', 'rt-2', t(60 + DAY)), reuseRevoked])
      .when(rotate('rt-2', 'rt-3', 130))
      .thenThrows(SessionAlreadyRevoked, { reason: 'refresh_token_reuse' });
  });

  it('reuse is detected even after the session has expired', () => {
    spec
      .given([started, rotated('rt-1', 'rt-2', t(60 + DAY))])
      .when(rotate('rt-1', 'rt-x', 3 * DAY))
      .then([reuseRevoked]);
  });

  it('refreshing an expired session is refused', () => {
    spec
      .given([started])
      .when(rotate('rt-1', 'rt-2', DAY))
      .thenThrows(SessionExpired, { expiresAt: t(DAY) });
  });

  it('refreshing a session that was logged out is refused', () => {
    const logout: SessionStreamEvent = {
      type: 'SessionRevoked',
      data: { sessionId, accountId: 'acc-1', reason: 'logout', by: 'acc-1' },
    };
    spec
      .given([started, logout])
      .when(rotate('rt-1', 'rt-2', 60))
      .thenThrows(SessionAlreadyRevoked, { reason: 'logout' });
  });

  it('a refresh token from another family is refused without revoking this one', () => {
    spec
      .given([started])
      .when(rotate('rt-of-someone-else', 'rt-2', 60))
      .thenThrows(UnknownRefreshToken);
  });

  it('refreshing an unknown session is refused', () => {
    spec
      .given([])
      .when(rotate('rt-1', 'rt-2', 60))
      .thenThrows(SessionNotFound);
  });

  it('a rotation with an unparsable expiry is refused', () => {
    const bad = rotate('rt-1', 'rt-2', 60);
    spec
      .given([started])
      .when({ ...bad, data: { ...bad.data, expiresAt: 'tomorrow' } })
      .thenThrows(InvalidTimestamp, { field: 'expiresAt' });
  });

  it('logout revokes the session once (with LoggedOut); logging out again changes nothing', () => {
    const command = { type: 'Logout', data: { sessionId, by: 'acc-1' } } as const;
    const logout: SessionStreamEvent = {
      type: 'SessionRevoked',
      data: { sessionId, accountId: 'acc-1', reason: 'logout', by: 'acc-1' },
    };
    spec
      .given([started])
      .when(command)
      .then([logout, { type: 'LoggedOut', data: { accountId: 'acc-1', sessionId } }]);
    spec.given([started, logout]).when(command).thenNothing();
    spec.given([]).when(command).thenThrows(SessionNotFound);
  });

  it('disabling an account revokes each of its sessions with its own reason, once', () => {
    const revoke = {
      type: 'RevokeSession',
      data: { sessionId, accountId: 'acc-1', reason: 'account_disabled', by: 'admin-1' },
    } as const;
    const revoked: SessionStreamEvent = { type: 'SessionRevoked', data: revoke.data };
    spec.given([started]).when(revoke).then([revoked]);
    spec.given([started, revoked]).when(revoke).thenNothing();
  });

  it('audit events in the session stream do not change the session', () => {
    const audit: SessionStreamEvent[] = [
      { type: 'AccessTokenIssued', data: { accountId: 'acc-1', sessionId, jti: 'at-1', expiresAt: t(900) } },
      { type: 'LoggedOut', data: { accountId: 'acc-1', sessionId } },
    ];
    expect(fold([started, ...audit])).to.deep.equal(fold([started]));
  });

  it('a session is active only before its refresh expiry and while not revoked', () => {
    const state = fold([started]);
    expect(isSessionActive(state, t(DAY - 1))).to.equal(true);
    expect(isSessionActive(state, t(DAY))).to.equal(false);
    expect(isSessionActive(initialState(), t(0))).to.equal(false);
  });

  it('rotationOutcome reports a rotation with the new token, and nothing for other events', () => {
    expect(rotationOutcome([rotated('rt-1', 'rt-2', t(DAY))])).to.deep.equal({
      kind: 'rotated',
      refreshTokenId: 'rt-2',
      expiresAt: t(DAY),
    });
    expect(rotationOutcome([started])).to.equal(null);
  });
});
