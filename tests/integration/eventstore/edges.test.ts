import { expect } from 'chai';
import pg from 'pg';
import {
  EventStoreUnavailableError,
  type AppendResult,
  type EventStore,
  type NewEvent,
} from '#application/shared/eventStore.js';
import { createPostgresEventStore, type PostgresEventStoreOptions } from '#infrastructure/eventstore/postgres.js';
import { eventStoreTables, notifyChannel, orderingLockKey } from '#infrastructure/eventstore/schema.js';
import { createPgExecutor, type SqlExecutor } from '#infrastructure/sql/executor.js';
import { TEST_DATABASE_URL, newEvent, uniqueName } from '../../support/events.js';

/** The PostgreSQL store's edges (issue 7.12): poison batches, the lock wait, batch size, the lock's key. */
describe('event store edges on PostgreSQL', function () {
  this.timeout(60_000);
  let schema: string;
  let admin: pg.Client;
  const executors: SqlExecutor[] = [];
  const stores: EventStore[] = [];

  beforeEach(async () => {
    schema = uniqueName('es_edges');
    admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    for (const executor of executors.splice(0)) await executor.close();
    await admin.query(`drop schema if exists "${schema}" cascade`);
    await admin.end();
  });

  const open = async (options: Partial<PostgresEventStoreOptions> = {}, connectionString = TEST_DATABASE_URL) => {
    const executor = createPgExecutor({ connectionString, max: 4 });
    executors.push(executor);
    const store = await createPostgresEventStore({ executor, schema, ...options });
    stores.push(store);
    return { store, executor };
  };

  it('a batch that fails on data in the database is retried append by append: only the bad one fails', async () => {
    const batches: string[][] = [];
    const { store } = await open({
      // Something validation cannot foresee: the database refuses the batch holding this stream (22P02).
      beforeCommit: async (sql, streamIds) => {
        batches.push([...streamIds]);
        if (streamIds.includes('poison')) await sql.query(`select 'not a number'::int`);
      },
    });
    const appends = [
      ...Array.from({ length: 30 }, (_, i) => store.append(`good-${i}`, [newEvent('Good', { i })])),
      store.append('poison', [newEvent('Bad')]),
      ...Array.from({ length: 30 }, (_, i) => store.append(`also-${i}`, [newEvent('Good', { i })])),
    ];
    const settled = await Promise.allSettled(appends);
    const failed = settled.flatMap((s, i) => (s.status === 'rejected' ? [{ i, reason: s.reason as Error }] : []));
    expect(failed.map((f) => f.i)).to.deep.equal([30]);
    expect((failed[0]!.reason as Error & { code?: string }).code).to.equal('22P02');
    expect(
      batches.some((b) => b.length > 1 && b.includes('poison')),
      'the poison shared a batch',
    ).to.equal(true);
    expect(await store.readStream('poison')).to.deep.equal([]);
    const { rows } = await admin.query(`select count(*)::int as n from "${schema}".es_events`);
    expect(rows[0].n).to.equal(60);
  });

  it('a stalled commit holding the ordering lock makes appends fail fast with a retryable error, then they go through', async () => {
    const { store, executor } = await open({ lockTimeoutMs: 300 });
    const key = await orderingLockKey(executor, eventStoreTables(schema));
    await admin.query('select pg_advisory_lock($1)', [key]); // the stalled commit
    const started = Date.now();
    let error: unknown = null;
    try {
      await store.append('waiting', [newEvent('A')]);
    } catch (caught) {
      error = caught;
    }
    const waited = Date.now() - started;
    expect(error).to.be.instanceOf(EventStoreUnavailableError);
    expect((error as EventStoreUnavailableError).kind).to.equal('unavailable');
    expect((error as EventStoreUnavailableError).retryable).to.equal(true);
    expect(waited).to.be.within(250, 5_000);
    await admin.query('select pg_advisory_unlock($1)', [key]);
    const retry = await store.append('waiting', [newEvent('A')]);
    expect(retry.nextExpectedRevision).to.equal(0);
  });

  it('the /healthz probe is shared while one is in flight, and a new one starts after it', async () => {
    const { store } = await open();
    const first = store.ping();
    expect(store.ping()).to.equal(first);
    await first;
    const second = store.ping();
    expect(second).to.not.equal(first);
    await second;
  });

  it('batches are capped by bytes as well as by count', async () => {
    const sizes: number[] = [];
    const { store } = await open({
      maxBatchBytes: 20_000,
      beforeCommit: (_sql, streamIds) => {
        sizes.push(streamIds.length);
        return Promise.resolve();
      },
    });
    const big = (i: number): NewEvent => newEvent('Big', { i, text: 'x'.repeat(6_000) });
    const results: AppendResult[] = await Promise.all(
      Array.from({ length: 12 }, (_, i) => store.append(`big-${i}`, [big(i)])),
    );
    expect(results).to.have.length(12);
    // ~6.3 kB each: at most three fit in 20 kB; without the cap all 12 share one commit.
    expect(Math.max(...sizes)).to.be.at.most(3);
    expect(sizes.reduce((a, b) => a + b, 0)).to.equal(12);
    // One append larger than the cap still goes through, alone.
    const huge = await store.append('huge', [newEvent('Huge', { text: 'y'.repeat(50_000) })]);
    expect(huge.nextExpectedRevision).to.equal(0);
  });

  it('the ordering lock and the NOTIFY channel belong to the table: a store reaching it through the search_path shares both', async () => {
    const qualified = await open({ lockTimeoutMs: 300 });
    const viaSearchPath = await open(
      { schema: undefined, lockTimeoutMs: 300 },
      `${TEST_DATABASE_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    );
    const key = await orderingLockKey(qualified.executor, eventStoreTables(schema));
    expect(await orderingLockKey(viaSearchPath.executor, eventStoreTables())).to.equal(key);
    // So is the NOTIFY channel: the two wake each other.
    const channel = await notifyChannel(qualified.executor, eventStoreTables(schema));
    expect(await notifyChannel(viaSearchPath.executor, eventStoreTables())).to.equal(channel);
    // Another table's store does not share them: its appends wake nobody here.
    const otherSchema = uniqueName('es_edges_other');
    const other = await createPostgresEventStore({ executor: qualified.executor, schema: otherSchema });
    try {
      expect(await orderingLockKey(qualified.executor, eventStoreTables(otherSchema))).to.not.equal(key);
      expect(await notifyChannel(qualified.executor, eventStoreTables(otherSchema))).to.not.equal(channel);
      await admin.query('select pg_advisory_lock($1)', [key]);
      try {
        let error: unknown = null;
        await viaSearchPath.store.append('s', [newEvent('A')]).catch((caught: unknown) => (error = caught));
        expect(error, 'the search_path store waits for the same lock').to.be.instanceOf(EventStoreUnavailableError);
        const written = await other.append('s', [newEvent('A')]);
        expect(written.nextExpectedRevision, 'the other table does not wait').to.equal(0);
      } finally {
        await admin.query('select pg_advisory_unlock($1)', [key]);
      }
      await viaSearchPath.store.append('s', [newEvent('B')]);
      expect(await qualified.store.readStream('s')).to.have.length(1);
    } finally {
      await other.close();
      await admin.query(`drop schema if exists "${otherSchema}" cascade`);
    }
  });
});
