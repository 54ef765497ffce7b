import { expect } from 'chai';
import type { Knex } from 'knex';
import type { EventStore } from '#application/shared/eventStore.js';
import { type Database } from '#infrastructure/sql/database.js';
import { projectionStatus, rebuildProjection, startProjections, type ProjectionRunner } from '#projections/runner.js';
import { RebuildFailedError } from '#projections/shared/rebuild.js';
import { newEvent, waitFor } from '../../support/events.js';
import {
  checkpointOf,
  createSampleTables,
  openPgliteScenario,
  openSchemaScenario,
  sampleProjection,
  sampleRows,
} from '../../support/projections.js';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Every column, serial ids included, in id order: a rebuilt table must be identical. */
const snapshot = async (knex: Knex) => ({
  rows: await knex('sample_rows').select('*').orderBy('id'),
  counters: await knex('sample_counters').select('*').orderBy('stream_id'),
});

/** Appends `count` events, a quarter of them of a type the projection ignores; returns how many it handles. */
const appendMixed = async (store: EventStore, count: number): Promise<number> => {
  let handled = 0;
  for (let i = 0; i < count; i += 10) {
    const events = Array.from({ length: 10 }, (_, j) =>
      newEvent(j % 4 === 3 ? 'Ignored' : j % 5 === 4 ? 'Noted' : 'Counted', { n: i + j }),
    );
    handled += events.filter((event) => event.type !== 'Ignored').length;
    await store.append(`stream-${i % 7}`, events);
  }
  return handled;
};

