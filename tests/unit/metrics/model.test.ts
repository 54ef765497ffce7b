import { expect } from 'chai';
import {
  foldMetrics,
  initialMetricsState,
  snapshotOf,
  toLiveEvent,
  type MetricsState,
} from '#application/metrics/model.js';
import type { RecordedEvent } from '#application/shared/eventStore.js';

const NOW = Date.parse('2025-11-27T12:00:00.000Z');
const now = new Date(NOW);
const ago = (ms: number) => new Date(NOW - ms).toISOString();

let position = 0;
const event = (
  type: string,
  data: Record<string, unknown> = {},
  options: { at?: string; streamId?: string } = {},
): RecordedEvent => {
  position += 1;
  return {
    id: `00000000-0000-4000-8000-${String(position).padStart(12, '0')}`,
    type,
    data,
    streamId: options.streamId ?? `stream-${position}`,
    revision: 0,
    position,
    recordedAt: options.at ?? ago(0),
    metadata: {
      correlationId: `corr-${position}`,
      causationId: null,
      actor: 'system',
      ip: null,
      userAgent: null,
      occurredAt: options.at ?? ago(0),
      schemaVersion: 1,
    },
  };
};

/** given(events) folded at `at`, then the snapshot at `at` */
const given = (events: RecordedEvent[], at: Date = now): MetricsState =>
  events.reduce((state, e) => foldMetrics(state, e, at), initialMetricsState());
const snapshot = (events: RecordedEvent[], at: Date = now, extras?: Parameters<typeof snapshotOf>[2]) =>
  snapshotOf(given(events, at), at, extras);
const times = (n: number, make: (i: number) => RecordedEvent) => Array.from({ length: n }, (_, i) => make(i));

