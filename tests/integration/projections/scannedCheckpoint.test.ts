import { expect } from 'chai';
import type { EventStore, ReadAllOptions } from '#application/shared/eventStore.js';
import { readCheckpoint } from '#projections/shared/checkpoints.js';
import { rebuildProjection, startProjections, type Projection, type ProjectionRunner } from '#projections/runner.js';
import { newEvent, uniqueName, waitFor } from '../../support/events.js';
import { adminQuery, dropSchema, openTestSchema, type TestSchema } from '../../support/projections.js';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A projection whose events never occur (a feature not used yet, or a rare event). */
const neverProjection: Projection = {
  name: 'never',
  version: 1,
  handles: ['NeverHappens'],
  tables: [],
  apply: () => Promise.resolve(),
};

/**
 * Issue 14.3: the checkpoint records how far a projection has scanned, not only its last matching event,
 * so a projection with no matching events does not read the whole tail again on every wake-up. A
 * scan's cost is measured as the rows of $all after its starting point: what a store that cannot filter
 * on the server (EventStoreDB's $all reads in client v6) has to page through.
 */
describe('projection checkpoints record the position scanned up to (PostgreSQL)', function () {
  this.timeout(60_000);
  let t: TestSchema;
  const runners: ProjectionRunner[] = [];

  beforeEach(async () => {
    t = await openTestSchema(uniqueName('proj_scan'), { create: true });
  });
  afterEach(async () => {
    for (const runner of runners.splice(0)) await runner.stop();
    await t.close();
    await dropSchema(t.schema);
  });

  /** The store, counting for each readAll how many rows of $all lie after its starting point. */
  const countingStore = (windows: number[]): EventStore => ({
    ...t.store,
    readAll: async (options?: ReadAllOptions) => {
      const [row] = await adminQuery<{ n: number }>(
        `select count(*)::int as n from "${t.schema}".es_events where position > $1`,
        [options?.after ?? 0],
      );
      windows.push(row!.n);
      return t.store.readAll(options);
    },
  });

  const appendOthers = async (count: number) => {
    for (let i = 0; i < count; i += 50)
      await t.store.append(
        `other-${i}`,
        Array.from({ length: Math.min(50, count - i) }, (_, j) => newEvent('Other', { n: i + j })),
      );
  };

  it('a projection with no matching events moves its checkpoint to the head and does not rescan', async () => {
    await appendOthers(500);
    const windows: number[] = [];
    const runner = startProjections({
      db: t.db,
      store: countingStore(windows),
      projections: [neverProjection],
      logger: quiet,
      pollIntervalMs: 50,
    });
    runners.push(runner);
    const head = await t.store.headPosition();
    await waitFor(async () => (await readCheckpoint(t.db.knex, 'never'))?.position === head, 10_000, 'checkpoint');
    const checkpoint = (await readCheckpoint(t.db.knex, 'never'))!;
    expect(checkpoint.eventsApplied).to.equal(0);
    expect(windows[0], 'the first scan reads the history once').to.equal(500);

    // More unrelated events, and several idle wake-ups (50 ms poll) around them.
    const before = windows.length;
    await appendOthers(100);
    const newHead = await t.store.headPosition();
    await waitFor(async () => (await readCheckpoint(t.db.knex, 'never'))?.position === newHead, 10_000, 'moved');
    await waitFor(() => windows.length >= before + 5, 10_000, 'idle wake-ups');
    const later = windows.slice(before);
    expect(Math.max(...later), 'no later scan reaches back into the first 500').to.be.at.most(100);
    expect(
      later.filter((w) => w > 0).reduce((a, b) => a + b, 0),
      'the 100 new rows scanned about once',
    ).to.be.at.most(200);
  });

  it('a rebuild of such a projection ends with its checkpoint at the head it scanned', async () => {
    await appendOthers(120);
    const result = await rebuildProjection({ db: t.db, store: t.store, projection: neverProjection });
    expect(result.eventsApplied).to.equal(0);
    expect(result.position).to.equal(await t.store.headPosition());
    expect((await readCheckpoint(t.db.knex, 'never'))?.position).to.equal(result.position);
  });
});
