import { expect } from 'chai';
import type { EventStore, RecordedEvent, SubscribeOptions } from '#application/shared/eventStore.js';
import { createLiveFeed, type LiveFeedHandle } from '#projections/metrics/liveFeed.js';
import { metricsProjection, readMetricsState } from '#projections/metrics/metrics.js';
import { METRICS_EVENT_TYPES } from '#projections/metrics/model.js';
import { allProjections } from '#projections/registry.js';
import { projectionStatus, rebuildProjection } from '#projections/runner.js';
import { newEvent, uniqueName } from '../../support/events.js';
import { dropSchema, openTestSchema, type TestSchema } from '../../support/projections.js';

const clock = () => new Date();
const inMinutes = (m: number) => new Date(Date.now() + m * 60_000).toISOString();

/** The store, counting the events the live feed's fold subscription is handed (the one filtered on metric types). */
const countingFold = (store: EventStore) => {
  const counter = { folded: 0 };
  const counting: EventStore = {
    kind: store.kind,
    append: (streamId, events, options) => store.append(streamId, events, options),
    readStream: (streamId, options) => store.readStream(streamId, options),
    readAll: (options) => store.readAll(options),
    subscribeToAll: (options: SubscribeOptions) =>
      store.subscribeToAll({
        ...options,
        onEvent: (event: RecordedEvent) => {
          if (options.filter?.eventTypes !== undefined) counter.folded += 1;
          return options.onEvent(event);
        },
      }),
    headPosition: () => store.headPosition(),
    ping: () => store.ping(),
    close: () => store.close(),
  };
  return { counting, counter };
};

describe('the metrics projection (stored state of the live metrics)', function () {
  this.timeout(60_000);
  let t: TestSchema;
  const feeds: LiveFeedHandle[] = [];

  beforeEach(async () => {
    t = await openTestSchema(uniqueName('metrics_proj'), { create: true });
  });
  afterEach(async () => {
    for (const feed of feeds.splice(0)) await feed.stop();
    await t.close();
    await dropSchema(t.schema);
  });

  /** 40 accounts locked and 2 unlocked, a worker started, some noise: history the fold must not re-read. */
  const history = async () => {
    for (let i = 0; i < 40; i++)
      await t.store.append(`account-a${i}`, [
        newEvent('LoginFailed', { accountId: `a${i}`, reason: 'wrong_password' }),
        newEvent('AccountLocked', { accountId: `a${i}`, until: inMinutes(30), lockoutCount: 1, failures: 5 }),
      ]);
    await t.store.append('account-a0', [newEvent('AccountUnlocked', { accountId: 'a0', by: 'admin' })]);
    await t.store.append('account-a1', [newEvent('AccountUnlocked', { accountId: 'a1', by: 'admin' })]);
    await t.store.append('process-worker-web', [
      newEvent('ProcessStarted', { name: 'worker-web', instance: 'h:1', role: 'worker-web' }),
    ]);
    await t.store.append('noise', [newEvent('Counted', { n: 1 })]);
  };

  it('a start folds only the events after the stored checkpoint, not the history from position 0', async () => {
    await history();
    await rebuildProjection({ db: t.db, store: t.store, projection: metricsProjection });
    await t.store.append('account-b', [
      newEvent('AccountLocked', { accountId: 'b', until: inMinutes(30), lockoutCount: 1, failures: 5 }),
    ]);
    await t.store.append('process-scheduler', [
      newEvent('ProcessStarted', { name: 'scheduler', instance: 'h:2', role: 'scheduler' }),
    ]);

    const restarted = countingFold(t.store);
    const fromSnapshot = createLiveFeed({
      store: restarted.counting,
      clock,
      storedState: () => readMetricsState(t.db.knex),
    });
    feeds.push(fromSnapshot);
    await fromSnapshot.start();
    expect(restarted.counter.folded, 'events folded at start').to.equal(2);

    // The same figures as a fold of everything from position 0 (which reads all 85 metric events).
    const replay = countingFold(t.store);
    const fromZero = createLiveFeed({ store: replay.counting, clock });
    feeds.push(fromZero);
    await fromZero.start();
    expect(replay.counter.folded).to.equal(85);
    const [a, b] = [fromSnapshot.current(), fromZero.current()];
    expect(a.security).to.deep.equal(b.security);
    expect(a.security).to.include({ lockedAccounts: 39, lockoutsLastMinute: 41, loginFailuresLastMinute: 40 });
    expect(a.processes).to.deep.equal(b.processes);
    expect(a.processes.map((p) => [p.name, p.state])).to.deep.equal([
      ['scheduler', 'running'],
      ['worker-web', 'running'],
    ]);
    expect(a.position).to.equal(await t.store.headPosition());
  });

  it('is in the registry, so `projections status` lists it with its checkpoint and lag', async () => {
    await history();
    expect(allProjections().map((p) => p.name)).to.include('metrics');
    expect(metricsProjection.handles).to.deep.equal(METRICS_EVENT_TYPES);
    await rebuildProjection({ db: t.db, store: t.store, projection: metricsProjection });
    const lastMetric = await t.store.append('account-c', [newEvent('LoginFailed', { accountId: 'c' })]);
    const status = (await projectionStatus(t.db, t.store, allProjections())).find((p) => p.name === 'metrics');
    expect(status).to.deep.include({ lagEvents: 1, eventsApplied: 83 });
    expect(status!.position).to.be.lessThan(lastMetric.position);
  });

  it('a rebuild writes the same stored state: it depends on the events alone, not on when they are folded', async () => {
    await history();
    await rebuildProjection({ db: t.db, store: t.store, projection: metricsProjection });
    const first = await t.db.knex('metrics_snapshot').select('position', 'state');
    await rebuildProjection({ db: t.db, store: t.store, projection: metricsProjection });
    expect(await t.db.knex('metrics_snapshot').select('position', 'state')).to.deep.equal(first);
    expect(first).to.have.length(1);
  });
});
