import { expect } from 'chai';
import { circuitDecider } from '#domain/llm/circuit.js';
import { TurnBusy } from '#domain/llm/errors.js';
import type { LlmCallFailed, LlmCallStarted, LlmCallSucceeded, LlmTurnEvent } from '#domain/llm/events.js';
import { turnDecider, type TurnSeen } from '#domain/llm/turn.js';
import { deciderSpec } from '../support/decider.js';

const turn = deciderSpec(turnDecider);
const circuit = deciderSpec(circuitDecider);
const turnId = 'turn-1';
const call = (callId: string, provider = 'primary', attempt = 1): LlmCallStarted['data'] => ({
  turnId,
  callId,
  provider,
  model: `${provider}-model`,
  attempt,
  messages: 2,
  promptChars: 40,
  promptTokensEstimate: 18,
  chatId: 'chat-1',
});
const started = (callId: string, provider = 'primary', attempt = 1): LlmTurnEvent => ({
  type: 'LlmCallStarted',
  data: call(callId, provider, attempt),
});
const failed = (callId: string, provider = 'primary'): LlmCallFailed => ({
  type: 'LlmCallFailed',
  data: {
    turnId,
    callId,
    provider,
    model: `${provider}-model`,
    attempt: 1,
    errorKind: 'timeout',
    status: null,
    latencyMs: 2000,
    willRetry: false,
  },
});
const succeeded = (callId: string): LlmCallSucceeded => ({
  type: 'LlmCallSucceeded',
  data: {
    turnId,
    callId,
    provider: 'primary',
    model: 'primary-model',
    attempt: 1,
    latencyMs: 5,
    tokensIn: 42,
    tokensOut: 7,
    costUsd: 0,
    completionChars: 20,
  },
});
const fallback = (to: string | null): LlmTurnEvent => ({
  type: 'FallbackUsed',
  data: { turnId, from: 'primary', to, reason: 'timeout' },
});
const seen = (events: number, quietMs: number): TurnSeen => ({
  events,
  lastEventAt: '2026-03-01T10:00:00.000Z',
  now: new Date(Date.parse('2026-03-01T10:00:00.000Z') + quietMs).toISOString(),
  staleMs: 7_000,
});

describe('the LLM turn decider', () => {
  it('a run starts on a fresh turn and goes on call by call, each naming the one before', () => {
    turn
      .given()
      .when({ type: 'StartCall', data: { call: call('c1'), previousCallId: null, seen: null } })
      .then([started('c1')]);
    turn
      .given([started('c1'), failed('c1'), fallback('local')])
      .when({ type: 'StartCall', data: { call: call('c2', 'local'), previousCallId: 'c1', seen: null } })
      .then([started('c2', 'local')]);
    turn
      .given([started('c1')])
      .when({ type: 'RecordSuccess', data: succeeded('c1').data })
      .then([succeeded('c1')]);
  });

  it('a second caller cannot start a run on a live turn, nor write into a run that is not its own', () => {
    turn
      .given([started('c1')])
      .when({ type: 'StartCall', data: { call: call('x'), previousCallId: null, seen: seen(1, 1_000) } })
      .thenThrows(TurnBusy);
    turn
      .given([started('c1'), failed('c1')])
      .when({ type: 'StartCall', data: { call: call('x', 'primary', 2), previousCallId: 'other', seen: null } })
      .thenThrows(TurnBusy);
    turn
      .given([started('c1')])
      .when({ type: 'RecordFailure', data: failed('other').data })
      .thenThrows(TurnBusy);
    turn
      .given([started('c1'), failed('c1'), fallback('local'), started('c2', 'local')])
      .when({
        type: 'RecordFallback',
        data: { afterCallId: 'c1', turnId, from: 'primary', to: null, reason: 'timeout' },
      })
      .thenThrows(TurnBusy);
  });

  it('a turn quiet for longer than staleMs is taken over, but only as it was seen', () => {
    turn
      .given([started('c1')])
      .when({ type: 'StartCall', data: { call: call('c9'), previousCallId: null, seen: seen(1, 7_001) } })
      .then([started('c9')]);
    // someone appended since the caller looked: not stale any more
    turn
      .given([started('c1'), failed('c1')])
      .when({ type: 'StartCall', data: { call: call('c9'), previousCallId: null, seen: seen(1, 60_000) } })
      .thenThrows(TurnBusy);
    // answered, but the reply was lost: run again once stale, never before
    turn
      .given([started('c1'), succeeded('c1')])
      .when({ type: 'StartCall', data: { call: call('c9'), previousCallId: null, seen: seen(2, 3_000) } })
      .thenThrows(TurnBusy);
    turn
      .given([started('c1'), succeeded('c1')])
      .when({ type: 'StartCall', data: { call: call('c9'), previousCallId: null, seen: seen(2, 7_001) } })
      .then([started('c9')]);
  });

  it('a turn that ended on the fallback text may be run again at once', () => {
    turn
      .given([started('c1'), failed('c1'), fallback(null)])
      .when({ type: 'StartCall', data: { call: call('c2'), previousCallId: null, seen: seen(3, 0) } })
      .then([started('c2')]);
  });
});

describe('the provider circuit record', () => {
  it('records every transition of a breaker, the same one twice included (two processes)', () => {
    const opened = { type: 'ProviderCircuitOpened' as const, data: { provider: 'primary', halfOpenAfterMs: 30_000 } };
    circuit
      .given([opened])
      .when({ type: 'RecordCircuit', data: { provider: 'primary', to: 'open', halfOpenAfterMs: 30_000 } })
      .then([opened]);
    circuit
      .given([opened])
      .when({ type: 'RecordCircuit', data: { provider: 'primary', to: 'half_open' } })
      .thenState((state) => expect(state).to.deep.equal({ state: 'half_open', transitions: 2 }));
  });
});
