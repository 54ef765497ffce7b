import { expect } from 'chai';
import {
  foldMetrics,
  initialMetricsState,
  snapshotOf,
  toLiveEvent,
  type MetricsState,
} from '#projections/metrics/model.js';
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

  describe('security', () => {
    it('lets a window fall back to zero as time passes without new events', () => {
      const state = given(times(3, () => event('LoginFailed', { accountId: 'a' }, { at: ago(0) })));
      expect(snapshotOf(state, now).security.loginFailuresLastMinute).to.equal(3);
      expect(snapshotOf(state, new Date(NOW + 59_000)).security.loginFailuresLastMinute).to.equal(3);
      expect(snapshotOf(state, new Date(NOW + 60_000)).security.loginFailuresLastMinute).to.equal(0);
    });

    it('counts an event stamped in the future (clock skew) as happening now, once', () => {
      expect(snapshot([event('LoginFailed', {}, { at: ago(-30_000) })]).security.loginFailuresLastMinute).to.equal(1);
    });

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

  describe('messages (the dashboard WhatsApp card and charts)', () => {
    const ids = (messageId: string) => ({ messageId, numberId: 'sales', chatId: 'c1' });
    it('counts received and sent per second over 10 s, and the queue until sent, dead-lettered or dropped', () => {
      const events = [
        ...times(20, (i) => event('MessageReceived', { ...ids(`in-${i}`) }, { at: ago(1_000) })),
        event('MessageQueued', ids('m1'), { at: ago(30_000) }),
        event('MessageQueued', ids('m2'), { at: ago(20_000) }),
        event('MessageQueued', ids('m3'), { at: ago(5_000) }),
        event('MessageQueued', ids('m4'), { at: ago(4_000) }),
        // a failed attempt that will be retried keeps the message queued (not folded)
        event('MessageSendFailed', { ...ids('m2'), attempt: 1, retryable: true, nextAttemptAt: ago(0) }),
        event('MessageSent', ids('m1'), { at: ago(2_000) }),
        event('MessageDeadLettered', ids('m3'), { at: ago(1_000) }),
        event('MessageDropped', ids('m4'), { at: ago(1_000) }),
      ];
      const s = snapshot(events);
      expect(s.messages.inPerSecond).to.equal(2);
      expect(s.messages.outPerSecond).to.equal(0.1);
      expect(s.messages.queueDepth).to.equal(1);
      expect(s.messages.oldestQueuedAgeSeconds).to.equal(20);
      // an admin requeues the dead letter: queued again; the windows empty out as time passes
      const later = new Date(NOW + 11_000);
      const again = snapshotOf(foldMetrics(given(events), event('MessageRequeued', ids('m3')), now), later);
      expect(again.messages.queueDepth).to.equal(2);
      expect([again.messages.inPerSecond, again.messages.outPerSecond]).to.deep.equal([0, 0]);
    });

    it('a redelivered MessageQueued keeps the first queued time', () => {
      const queued = event('MessageQueued', ids('m1'), { at: ago(9_000) });
      const state = given([queued, event('MessageQueued', ids('m1'), { at: ago(1_000) })]);
      expect(snapshotOf(state, now).messages.oldestQueuedAgeSeconds).to.equal(9);
    });
  });

  describe('processes', () => {
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
  });

  describe('the fold itself', () => {
    it('ignores a redelivered event (same or lower position) and unknown event types', () => {
      const e = event('AccountLocked', { accountId: 'a', until: ago(-60_000) });
      const once = given([e]);
      expect(foldMetrics(once, e, now)).to.equal(once);
      expect(foldMetrics(once, event('SomethingElse', {}), now).locked.size).to.equal(1);
    });

    it('never mutates the state it is given', () => {
      const before = given([
        event('AccountLocked', { accountId: 'a', until: ago(-60_000) }),
        event('ProcessStarted', { name: 'app', instance: 'i' }),
      ]);
      const copy = { ...before, locked: new Map(before.locked), processes: new Map(before.processes) };
      foldMetrics(before, event('AccountUnlocked', { accountId: 'a' }), now);
      foldMetrics(before, event('ProcessStopped', { name: 'app', instance: 'i' }), now);
      expect(before.locked).to.deep.equal(copy.locked);
      expect(before.processes).to.deep.equal(copy.processes);
    });
  });

  describe('snapshot shape', () => {
    it('has every section, the time it was taken, the newest position, and the projection lag it was given', () => {
      const s = snapshot([event('LoginFailed'), event('RateLimited')], now, {
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
        'llmToday',
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
