import { expect } from 'chai';
import type { Subscription as RxSubscription } from 'rxjs';
import type { LiveEvent, MetricsSnapshot } from '#application/metrics/live.js';
import { createLiveFeed, type LiveFeedHandle } from '#infrastructure/metrics/liveFeed.js';
import { projectionStatus } from '#projections/runner.js';
import { newEvent, uniqueName, waitFor } from '../../support/events.js';
import { dropSchema, openTestSchema, sampleProjection, type TestSchema } from '../../support/projections.js';

const secondsAgo = (s: number) => new Date(Date.now() - s * 1000).toISOString();

describe('live metrics feed on PostgreSQL', function () {
  this.timeout(30_000);
  let t: TestSchema;
  let feed: LiveFeedHandle | null = null;
  const rx: RxSubscription[] = [];

  beforeEach(async () => {
    t = await openTestSchema(uniqueName('metrics_feed'), { create: true });
  });
  afterEach(async () => {
    for (const subscription of rx.splice(0)) subscription.unsubscribe();
    await feed?.stop();
    feed = null;
    await t.close();
    await dropSchema(t.schema);
  });

  const startFeed = async (options: Partial<Parameters<typeof createLiveFeed>[0]> = {}) => {
    feed = createLiveFeed({
      store: t.store,
      projectionStatus: () => projectionStatus(t.db, t.store, [sampleProjection()]),
      ...options,
    });
    await feed.start();
    return feed;
  };

  it('starts from the history: queue, processes and locks are there before the first live event, windows only hold recent events', async () => {
    await t.store.append('chat-web-1', [
      newEvent('MessageQueued', { messageId: 'm1' }, { occurredAt: secondsAgo(7200) }),
      newEvent('MessageQueued', { messageId: 'm2' }, { occurredAt: secondsAgo(3600) }),
      newEvent('MessageSent', { messageId: 'm1' }, { occurredAt: secondsAgo(3500) }),
      newEvent('MessageReceived', { messageId: 'in1' }, { occurredAt: secondsAgo(3600) }),
    ]);
    await t.store.append('process-worker-web', [
      newEvent('ProcessStarted', { name: 'worker-web', instance: 'host:1' }),
    ]);
    await t.store.append('account-a', [
      newEvent('AccountLocked', { accountId: 'a', until: new Date(Date.now() + 600_000).toISOString() }),
    ]);

    const snapshot = (await startFeed({ expectedProcesses: ['app'] })).current();
    expect(snapshot.messages.queueDepth).to.equal(1);
    expect(snapshot.messages.oldestQueuedAgeSeconds).to.be.closeTo(3600, 5);
    expect(snapshot.messages.inPerSecond).to.equal(0);
    expect(snapshot.security.lockedAccounts).to.equal(1);
    expect(snapshot.processes.map((p) => [p.name, p.state])).to.deep.equal([
      ['app', 'unknown'],
      ['worker-web', 'running'],
    ]);
    expect(snapshot.position).to.equal(await t.store.headPosition());
  });

  it('reflects appended events in the next snapshots$, and events$ emits each new event once, in order, history excluded', async () => {
    await t.store.append('chat-web-old', [newEvent('MessageReceived', {})]);
    await startFeed();
    const snapshots: MetricsSnapshot[] = [];
    const events: LiveEvent[] = [];
    rx.push(feed!.snapshots$.subscribe((s) => snapshots.push(s)));
    rx.push(feed!.events$.subscribe((e) => events.push(e)));
    expect(snapshots, 'a new subscriber gets the latest snapshot at once').to.have.length(1);

    await t.store.append('chat-web-1', [
      newEvent('MessageReceived', {}),
      newEvent('MessageReceived', {}),
      newEvent('MessageQueued', { messageId: 'q1' }),
    ]);
    await t.store.append('llm-1', [
      newEvent('LlmCallSucceeded', { provider: 'openai', model: 'gpt', latencyMs: 120, tokens: 10 }),
    ]);
    await t.store.append('account-b', [newEvent('AccountCreated', { accountId: 'b' })]);
    await t.store.append('llm-2', [newEvent('ProviderCircuitOpened', { provider: 'openai' })]);
    const appended = (await t.store.readAll({ after: 1 })).map((e) => ({
      position: e.position,
      type: e.type,
      streamId: e.streamId,
    }));

    const reflects = (s: MetricsSnapshot) =>
      s.messages.queueDepth === 1 && s.messages.inPerSecond > 0 && s.llm[0]?.circuit === 'open' && s.llm[0].calls === 1;
    // Waits on the condition, not on the clock: a slow machine delays snapshots, it does not skip them.
    await waitFor(() => snapshots.some(reflects), 15_000, 'a snapshot with the appended events');
    const seen = snapshots.find(reflects)!;
    expect(seen.messages.inPerSecond).to.equal(
      0.3,
      'the old MessageReceived is inside the window too: it was just appended',
    );
    expect(seen.llm[0]!.latencyMs).to.deep.equal({ p50: 120, p95: 120, p99: 120 });
    expect(seen.projections).to.deep.equal([{ name: 'sample', position: 0, lagEvents: 0, lagMs: 0, lastError: null }]);

    // No sleep to see that nothing more comes: a marker appended last arrives after any duplicate would.
    const [marker] = await t.store
      .append('marker', [newEvent('MessageReceived', {})])
      .then(() => t.store.readStream('marker'));
    const expected = [...appended, { position: marker!.position, type: marker!.type, streamId: 'marker' }];
    await waitFor(() => events.some((e) => e.streamId === 'marker'), 15_000, 'every appended event on events$');
    expect(events.map((e) => ({ position: e.position, type: e.type, streamId: e.streamId }))).to.deep.equal(expected);
    expect(events[0]).to.have.all.keys('position', 'type', 'streamId', 'occurredAt', 'correlationId', 'actor');
  });

  it('emits a snapshot every interval and shows projection lag from the real checkpoints', async () => {
    await t.store.append('counted', [
      newEvent('Counted', { n: 1 }),
      newEvent('Counted', { n: 2 }),
      newEvent('Counted', { n: 3 }),
    ]);
    await startFeed({ intervalMs: 100, projectionStatusIntervalMs: 100 });
    const snapshots: MetricsSnapshot[] = [];
    rx.push(feed!.snapshots$.subscribe((s) => snapshots.push(s)));
    await waitFor(() => snapshots.length >= 6, 15_000, 'six snapshots');
    const last = snapshots[snapshots.length - 1]!;
    expect(last.projections).to.have.length(1);
    expect(last.projections[0]).to.include({ name: 'sample', position: 0, lagEvents: 3 });
    expect(last.projections[0]!.lagMs).to.be.greaterThan(0);
    const times = snapshots.slice(1).map((s) => Date.parse(s.at));
    // Five intervals of 100 ms: never faster than asked (a slow machine may only stretch them).
    expect(times[times.length - 1]! - times[0]!).to.be.at.least(300);
  });

  it('completes both streams on stop', async () => {
    await startFeed();
    let completed = 0;
    rx.push(feed!.snapshots$.subscribe({ complete: () => (completed += 1) }));
    rx.push(feed!.events$.subscribe({ complete: () => (completed += 1) }));
    await feed!.stop();
    expect(completed).to.equal(2);
  });
});
