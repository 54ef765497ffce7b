import { expect } from 'chai';
import pg from 'pg';
import type { RecordedEvent } from '#application/shared/eventStore.js';
import { applyBatch } from '#projections/shared/checkpoints.js';
import {
  CheckpointMovedError,
  projectionStatus,
  startProjections,
  type ProjectionRunner,
} from '#projections/runner.js';
import { TEST_DATABASE_URL, newEvent, uniqueName, waitFor } from '../../support/events.js';
import {
  checkpointOf,
  dropSchema,
  openTestSchema,
  sampleCounters,
  sampleProjection,
  sampleRows,
  type TestSchema,
} from '../../support/projections.js';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('projection runner on PostgreSQL', function () {
  this.timeout(60_000);
  let t: TestSchema;
  let appName: string;
  const runners: ProjectionRunner[] = [];

  beforeEach(async () => {
    appName = uniqueName('proj_runner');
    t = await openTestSchema(uniqueName('proj_runner'), { create: true, applicationName: appName });
  });
  afterEach(async () => {
    for (const runner of runners.splice(0)) await runner.stop();
    await t.close();
    await dropSchema(t.schema);
  });

  const start = (options: Partial<Parameters<typeof startProjections>[0]> = {}) => {
    const runner = startProjections({
      db: t.db,
      store: t.store,
      projections: [sampleProjection()],
      logger: quiet,
      lockRetryMs: 100,
      pollIntervalMs: 200,
      ...options,
    });
    runners.push(runner);
    return runner;
  };
  const appendCounted = async (stream: string, from: number, count: number): Promise<RecordedEvent[]> => {
    await t.store.append(
      stream,
      Array.from({ length: count }, (_, i) => newEvent('Counted', { n: from + i })),
    );
    return (await t.store.readStream(stream)).slice(-count);
  };
  const caughtUpTo = (position: number, name = 'sample') =>
    waitFor(async () => (await checkpointOf(t.db.knex, name))?.position === position, 20_000, `checkpoint ${position}`);

  it('given events, it writes one row per handled event and a counter per stream, ignoring other types', async () => {
    await appendCounted('a', 1, 3);
    await t.store.append('b', [
      newEvent('Counted', { n: 4 }),
      newEvent('Ignored', { n: 99 }),
      newEvent('Counted', { n: 5 }),
    ]);
    await t.store.append('a', [newEvent('Noted', { n: 6 }), newEvent('Ignored', { n: 100 })]);
    start();
    // The checkpoint records how far it scanned: past the trailing Ignored event, to the head.
    await caughtUpTo(await t.store.headPosition());

    const rows = await sampleRows(t.db.knex);
    expect(rows.map((r) => [r.stream_id, r.type, r.n])).to.deep.equal([
      ['a', 'Counted', 1],
      ['a', 'Counted', 2],
      ['a', 'Counted', 3],
      ['b', 'Counted', 4],
      ['b', 'Counted', 5],
      ['a', 'Noted', 6],
    ]);
    expect(await sampleCounters(t.db.knex)).to.deep.equal({ a: 3, b: 2 });
    const checkpoint = await checkpointOf(t.db.knex);
    expect(checkpoint).to.include({ events_applied: 6, version: 1, last_error: null });
    expect(checkpoint!.last_event_at!.getTime()).to.be.closeTo(Date.now(), 60_000);
  });

  it('applies an event appended while it runs within a fraction of a second (woken by the store, not by polling)', async () => {
    start({ pollIntervalMs: 10_000 });
    await waitFor(async () => (await checkpointOf(t.db.knex)) !== null, 10_000, 'checkpoint row');
    await new Promise((resolve) => setTimeout(resolve, 300)); // let it go idle
    const began = Date.now();
    const [event] = await appendCounted('live', 1, 1);
    await caughtUpTo(event!.position);
    // Typically tens of ms; the bound only has to be far below the 10 s poll to prove the wake-up path.
    expect(Date.now() - began).to.be.lessThan(2_000);
  });

  it('is idempotent: a restart changes nothing, and re-delivering an applied batch is refused by the checkpoint', async () => {
    const events = await appendCounted('idem', 1, 20);
    const runner = start({ batchSize: 7 });
    await caughtUpTo(events[19]!.position);
    await runner.stop();
    const before = {
      rows: await sampleRows(t.db.knex),
      counters: await sampleCounters(t.db.knex),
      checkpoint: await checkpointOf(t.db.knex),
    };

    start({ batchSize: 7 });
    await waitFor(() => runners[1]!.status()[0]!.state === 'live', 10_000, 'live again');
    let redelivery: unknown = null;
    await applyBatch(t.db.knex, sampleProjection(), 0, events).catch((error: unknown) => (redelivery = error));

    expect(redelivery).to.be.instanceOf(CheckpointMovedError);
    expect(await sampleRows(t.db.knex)).to.deep.equal(before.rows);
    expect(await sampleCounters(t.db.knex)).to.deep.equal({ idem: 20 });
    expect(await checkpointOf(t.db.knex)).to.deep.equal(before.checkpoint);
  });

  it('a checkpoint moved by someone else mid-batch aborts the batch (nothing written) and the runner continues from there', async () => {
    const runner = start();
    await waitFor(() => runner.status()[0]!.state === 'live', 10_000, 'live');
    const intruder = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await intruder.connect();
    try {
      await intruder.query('begin');
      await intruder.query(
        `select position from "${t.schema}".projection_checkpoints where name = 'sample' for update`,
      );
      const events = await appendCounted('cas', 1, 10);
      // The runner has read its batch and now waits for the checkpoint row inside its transaction.
      await waitFor(
        async () =>
          (
            await intruder.query(
              `select 1 from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'`,
              [appName],
            )
          ).rows.length > 0,
        10_000,
        'runner blocked on the checkpoint',
      );
      await intruder.query(`update "${t.schema}".projection_checkpoints set position = $1 where name = 'sample'`, [
        events[4]!.position,
      ]);
      await intruder.query('commit');
      await caughtUpTo(events[9]!.position);
    } finally {
      await intruder.end();
    }
    expect((await sampleRows(t.db.knex)).map((r) => r.n)).to.deep.equal([6, 7, 8, 9, 10]);
    expect(await sampleCounters(t.db.knex)).to.deep.equal({ cas: 5 });
    expect(runner.status()[0]!.batchesAborted).to.equal(1);
  });

  it('a version bump rebuilds the read model at start', async () => {
    const events = await appendCounted('v', 1, 5);
    const v1 = start();
    await caughtUpTo(events[4]!.position);
    await v1.stop();
    expect(new Set((await sampleRows(t.db.knex)).map((r) => r.applied_by))).to.deep.equal(new Set(['test']));

    start({ projections: [sampleProjection({ version: 2, appliedBy: 'v2' })] });
    await waitFor(
      async () =>
        (await checkpointOf(t.db.knex))?.version === 2 &&
        (await sampleRows(t.db.knex)).length === 5 &&
        (await checkpointOf(t.db.knex))?.position === events[4]!.position,
      10_000,
      'rebuilt',
    );
    const rows = await sampleRows(t.db.knex);
    expect(rows.map((r) => [r.n, r.applied_by])).to.deep.equal([1, 2, 3, 4, 5].map((n) => [n, 'v2']));
    expect(await sampleCounters(t.db.knex)).to.deep.equal({ v: 5 });
    expect((await checkpointOf(t.db.knex))!.events_applied).to.equal(5);
  });

  it('a failing event rolls its batch back, is recorded in last_error and status, and is retried (never skipped) until it succeeds', async () => {
    let broken = true;
    const events = await appendCounted('f', 1, 6);
    const projection = sampleProjection({ failOn: (event) => broken && event.data.n === 3 });
    const runner = start({ projections: [projection], batchSize: 2, maxBackoffMs: 300 });
    await waitFor(
      async () => ((await checkpointOf(t.db.knex))?.last_error ?? null) !== null,
      10_000,
      'an error recorded',
    );

    const [status] = await projectionStatus(t.db, t.store, [projection]);
    expect(status!.lastError).to.contain('refuses event n=3');
    expect(status!.lastErrorAt).to.be.a('string');
    expect(status!.position).to.equal(events[1]!.position, 'the batch [3, 4] was rolled back');
    expect(status!.lagEvents).to.equal(4);
    expect(runner.status()[0]).to.include({ state: 'failing' });
    expect(runner.status()[0]!.failures).to.be.greaterThan(0);
    expect((await sampleRows(t.db.knex)).map((r) => r.n)).to.deep.equal([1, 2]);

    broken = false;
    await caughtUpTo(events[5]!.position);
    expect((await sampleRows(t.db.knex)).map((r) => r.n)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    expect(runner.status()[0]!.failures).to.equal(0);
  });

  it('an older version never rebuilds a read model built by a newer one: it steps aside and the newer process takes over', async () => {
    const events = await appendCounted('old', 1, 3);
    const v2 = start({ projections: [sampleProjection({ version: 2, appliedBy: 'v2' })] });
    await caughtUpTo(events[2]!.position);
    await v2.stop();

    const v1 = start({ projections: [sampleProjection({ version: 1, appliedBy: 'v1' })] });
    await waitFor(
      () => (v1.status()[0]!.lastError ?? '').includes('newer than this code'),
      10_000,
      'v1 stepping aside',
    );
    expect(v1.status()[0]!.state).to.equal('waiting_for_lock');
    const more = await appendCounted('old', 4, 2);
    start({ projections: [sampleProjection({ version: 2, appliedBy: 'v2' })] });
    await caughtUpTo(more[1]!.position);
    expect((await sampleRows(t.db.knex)).map((r) => [r.n, r.applied_by])).to.deep.equal(
      [1, 2, 3, 4, 5].map((n) => [n, 'v2']),
    );
    expect((await checkpointOf(t.db.knex))!.version).to.equal(2);
  });

  it('when its lock connection dies, it stops applying, takes the lock again and carries on exactly once', async () => {
    const warnings: string[] = [];
    const runner = start({ logger: { ...quiet, warn: (message) => warnings.push(message) } });
    const first = await appendCounted('lost', 1, 5);
    await caughtUpTo(first[4]!.position);
    const holderPid = (await projectionStatus(t.db, t.store, [sampleProjection()]))[0]!.holderPid!;
    const terminated = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await terminated.connect();
    await terminated.query('select pg_terminate_backend($1)', [holderPid]);
    await terminated.end();

    await waitFor(() => warnings.some((w) => w.startsWith('projection lost its lock')), 10_000, 'the loss noticed');
    const second = await appendCounted('lost', 6, 5);
    await caughtUpTo(second[4]!.position);
    expect((await sampleRows(t.db.knex)).map((r) => r.n)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const [status] = await projectionStatus(t.db, t.store, [sampleProjection()]);
    expect(status!.running).to.equal(true);
    expect(status!.holderPid).to.not.equal(holderPid);
    expect(runner.status()[0]!.state).to.equal('live');
  });

  it('status: lag, head and running are right before and after catching up', async () => {
    const projection = sampleProjection();
    await appendCounted('s', 1, 5);
    await t.store.append('s', [newEvent('Ignored'), newEvent('Ignored'), newEvent('Ignored')]);
    const head = await t.store.headPosition();
    await new Promise((resolve) => setTimeout(resolve, 50));

    const [before] = await projectionStatus(t.db, t.store, [projection]);
    expect(before).to.include({
      name: 'sample',
      position: 0,
      headPosition: head,
      lagEvents: 5,
      lagEventsCapped: false,
      eventsApplied: 0,
      running: false,
      storedVersion: null,
    });
    expect(before!.lagMs).to.be.at.least(50).and.below(60_000);
    const [capped] = await projectionStatus(t.db, t.store, [projection], { lagEventsCap: 3 });
    expect(capped).to.include({ lagEvents: 3, lagEventsCapped: true });

    const runner = start();
    await caughtUpTo(head);
    const [after] = await projectionStatus(t.db, t.store, [projection]);
    expect(after).to.include({
      position: head,
      headPosition: head,
      lagEvents: 0,
      lagMs: 0,
      eventsApplied: 5,
      running: true,
      storedVersion: 1,
    });
    expect(after!.holderPid).to.be.a('number');

    await runner.stop();
    const [stopped] = await projectionStatus(t.db, t.store, [projection]);
    expect(stopped).to.include({ running: false, holderPid: null });
  });
});