const rebuildScenarios = (
  label: string,
  open: () => Promise<{ db: Database; store: EventStore; close(): Promise<void> }>,
) => {
  describe(`rebuilding a projection (${label})`, function () {
    this.timeout(60_000);
    let env: { db: Database; store: EventStore; close(): Promise<void> };
    const runners: ProjectionRunner[] = [];
    // One database per suite (PGlite takes seconds to start), emptied before each test.
    before(async () => {
      env = await open();
    });
    beforeEach(async () => {
      await env.db.knex.raw(
        'truncate table es_events, es_streams, sample_rows, sample_counters, projection_checkpoints, projection_rebuilds restart identity',
      );
    });
    afterEach(async () => {
      for (const runner of runners.splice(0)) await runner.stop();
    });
    after(async () => {
      await env.close();
    });

    const runUntilCaughtUp = async () => {
      const runner = startProjections({
        db: env.db,
        store: env.store,
        projections: [sampleProjection()],
        logger: quiet,
        batchSize: 50,
        lockRetryMs: 100,
      });
      runners.push(runner);
      await waitFor(
        async () =>
          (await projectionStatus(env.db, env.store, [sampleProjection()]))[0]!.lagEvents === 0 &&
          runner.status()[0]!.state === 'live',
        20_000,
        'caught up',
      );
      return runner;
    };

    it('with no runner alive, it replays everything itself and the tables come back identical', async () => {
      const handled = await appendMixed(env.store, 300);
      const runner = await runUntilCaughtUp();
      await runner.stop();
      const before = await snapshot(env.db.knex);
      expect(before.rows).to.have.length(handled);

      const progress: Array<[number, number]> = [];
      const result = await rebuildProjection({
        db: env.db,
        store: env.store,
        projection: sampleProjection(),
        batchSize: 64,
        onProgress: (done, total) => progress.push([done, total]),
      });

      expect(result).to.include({ name: 'sample', eventsApplied: handled, replayedBy: 'this_process' });
      expect(await snapshot(env.db.knex)).to.deep.equal(before);
      expect(progress[0]).to.deep.equal([0, handled]);
      expect(progress[progress.length - 1]).to.deep.equal([handled, handled]);
      expect(progress.map(([done]) => done)).to.deep.equal([...progress.map(([done]) => done)].sort((a, b) => a - b));
      expect((await checkpointOf(env.db.knex))!.events_applied).to.equal(handled);
    });

    it('status counts the lag with no cap (more than 1,000 events behind), and shows a killed rebuild as interrupted', async () => {
      const handled = await appendMixed(env.store, 1_600);
      expect(handled).to.be.greaterThan(1_000);
      const [status] = await projectionStatus(env.db, env.store, [sampleProjection()]);
      expect(status).to.include({ lagEvents: handled, lagEventsCapped: false, state: 'live', rebuild: null });
      const interrupted = await rebuildProjection({
        db: env.db,
        store: env.store,
        projection: sampleProjection(),
        batchSize: 100,
        afterBatch: () => {
          throw new Error('killed');
        },
      }).catch((error: unknown) => error);
      expect((interrupted as Error).message).to.equal('killed');
      const [after] = await projectionStatus(env.db, env.store, [sampleProjection()]);
      expect(after!.rebuild).to.include({ active: false, done: 100, total: handled, lastError: 'killed' });
      expect(after).to.include({ state: 'failed', error: 'killed' });
    });

    it('refuses to rebuild with code older than the version that built the read model, and changes nothing', async () => {
      await env.store.append('old', [newEvent('Counted', { n: 1 })]);
      await rebuildProjection({ db: env.db, store: env.store, projection: sampleProjection({ version: 3 }) });
      const before = await snapshot(env.db.knex);
      const refused = await rebuildProjection({
        db: env.db,
        store: env.store,
        projection: sampleProjection({ version: 2 }),
      }).catch((error: unknown) => error);
      expect(refused).to.be.instanceOf(RebuildFailedError);
      expect((refused as Error).message).to.contain("built by version 3, newer than this code's 2");
      expect(await snapshot(env.db.knex)).to.deep.equal(before);
    });

    it('while the application runs the projection, it builds shadow tables, the live ones keep their rows until the swap, and the result is identical', async () => {
      const handled = await appendMixed(env.store, 300);
      const runner = await runUntilCaughtUp();
      const before = await snapshot(env.db.knex);

      const seenMidway: number[] = [];
      const result = await rebuildProjection({
        db: env.db,
        store: env.store,
        projection: sampleProjection(),
        batchSize: 40,
        afterBatch: async () => {
          seenMidway.push(Number((await env.db.knex('sample_rows').count({ n: '*' }))[0]!.n));
        },
      });

      expect(result).to.include({ replayedBy: 'this_process', eventsApplied: handled, resumedFrom: null });
      expect(seenMidway.length).to.be.greaterThan(3);
      expect(seenMidway.every((n) => n === handled)).to.equal(true, 'the live table kept every row throughout');
      expect(await snapshot(env.db.knex)).to.deep.equal(before);
      // the runner goes on from the swapped-in checkpoint without replaying anything
      await env.store.append('after', [newEvent('Counted', { n: 9999 })]);
      await waitFor(async () => (await sampleRows(env.db.knex)).some((row) => row.n === 9999), 20_000, 'the runner');
      expect(runner.status()[0]!.eventsApplied).to.equal(handled + 1);
      expect((await sampleRows(env.db.knex)).filter((row) => row.n === 9999)).to.have.length(1);
    });

    it('an interrupted rebuild resumes from its shadow checkpoint and ends identical to a build from scratch', async () => {
      const handled = await appendMixed(env.store, 400);
      const runner = await runUntilCaughtUp();
      await runner.stop();
      const before = await snapshot(env.db.knex);

      let batches = 0;
      const failed = await rebuildProjection({
        db: env.db,
        store: env.store,
        projection: sampleProjection(),
        batchSize: 50,
        afterBatch: () => {
          if (++batches === 3) throw new Error('interrupted');
        },
      }).catch((error: unknown) => error);
      expect((failed as Error).message).to.equal('interrupted');
      expect(await snapshot(env.db.knex)).to.deep.equal(before, 'the live read model is untouched');

      const resumed: Array<[string, number, number]> = [];
      const progress: number[] = [];
      const result = await rebuildProjection({
        db: env.db,
        store: env.store,
        projection: sampleProjection(),
        batchSize: 50,
        onResume: (name, position, applied) => resumed.push([name, position, applied]),
        onProgress: (done) => progress.push(done),
      });
      expect(resumed).to.have.length(1);
      expect(resumed[0]![2]).to.equal(150, 'three batches of 50 were in the shadow');
      expect(result.resumedFrom).to.equal(resumed[0]![1]);
      expect(progress[0]).to.equal(150, 'progress starts where it was, not at 0');
      expect(result.eventsApplied).to.equal(handled);
      expect(await snapshot(env.db.knex)).to.deep.equal(before);
    });
  });
};

rebuildScenarios('PostgreSQL', () => openSchemaScenario('proj_rebuild'));

rebuildScenarios('embedded PGlite', async () => {
  const scenario = await openPgliteScenario();
  await createSampleTables(scenario.db.knex);
  return scenario;
});
