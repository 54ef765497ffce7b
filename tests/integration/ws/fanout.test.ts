import { expect } from 'chai';
import { Redis } from 'ioredis';
import type { LiveEvent, MetricsSnapshot } from '#application/metrics/live.js';
import { systemRuntime } from '#infrastructure/shared/runtime.js';
import { createFanout, type Fanout } from '#infrastructure/metrics/fanout.js';
import { TEST_REDIS_URL } from '../../support/app.js';
import { uniqueName } from '../../support/events.js';
import { sampleEvent, sampleSnapshot, subjectFeed, waitFor, type SubjectFeed } from './harness.js';

const LEASE_MS = 600;

type Member = { redis: Redis; local: SubjectFeed; fanout: Fanout; events: LiveEvent[]; snapshots: MetricsSnapshot[] };

describe('live metrics fan-out over Redis pub/sub (real Redis)', function () {
  this.timeout(20_000);
  const opened: Member[] = [];
  const redisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 500,
    commandTimeout: 1_000,
    retryStrategy: () => 200,
  };

  const member = (channel: string, options: { publish?: boolean; url?: string } = {}): Member => {
    const redis = new Redis(options.url ?? TEST_REDIS_URL, redisOptions);
    redis.on('error', () => undefined);
    const local = subjectFeed();
    const fanout = createFanout({
      redis,
      local,
      channel,
      publish: options.publish ?? true,
      leaseMs: LEASE_MS,
      runtime: systemRuntime,
    });
    const m: Member = { redis, local, fanout, events: [], snapshots: [] };
    fanout.events$.subscribe((e) => m.events.push(e));
    fanout.snapshots$.subscribe((s) => m.snapshots.push(s));
    opened.push(m);
    return m;
  };
  /** What every process does: its own event-store subscription sees the same events. */
  const everyoneSees = (members: Member[], event: LiveEvent) => members.forEach((m) => m.local.events.next(event));

  afterEach(async () => {
    for (const m of opened.splice(0)) {
      await m.fanout.close();
      m.redis.disconnect();
    }
  });

  it('without Redis, the local feed is the feed', async () => {
    const local = subjectFeed();
    const fanout = createFanout({ redis: null, local, channel: 'unused', publish: true, runtime: systemRuntime });
    const seen: LiveEvent[] = [];
    fanout.events$.subscribe((e) => seen.push(e));
    local.events.next(sampleEvent(1));
    expect(seen.map((e) => e.position)).to.deep.equal([1]);
    expect(fanout.mode()).to.equal('local');
    await fanout.close();
  });

  it('elects one publisher; every process relays its output exactly once and followers compute nothing', async () => {
    const channel = `${uniqueName('t')}:metrics:live`;
    const a = member(channel);
    await waitFor(() => a.fanout.isLeader(), 3_000, 'a leads');
    const b = member(channel);
    const c = member(channel, { publish: false });
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS)); // b has tried to claim, and failed
    expect([a, b, c].map((m) => m.fanout.isLeader())).to.deep.equal([true, false, false]);
    // Followers have not subscribed their local feed: a lazy producer does no work there.
    expect([a, b, c].map((m) => m.local.events.observed)).to.deep.equal([true, false, false]);

    for (let position = 1; position <= 5; position++) everyoneSees([a, b, c], sampleEvent(position));
    a.local.snapshots.next(sampleSnapshot(5));
    for (const m of [a, b, c]) {
      await waitFor(() => m.events.length === 5 && m.snapshots.length === 1, 3_000, 'the relayed stream');
      expect(m.events.map((e) => e.position)).to.deep.equal([1, 2, 3, 4, 5]);
      expect(m.snapshots[0]!.position).to.equal(5);
    }
  });

  it('hands the lead over when the publisher stops, and the stream goes on', async () => {
    const channel = `${uniqueName('t')}:metrics:live`;
    const a = member(channel);
    await waitFor(() => a.fanout.isLeader(), 3_000, 'a leads');
    const b = member(channel);
    await waitFor(() => b.local.events.observed === false && b.fanout.mode() === 'redis', 3_000);
    everyoneSees([a, b], sampleEvent(1));
    await waitFor(() => b.events.length === 1, 3_000, 'first event at b');
    await a.fanout.close();
    await waitFor(() => b.fanout.isLeader(), LEASE_MS * 2, 'b takes over');
    everyoneSees([b], sampleEvent(1)); // a duplicate from the new leader's catch-up is dropped by position
    everyoneSees([b], sampleEvent(2));
    // No sleep to see that no duplicate comes late: a third event arrives after any would.
    everyoneSees([b], sampleEvent(3));
    await waitFor(() => b.events.some((e) => e.position === 3), 3_000, 'the events at b');
    expect(b.events.map((e) => e.position)).to.deep.equal([1, 2, 3]);
  });

  it('ignores messages of a deposed leader (older epoch) and garbage on the channel', async () => {
    const channel = `${uniqueName('t')}:metrics:live`;
    const a = member(channel);
    await waitFor(() => a.fanout.isLeader(), 3_000, 'a leads');
    a.local.snapshots.next(sampleSnapshot(10));
    await waitFor(() => a.snapshots.length === 1, 3_000);
    const intruder = new Redis(TEST_REDIS_URL);
    try {
      await intruder.publish(
        channel,
        JSON.stringify({ v: 1, epoch: 1, from: 'old-leader', kind: 'snapshot', data: sampleSnapshot(3) }),
      );
      await intruder.publish(channel, 'not json');
      await intruder.publish(
        channel,
        JSON.stringify({ v: 1, epoch: Number.MAX_SAFE_INTEGER, kind: 'event', data: { type: 'x' } }),
      );
      a.local.snapshots.next(sampleSnapshot(11));
      await waitFor(() => a.snapshots.length === 2, 3_000);
      expect(a.snapshots.map((s) => s.position)).to.deep.equal([10, 11]);
    } finally {
      intruder.disconnect();
    }
  });

  it('with Redis unreachable, relays its own local feed after a lease, so its clients keep a live view', async () => {
    const m = member(`${uniqueName('t')}:metrics:live`, { url: 'redis://127.0.0.1:1' });
    await waitFor(() => m.fanout.mode() === 'degraded' && m.local.events.observed, LEASE_MS * 3, 'degraded mode');
    m.local.events.next(sampleEvent(1));
    m.local.snapshots.next(sampleSnapshot(1));
    expect(m.events.map((e) => e.position)).to.deep.equal([1]);
    expect(m.snapshots).to.have.length(1);
    expect(m.fanout.isLeader()).to.equal(false);
  });
});
