import { expect } from 'chai';
import type { Subscription as RxSubscription } from 'rxjs';
import type { LiveEvent, MetricsSnapshot } from '#application/metrics/live.js';
import { createLiveFeed, type LiveFeedHandle } from '#projections/metrics/liveFeed.js';
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
      clock: () => new Date(),
      projectionStatus: () => projectionStatus(t.db, t.store, [sampleProjection()]),
      ...options,
    });
    await feed.start();
    return feed;
  };

  it('starts from the history: processes and locks are there before the first live event, windows only hold recent events', async () => {
    await t.store.append('account-old', [
      newEvent('LoginFailed', { accountId: 'old' }, { occurredAt: secondsAgo(3600) }),
      newEvent('AccountLocked', { accountId: 'old', until: secondsAgo(3000) }, { occurredAt: secondsAgo(3600) }),
    ]);
    await t.store.append('process-worker-web', [
      newEvent('ProcessStarted', { name: 'worker-web', instance: 'host:1' }),
    ]);
    await t.store.append('account-a', [
      newEvent('AccountLocked', { accountId: 'a', until: new Date(Date.now() + 600_000).toISOString() }),
    ]);

    const snapshot = (await startFeed({ expectedProcesses: ['app'] })).current();
    expect(snapshot.security).to.deep.equal({
      loginFailuresLastMinute: 0,
      lockoutsLastMinute: 1,
      lockedAccounts: 1,
      rateLimitedLastMinute: 0,
    });
    expect(snapshot.processes.map((p) => [p.name, p.state])).to.deep.equal([
      ['app', 'unknown'],
      ['worker-web', 'running'],
    ]);
    expect(snapshot.position).to.equal(await t.store.headPosition());
  });

  it('reflects appended events in snapshots$ within 1.5 s, and events$ emits each new event once, in order, history excluded', async () => {
    await t.store.append('account-old', [newEvent('LoginFailed', { accountId: 'old' })]);
    await startFeed();
    const snapshots: MetricsSnapshot[] = [];
    const events: LiveEvent[] = [];
    rx.push(feed!.snapshots$.subscribe((s) => snapshots.push(s)));
    rx.push(feed!.events$.subscribe((e) => events.push(e)));
    expect(snapshots, 'a new subscriber gets the latest snapshot at once').to.have.length(1);

    const appendedAt = Date.now();
    await t.store.append('account-a', [
      newEvent('LoginFailed', { accountId: 'a' }),
      newEvent('LoginFailed', { accountId: 'a' }),
      newEvent('AccountLocked', { accountId: 'a', until: new Date(Date.now() + 600_000).toISOString() }),
    ]);
    await t.store.append('ratelimit-10-0-0-1', [newEvent('RateLimited', { ip: '10.0.0.1' })]);
    await t.store.append('account-b', [newEvent('AccountCreated', { accountId: 'b' })]);
    await t.store.append('process-app', [newEvent('ProcessStarted', { name: 'app', instance: 'h:1', role: 'app' })]);
    const appended = (await t.store.readAll({ after: 1 })).map((e) => ({
      position: e.position,
      type: e.type,
      streamId: e.streamId,
    }));

    const reflects = (s: MetricsSnapshot) =>
      s.security.lockedAccounts === 1 &&
      s.security.rateLimitedLastMinute === 1 &&
      s.processes.some((p) => p.name === 'app' && p.state === 'running');
    await waitFor(() => snapshots.some(reflects), 1_500, 'a snapshot with the appended events');
    expect(Date.now() - appendedAt).to.be.lessThan(1_500);
    const seen = snapshots.find(reflects)!;
    expect(seen.security.loginFailuresLastMinute).to.equal(
      3,
      'the old LoginFailed is inside the window too: it was just appended',
    );
    expect(seen.projections).to.deep.equal([{ name: 'sample', position: 0, lagEvents: 0, lagMs: 0, lastError: null }]);

    await waitFor(() => events.length >= appended.length, 2_000, 'every appended event on events$');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(events.map((e) => ({ position: e.position, type: e.type, streamId: e.streamId }))).to.deep.equal(appended);
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
    await waitFor(() => snapshots.length >= 6, 3_000, 'six snapshots');
    const last = snapshots[snapshots.length - 1]!;
    expect(last.projections).to.have.length(1);
    expect(last.projections[0]).to.include({ name: 'sample', position: 0, lagEvents: 3 });
    expect(last.projections[0]!.lagMs).to.be.greaterThan(0);
    const times = snapshots.slice(1).map((s) => Date.parse(s.at));
    expect(times[times.length - 1]! - times[0]!).to.be.within(300, 2_000);
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