describe('live metrics model', () => {
  beforeEach(() => {
    position = 0;
  });

  describe('message rates', () => {
    it('averages messages in and out per second over the last 10 s and leaves older ones out', () => {
      const s = snapshot([
        ...times(20, (i) => event('MessageReceived', {}, { at: ago(i * 400) })), // 0 .. 7.6 s ago
        event('MessageReceived', {}, { at: ago(10_500) }),
        event('MessageReceived', {}, { at: ago(3_600_000) }),
        ...times(5, () => event('MessageSent', { messageId: 'x' }, { at: ago(2_000) })),
      ]);
      expect(s.messages.inPerSecond).to.equal(2);
      expect(s.messages.outPerSecond).to.equal(0.5);
    });

    it('lets the rate fall back to zero as time passes without new messages', () => {
      const state = given(times(10, () => event('MessageReceived', {}, { at: ago(0) })));
      expect(snapshotOf(state, now).messages.inPerSecond).to.equal(1);
      expect(snapshotOf(state, new Date(NOW + 5_000)).messages.inPerSecond).to.equal(1);
      expect(snapshotOf(state, new Date(NOW + 10_000)).messages.inPerSecond).to.equal(0);
    });

    it('counts an event stamped in the future (clock skew) as happening now, once', () => {
      expect(snapshot([event('MessageReceived', {}, { at: ago(-30_000) })]).messages.inPerSecond).to.equal(0.1);
    });
  });

  describe('outbound queue', () => {
    it('counts queued messages until sent or failed for good, and reports the oldest one age', () => {
      const s = snapshot([
        event('MessageQueued', { messageId: 'a' }, { at: ago(90_000) }),
        event('MessageQueued', { messageId: 'b' }, { at: ago(30_000) }),
        event('MessageQueued', { messageId: 'c' }, { at: ago(5_000) }),
        event('MessageQueued', { messageId: 'd' }, { at: ago(1_000) }),
        event('MessageSent', { messageId: 'a' }),
        event('MessageDeliveryFailed', { messageId: 'c', willRetry: false }),
        event('MessageDeliveryFailed', { messageId: 'b', willRetry: true }),
      ]);
      expect(s.messages.queueDepth).to.equal(2);
      expect(s.messages.oldestQueuedAgeSeconds).to.equal(30);
    });

    it('a dead-lettered or dropped message leaves the queue; a requeued one comes back', () => {
      const s = snapshot([
        event('MessageQueued', { messageId: 'a' }, { at: ago(9_000) }),
        event('MessageQueued', { messageId: 'b' }, { at: ago(8_000) }),
        event('MessageQueued', { messageId: 'c' }, { at: ago(7_000) }),
        event('MessageDeadLettered', { messageId: 'a' }),
        event('MessageDeadLettered', { messageId: 'b' }),
        event('MessageDropped', { messageId: 'b' }),
        event('MessageRequeued', { messageId: 'a' }, { at: ago(1_000) }),
      ]);
      expect(s.messages).to.include({ queueDepth: 2, oldestQueuedAgeSeconds: 7 });
    });

    it('says 0 for the oldest age when the queue is empty, and a sent message that was never queued changes nothing', () => {
      const s = snapshot([
        event('MessageQueued', { messageId: 'a' }, { at: ago(9_000) }),
        event('MessageSent', { messageId: 'a' }),
        event('MessageSent', { messageId: 'zzz' }),
      ]);
      expect(s.messages).to.include({ queueDepth: 0, oldestQueuedAgeSeconds: 0 });
    });

    it('keeps queue depth from a history older than any window (it is state, not a rate)', () => {
      const s = snapshot([event('MessageQueued', { messageId: 'old' }, { at: ago(86_400_000) })]);
      expect(s.messages).to.include({ queueDepth: 1, oldestQueuedAgeSeconds: 86_400, inPerSecond: 0 });
    });
  });

  describe('LLM providers', () => {
    it('gives nearest-rank latency percentiles of the successful calls and the error rate, per provider', () => {
      const s = snapshot([
        ...times(100, (i) =>
          event(
            'LlmCallSucceeded',
            { provider: 'openai', model: 'm', latencyMs: (i + 1) * 10, tokens: 5 },
            { at: ago(i * 100) },
          ),
        ),
        ...times(25, () => event('LlmCallFailed', { provider: 'openai', errorKind: 'timeout' }, { at: ago(1_000) })),
        event('LlmCallSucceeded', { provider: 'ollama', model: 'm', latencyMs: 42, tokens: 1 }),
        event('LlmCallFailed', { provider: 'ollama', errorKind: 'http' }),
      ]);
      expect(s.llm).to.deep.equal([
        { provider: 'ollama', calls: 2, errorRate: 0.5, latencyMs: { p50: 42, p95: 42, p99: 42 }, circuit: 'closed' },
        {
          provider: 'openai',
          calls: 125,
          errorRate: 0.2,
          latencyMs: { p50: 500, p95: 950, p99: 990 },
          circuit: 'closed',
        },
      ]);
    });

    it('forgets calls older than 60 s but keeps listing the provider, with no latency and a zero error rate', () => {
      const s = snapshot([
        event('LlmCallSucceeded', { provider: 'openai', latencyMs: 100 }, { at: ago(61_000) }),
        event('LlmCallFailed', { provider: 'openai' }, { at: ago(120_000) }),
      ]);
      expect(s.llm).to.deep.equal([{ provider: 'openai', calls: 0, errorRate: 0, latencyMs: null, circuit: 'closed' }]);
    });

    it('follows circuit transitions: open, half open, closed, and open again', () => {
      const opened = event('ProviderCircuitOpened', { provider: 'openai' });
      const states = [
        opened,
        event('ProviderCircuitHalfOpened', { provider: 'openai' }),
        event('ProviderCircuitClosed', { provider: 'openai' }),
        event('ProviderCircuitOpened', { provider: 'openai' }),
      ].reduce<{ state: MetricsState; seen: string[] }>(
        ({ state, seen }, e) => {
          const next = foldMetrics(state, e, now);
          return { state: next, seen: [...seen, snapshotOf(next, now).llm[0]!.circuit] };
        },
        { state: initialMetricsState(), seen: [] },
      ).seen;
      expect(states).to.deep.equal(['open', 'half_open', 'closed', 'open']);
    });

    it('counts a call refused by an open circuit as a failure without dragging the latency down', () => {
      const s = snapshot([
        event('LlmCallSucceeded', { provider: 'p', latencyMs: 800 }),
        event('LlmCallFailed', { provider: 'p', errorKind: 'circuit_open', latencyMs: 0 }),
      ]);
      expect(s.llm[0]).to.include({ calls: 2, errorRate: 0.5 });
      expect(s.llm[0]!.latencyMs).to.deep.equal({ p50: 800, p95: 800, p99: 800 });
    });
  });

  describe('security', () => {
    it('counts login failures, lockouts and rate limits of the last minute', () => {
      const s = snapshot([
        ...times(4, () => event('LoginFailed', { accountId: 'a', reason: 'wrong_password' }, { at: ago(10_000) })),
        event('LoginFailed', { accountId: 'a', reason: 'wrong_password' }, { at: ago(61_000) }),
        event('AccountLocked', { accountId: 'a', until: ago(-300_000) }, { at: ago(10_000) }),
        event('AccountLocked', { accountId: 'b', until: ago(-300_000) }, { at: ago(120_000) }),
        event('RateLimited', { ip: '10.0.0.1' }, { at: ago(59_000) }),
      ]);
      expect(s.security).to.deep.equal({
        loginFailuresLastMinute: 4,
        lockoutsLastMinute: 1,
        lockedAccounts: 2,
        rateLimitedLastMinute: 1,
      });
    });

    it('counts an account as locked until it is unlocked or its lock runs out', () => {
      const lockA = event('AccountLocked', { accountId: 'a', until: ago(-60_000) }, { streamId: 'account-a' });
      const lockB = event('AccountLocked', { accountId: 'b', until: ago(-600_000) }, { streamId: 'account-b' });
      const lockC = event('AccountLocked', { accountId: 'c', until: ago(-600_000) }, { streamId: 'account-c' });
      const unlockC = event('AccountUnlocked', { by: 'admin-1' }, { streamId: 'account-c' });
      const relockA = event('AccountLocked', { accountId: 'a', until: ago(-120_000) }, { streamId: 'account-a' });

      expect(snapshot([lockA, lockB, lockC]).security.lockedAccounts).to.equal(3);
      expect(snapshot([lockA, lockB, lockC, unlockC]).security.lockedAccounts).to.equal(2);
      expect(
        snapshot([lockA, lockB, lockC, unlockC, relockA]).security.lockedAccounts,
        'a lock again on the same account is still one account',
      ).to.equal(2);
      const state = given([lockA, lockB, lockC, unlockC]);
      expect(snapshotOf(state, new Date(NOW + 61_000)).security.lockedAccounts, 'a ran out').to.equal(1);
    });
  });

  describe('processes and WhatsApp sessions', () => {
    it('shows each process instance as running, stopped or crashed since its last event, and expected ones as unknown', () => {
      const s = snapshot(
        [
          event('ProcessStarted', { name: 'app', instance: 'h1:1' }, { at: ago(60_000) }),
          event('ProcessStarted', { name: 'worker-web', instance: 'h1:2' }, { at: ago(50_000) }),
          event('ProcessCrashed', { name: 'worker-web', instance: 'h1:2' }, { at: ago(40_000) }),
          event('ProcessStarted', { name: 'scheduler', instance: 'h1:3' }, { at: ago(30_000) }),
          event('ProcessStopped', { name: 'scheduler', instance: 'h1:3' }, { at: ago(20_000) }),
        ],
        now,
        { expectedProcesses: ['app', 'worker-web', 'scheduler', 'extra'] },
      );
      expect(s.processes).to.deep.equal([
        { name: 'app', state: 'running', since: ago(60_000), instance: 'h1:1' },
        { name: 'extra', state: 'unknown', since: null, instance: null },
        { name: 'scheduler', state: 'stopped', since: ago(20_000), instance: 'h1:3' },
        { name: 'worker-web', state: 'crashed', since: ago(40_000), instance: 'h1:2' },
      ]);
    });

    it('drops the crashed instance once the process is started again, so restarts do not pile up', () => {
      const s = snapshot([
        event('ProcessStarted', { name: 'worker-web', instance: 'a' }),
        event('ProcessCrashed', { name: 'worker-web', instance: 'a' }),
        event('ProcessStarted', { name: 'worker-web', instance: 'b' }),
        event('ProcessStarted', { name: 'worker-web', instance: 'c' }),
      ]);
      expect(s.processes.map((p) => [p.instance, p.state])).to.deep.equal([
        ['b', 'running'],
        ['c', 'running'],
      ]);
    });

    it('counts connected WhatsApp sessions: connect, disconnect, log out, and the holder process stopping', () => {
      const connect = (sessionId: string, instance: string) => event('WhatsAppConnected', { sessionId, instance });
      expect(
        snapshot([connect('s1', 'w1'), connect('s2', 'w1'), connect('s3', 'w2'), connect('s1', 'w1')]).whatsapp
          .connectedSessions,
      ).to.equal(3);
      position = 0;
      const s = snapshot([
        connect('s1', 'w1'),
        connect('s2', 'w1'),
        connect('s3', 'w2'),
        connect('s4', 'w2'),
        event('WhatsAppDisconnected', { sessionId: 's3', reason: 'connection_lost' }),
        event('WhatsAppLoggedOut', { sessionId: 's4' }),
        event('ProcessCrashed', { name: 'worker-web', instance: 'w1' }),
      ]);
      expect(s.whatsapp.connectedSessions).to.equal(0);
    });
  });

  describe('the fold itself', () => {
    it('ignores a redelivered event (same or lower position) and unknown event types', () => {
      const e = event('MessageQueued', { messageId: 'a' });
      const once = given([e]);
      expect(foldMetrics(once, e, now)).to.equal(once);
      expect(foldMetrics(once, event('SomethingElse', {}), now).queue.size).to.equal(1);
    });

    it('never mutates the state it is given', () => {
      const before = given([
        event('MessageQueued', { messageId: 'a' }),
        event('ProcessStarted', { name: 'app', instance: 'i' }),
      ]);
      const copy = { ...before, queue: new Map(before.queue), processes: new Map(before.processes) };
      foldMetrics(before, event('MessageSent', { messageId: 'a' }), now);
      foldMetrics(before, event('ProcessStopped', { name: 'app', instance: 'i' }), now);
      expect(before.queue).to.deep.equal(copy.queue);
      expect(before.processes).to.deep.equal(copy.processes);
    });
  });

  describe('snapshot shape', () => {
    it('has every section, the time it was taken, the newest position, and the projection lag it was given', () => {
      const s = snapshot([event('MessageReceived'), event('MessageReceived')], now, {
        projections: [
          {
            name: 'accounts',
            position: 7,
            lagEvents: 3,
            lagMs: 1500,
            lastError: null,
            ...{ version: 1, running: true },
          },
        ],
      });
      expect(s).to.have.all.keys(
        'at',
        'position',
        'messages',
        'llm',
        'security',
        'projections',
        'processes',
        'whatsapp',
      );
      expect(s.at).to.equal(now.toISOString());
      expect(s.position).to.equal(2);
      expect(s.messages).to.have.all.keys('inPerSecond', 'outPerSecond', 'queueDepth', 'oldestQueuedAgeSeconds');
      expect(s.security).to.have.all.keys(
        'loginFailuresLastMinute',
        'lockoutsLastMinute',
        'lockedAccounts',
        'rateLimitedLastMinute',
      );
      expect(s.projections).to.deep.equal([
        { name: 'accounts', position: 7, lagEvents: 3, lagMs: 1500, lastError: null },
      ]);
      expect(JSON.parse(JSON.stringify(s))).to.deep.equal(s);
    });

    it('turns an event into a live event without its data', () => {
      const e = event('LoginFailed', { username: 'alice', secret: 'x' }, { streamId: 'account-1' });
      expect(toLiveEvent(e)).to.deep.equal({
        position: e.position,
        type: 'LoginFailed',
        streamId: 'account-1',
        occurredAt: e.metadata.occurredAt,
        correlationId: e.metadata.correlationId,
        actor: 'system',
      });
    });
  });
});
