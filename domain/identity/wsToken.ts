import type { Decider } from '#domain/shared/event.js';
import type { Command, WsScope, WsTokenEvent } from './events.js';
import {
  UnknownIdentityCommand,
  WsTokenAlreadyIssued,
  WsTokenAlreadyUsed,
  WsTokenExpired,
  WsTokenNotFound,
} from './errors.js';
import { toMillis } from './time.js';

/**
 * Single-use WebSocket token, stream `wstoken-<jti>`. Browsers cannot set headers on a WebSocket
 * upgrade, so the dashboard trades its access token for a short-lived ticket it passes in the URL;
 * because URLs leak into logs, the ticket works once. Consumption appends with the expected
 * revision, so two upgrades racing with the same ticket cannot both win.
 */

export type WsToken =
  | Readonly<{ status: 'none' }>
  | Readonly<{ status: 'issued'; jti: string; accountId: string; sessionId: string; scope: WsScope; expiresAt: string }>
  | Readonly<{
      status: 'consumed';
      jti: string;
      accountId: string;
      sessionId: string;
      scope: WsScope;
      expiresAt: string;
      consumedAt: string;
    }>;

export type IssueWsToken = Command<
  'IssueWsToken',
  { jti: string; accountId: string; sessionId: string; scope: WsScope; expiresAt: string }
>;
export type ConsumeWsToken = Command<'ConsumeWsToken', { jti: string; now: string }>;
export type WsTokenCommand = IssueWsToken | ConsumeWsToken;

export const initialState = (): WsToken => ({ status: 'none' });

export const decide = (command: WsTokenCommand, state: WsToken): WsTokenEvent[] => {
  switch (command.type) {
    case 'IssueWsToken': {
      if (state.status !== 'none') throw new WsTokenAlreadyIssued(command.data.jti);
      const { jti, accountId, sessionId, scope, expiresAt } = command.data;
      toMillis(expiresAt, 'expiresAt');
      return [{ type: 'WsTokenIssued', data: { jti, accountId, sessionId, scope, expiresAt } }];
    }
    case 'ConsumeWsToken': {
      const { jti, now } = command.data;
      if (state.status === 'none') throw new WsTokenNotFound(jti);
      if (state.status === 'consumed') throw new WsTokenAlreadyUsed(state.jti);
      if (toMillis(now) >= toMillis(state.expiresAt, 'expiresAt')) throw new WsTokenExpired(state.jti, state.expiresAt);
      return [{ type: 'WsTokenConsumed', data: { jti: state.jti, consumedAt: now } }];
    }
    default: {
      const _exhaustive: never = command;
      throw new UnknownIdentityCommand((_exhaustive as { type?: unknown }).type);
    }
  }
};

export const evolve = (state: WsToken, event: WsTokenEvent): WsToken => {
  switch (event.type) {
    case 'WsTokenIssued':
      return state.status === 'none' ? { status: 'issued', ...event.data } : state;
    case 'WsTokenConsumed':
      return state.status === 'issued' ? { ...state, status: 'consumed', consumedAt: event.data.consumedAt } : state;
    default: {
      const _exhaustive: never = event;
      return state;
    }
  }
};

export const wsTokenDecider: Decider<WsToken, WsTokenCommand, WsTokenEvent> = { decide, evolve, initialState };
