import { expect } from 'chai';
import pg from 'pg';
import type { EventStore, RecordedEvent } from '#application/shared/eventStore.js';
import { createPostgresEventStore } from '#infrastructure/eventstore/postgres.js';
import { createPgExecutor, type SqlExecutor } from '#infrastructure/sql/executor.js';
import { TEST_DATABASE_URL, newEvent, uniqueName, waitFor } from '../../support/events.js';

/**
 * The ordering guarantee: with concurrent writers whose transactions commit out of order, a
 * subscriber that reads `position > checkpoint` must still see every event exactly once, in order.
 */
describe('event store ordering guarantee on PostgreSQL', function () {
  this.timeout(120_000);
  let schema: string;
  const executors: SqlExecutor[] = [];
  const stores: EventStore[] = [];
  let admin: pg.Client;

  beforeEach(async () => {
    schema = uniqueName('es_order');
    admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    for (const executor of executors.splice(0)) await executor.close();
    await admin.query(`drop schema if exists "${schema}" cascade`);
    await admin.end();
  });

  const openStore = async (beforeCommit?: () => Promise<void>) => {
    const executor = createPgExecutor({ connectionString: TEST_DATABASE_URL, max: 4 });
    executors.push(executor);
    const store = await createPostgresEventStore({
      executor,
      schema,
      listenConnectionString: TEST_DATABASE_URL,
      beforeCommit,
      pollIntervalMs: 200,
    });
    stores.push(store);
    return store;
  };

  it('the hazard is real: a naive position reader skips an event that commits late with a lower position', async () => {
    await openStore(); // creates the tables
    const [a, b] = [
      new pg.Client({ connectionString: TEST_DATABASE_URL }),
      new pg.Client({ connectionString: TEST_DATABASE_URL }),
    ];
    await Promise.all([a.connect(), b.connect()]);
    const insert = (client: pg.Client, id: string) =>
      client.query(
        `insert into "${schema}".es_events (id, stream_id, revision, type, data, metadata) values ($1, $2, 0, 'T', '{}', '{}') returning position`,
        [id, id],
      );
    try {
      await a.query('begin');
      const low = Number((await insert(a, newEvent('T').id)).rows[0].position);
      await b.query('begin');
      const high = Number((await insert(b, newEvent('T').id)).rows[0].position);
      await b.query('commit');
      const firstRead = await admin.query(
        `select position from "${schema}".es_events where position > 0 order by position`,
      );
      expect(firstRead.rows.map((r) => Number(r.position))).to.deep.equal([high]);
      await a.query('commit');
      const secondRead = await admin.query(
        `select position from "${schema}".es_events where position > $1 order by position`,
        [high],
      );
      expect(secondRead.rows).to.have.length(0); // `low` was skipped for good
      expect(low).to.be.lessThan(high);
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });

  it('8 writers with random commit delays: a checkpointing subscriber gets every event exactly once, in order', async () => {
    const writers = await Promise.all(
      Array.from({ length: 8 }, () =>
        openStore(() => new Promise((resolve) => setTimeout(resolve, Math.random() * 15))),
      ),
    );
    const reader = await openStore();
    const received: RecordedEvent[] = [];
    let checkpoint = 0;
    const subscribe = () =>
      reader.subscribeToAll({
        after: checkpoint,
        onEvent: (event) => {
          received.push(event);
          checkpoint = event.position;
        },
      });
    let subscription = subscribe();

    const appended = new Set<string>();
    const write = async (store: EventStore, w: number) => {
      for (let i = 0; i < 40; i++) {
        const events = Array.from({ length: 1 + (i % 3) }, () => newEvent('Written', { w, i }));
        await store.append(`w${w}-${i % 5}`, events);
        events.forEach((e) => appended.add(e.id));
      }
    };
    const writing = Promise.all(writers.map((store, w) => write(store, w)));
    // Restart the subscriber from its checkpoint while the writers are busy (once it has received some).
    await waitFor(() => received.length >= 40, 30_000, 'the subscriber mid-stream');
    await subscription.stop();
    subscription = subscribe();
    await writing;
    // No sleep to see that no duplicate comes late: a marker appended last arrives after any would.
    const marker = newEvent('Marker');
    await reader.append('marker', [marker]);
    appended.add(marker.id);
    await waitFor(() => received.some((e) => e.id === marker.id), 30_000, 'all events, then the marker');
    await subscription.stop();

    const ids = received.map((e) => e.id);
    expect(new Set(ids).size).to.equal(ids.length, 'no event delivered twice');
    expect(ids.length).to.equal(appended.size, 'no event missing');
    expect(new Set(ids)).to.deep.equal(appended);
    const positions = received.map((e) => e.position);
    expect(positions).to.deep.equal(
      [...positions].sort((x, y) => x - y),
      'position order',
    );
  });
});
