import { expect } from 'chai';
import type { RecordedEvent } from '#application/shared/eventStore.js';
import { foldMetrics, initialMetricsState, snapshotOf } from '#projections/metrics/model.js';

const NOW = Date.parse('2026-03-01T12:00:00.000Z');
let position = 0;
const event = (type: string, data: Record<string, unknown>, at: number): RecordedEvent => {
  position += 1;
  const iso = new Date(at).toISOString();
  return {
    id: `00000000-0000-4000-8000-${String(position).padStart(12, '0')}`,
    type,
    data,
    streamId: 'llm-turn-1',
    revision: position - 1,
    position,
    recordedAt: iso,
    metadata: {
      correlationId: 'c',
      causationId: null,
      actor: 'llm',
      ip: null,
      userAgent: null,
      occurredAt: iso,
      schemaVersion: 1,
    },
  };
};
const succeeded = (at: number, tokensIn = 42, tokensOut = 7, costUsd = 0.00012) =>
  event('LlmCallSucceeded', { provider: 'local', latencyMs: 80, tokensIn, tokensOut, costUsd }, at);
const failed = (at: number) =>
  event('LlmCallFailed', { provider: 'primary', errorKind: 'timeout', latencyMs: 8000 }, at);
const fallback = (at: number) => event('FallbackUsed', { from: 'primary', to: 'local', reason: 'timeout' }, at);

describe("the metrics fold's LLM day (the dashboard's LLM card)", () => {
  beforeEach(() => {
    position = 0;
  });

  it('adds up the calls, failures, fallbacks, tokens and cost of the UTC day', () => {
    const events = [failed(NOW - 3_600_000), fallback(NOW - 3_600_000), succeeded(NOW - 3_600_000), succeeded(NOW)];
    const state = events.reduce((s, e) => foldMetrics(s, e, new Date(NOW)), initialMetricsState());
    expect(snapshotOf(state, new Date(NOW)).llmToday).to.deep.equal({
      day: '2026-03-01',
      calls: 3,
      failed: 1,
      fallbacks: 1,
      tokensIn: 84,
      tokensOut: 14,
      costUsd: 0.00024,
    });
  });

  it("starts again at zero when the day turns, and an earlier day's late event does not count", () => {
    const yesterday = NOW - 24 * 3_600_000;
    let state = [succeeded(yesterday), fallback(yesterday)].reduce(
      (s, e) => foldMetrics(s, e, new Date(yesterday)),
      initialMetricsState(),
    );
    // no event today yet: the card shows today's zeros, not yesterday's totals
    expect(snapshotOf(state, new Date(NOW)).llmToday).to.include({ day: '2026-03-01', calls: 0, fallbacks: 0 });
    state = foldMetrics(state, succeeded(NOW), new Date(NOW));
    state = foldMetrics(state, failed(yesterday), new Date(NOW));
    expect(snapshotOf(state, new Date(NOW)).llmToday).to.include({ calls: 1, failed: 0, tokensIn: 42 });
  });
});
