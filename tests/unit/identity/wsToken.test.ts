import { expect } from 'chai';
import { evolve, initialState, wsTokenDecider } from '#domain/identity/wsToken.js';
import type { WsTokenEvent } from '#domain/identity/events.js';
import { WsTokenAlreadyIssued, WsTokenAlreadyUsed, WsTokenExpired, WsTokenNotFound } from '#domain/identity/errors.js';
import { deciderSpec } from '../support/decider.js';

const spec = deciderSpec(wsTokenDecider);
const T0 = Date.parse('2025-03-01T12:00:00.000Z');
const t = (s: number) => new Date(T0 + s * 1000).toISOString();

const jti = 'ws-1';
const issued: WsTokenEvent = {
  type: 'WsTokenIssued',
  data: { jti, accountId: 'acc-1', sessionId: 's-1', scope: 'metrics:read', expiresAt: t(30) },
};
const consume = (now: number) => ({ type: 'ConsumeWsToken', data: { jti, now: t(now) } }) as const;

describe('ws token decider (single use)', () => {
  it('issuing records the account, scope and expiry', () => {
    spec
      .given([])
      .when({
        type: 'IssueWsToken',
        data: { jti, accountId: 'acc-1', sessionId: 's-1', scope: 'metrics:read', expiresAt: t(30) },
      })
      .then([issued]);
  });

  it('issuing the same token id twice is refused', () => {
    spec
      .given([issued])
      .when({
        type: 'IssueWsToken',
        data: { jti, accountId: 'acc-2', sessionId: 's-1', scope: 'metrics:read', expiresAt: t(30) },
      })
      .thenThrows(WsTokenAlreadyIssued, { jti });
  });

  it('the first use before expiry consumes the token', () => {
    spec
      .given([issued])
      .when(consume(29))
      .then([{ type: 'WsTokenConsumed', data: { jti, consumedAt: t(29) } }]);
  });

  it('consuming a token twice is refused', () => {
    spec
      .given([issued, { type: 'WsTokenConsumed', data: { jti, consumedAt: t(1) } }])
      .when(consume(2))
      .thenThrows(WsTokenAlreadyUsed, { jti });
  });

  it('consuming a token at or after its expiry is refused', () => {
    spec
      .given([issued])
      .when(consume(30))
      .thenThrows(WsTokenExpired, { jti, expiresAt: t(30) });
  });

  it('consuming a token that was never issued is refused', () => {
    spec.given([]).when(consume(1)).thenThrows(WsTokenNotFound);
  });

  it('evolve ignores a consumption without an issue, and a second issue', () => {
    const consumed: WsTokenEvent = { type: 'WsTokenConsumed', data: { jti, consumedAt: t(1) } };
    expect(evolve(initialState(), consumed)).to.deep.equal({ status: 'none' });
    const state = evolve(initialState(), issued);
    expect(evolve(state, issued)).to.equal(state);
  });
});
