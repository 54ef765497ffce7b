import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { Router } from 'express';
import { handleCommand } from '#application/shared/commandHandler.js';
import type { EventStore } from '#application/shared/eventStore.js';
import type { Decider, Event } from '#domain/shared/event.js';
import { createPostgresEventStore } from '#infrastructure/eventstore/postgres.js';
import { systemRuntime } from '#infrastructure/shared/runtime.js';
import { createPgExecutor, type SqlExecutor } from '#infrastructure/sql/executor.js';
import { commandContext } from '#interfaces/http/shared/context.js';
import { request } from '../../support/app.js';
import { dropSchema } from '../../support/projections.js';
import { startRouterApp, type RouterTestApp } from '../../support/routerApp.js';
import { TEST_DATABASE_URL, newEvent, uniqueName } from '../../support/events.js';

type Counted = Event<'Counted', { n: number }>;
const counter: Decider<number, 'count', Counted> = {
  initialState: () => 0,
  decide: (_command, n) => [{ type: 'Counted', data: { n: n + 1 } }],
  evolve: (_n, event) => event.data.n,
};

/**
 * The event store's own conflicts reach HTTP as 409 in the one error shape, never as a 500: the
 * routes below run the real command handler and the real PostgreSQL store behind the real app
 * factory (middleware and error handler of interfaces/http/app.ts).
 */
describe('event store conflicts through HTTP (real PostgreSQL)', function () {
  this.timeout(60_000);
  const schema = uniqueName('http_conflicts');
  let executor: SqlExecutor;
  let store: EventStore;
  let served: RouterTestApp;
  let baseUrl: string;
  let logged = '';
  /** both commands have read the stream; each waits here before deciding */
  let bothRead: Promise<void> = Promise.resolve();
  let arrived: () => void = () => undefined;

  before(async () => {
    executor = createPgExecutor({ connectionString: TEST_DATABASE_URL, max: 4 });
    store = await createPostgresEventStore({ executor, schema });
    const router = Router();
    router.post('/api/test/counters/:id', async (req, res) => {
      const maxAttempts = Number(req.query.maxAttempts ?? 100);
      const result = await handleCommand(
        store,
        `counter-${req.params.id}`,
        counter,
        async () => {
          arrived();
          await bothRead;
          return 'count' as const;
        },
        commandContext(req, 'test'),
        { runtime: systemRuntime, maxAttempts },
      );
      res.json({ n: result.state });
    });
    router.post('/api/test/raw/:id', async (req, res) => {
      const body = req.body as { eventId: string; value: number };
      const event = { ...newEvent('Counted', { n: body.value }), id: body.eventId };
      await store.append(`raw-${req.params.id}`, [event], { expectedRevision: 'any' });
      res.json({ ok: true });
    });
    const logStream = new PassThrough();
    logStream.on('data', (chunk: Buffer) => (logged += chunk.toString('utf8')));
    served = await startRouterApp({ routers: () => [router], logStream, logLevel: 'info' });
    baseUrl = served.base;
  });
  after(async () => {
    await served.close();
    await store.close();
    await executor.close();
    await dropSchema(schema);
  });

  /** The next `count` commands all read the stream before any of them decides and appends. */
  const gate = (count: number) => {
    let waiting = count;
    bothRead = new Promise<void>((release) => {
      arrived = () => {
        waiting -= 1;
        if (waiting === 0) release();
      };
    });
  };

  it('two concurrent commands on one stream, the handler allowed no retry: one 200, the other 409 wrong_expected_revision (retryable), one event', async () => {
    const id = uniqueName('c');
    gate(2);
    const answers = await Promise.all(
      [1, 2].map((i) =>
        request(baseUrl, 'POST', `/api/test/counters/${id}?maxAttempts=1`, {
          headers: { 'x-correlation-id': `conflict-test-${i}` },
        }),
      ),
    );
    expect(answers.map((a) => a.status).sort()).to.deep.equal([200, 409]);
    const refused = answers.find((a) => a.status === 409)!;
    expect(Object.keys(refused.body as object)).to.deep.equal(['error']);
    expect(refused.body.error).to.include({ code: 'wrong_expected_revision' });
    expect(refused.body.error.correlationId).to.match(/^conflict-test-[12]$/);
    expect(refused.body.error.details).to.deep.equal({ retryable: true });
    expect(refused.body.error.message).to.include('retry');
    expect((await store.readStream(`counter-${id}`)).map((e) => e.data)).to.deep.equal([{ n: 1 }]);
    expect(logged).not.to.include('unhandled error');
  });

  it('the same race with the handler retrying: both commands succeed, one after the other', async () => {
    const id = uniqueName('c');
    gate(2);
    const answers = await Promise.all([1, 2].map(() => request(baseUrl, 'POST', `/api/test/counters/${id}`)));
    expect(answers.map((a) => a.status)).to.deep.equal([200, 200]);
    expect(answers.map((a) => a.body.n).sort()).to.deep.equal([1, 2]);
  });

  it('an event id stored with other content: 409 duplicate_event_id (not retryable), nothing written', async () => {
    const id = uniqueName('r');
    const eventId = '5f0c2a52-5d1e-4f7a-9c3b-0a1b2c3d4e5f';
    const first = await request(baseUrl, 'POST', `/api/test/raw/${id}`, { body: { eventId, value: 1 } });
    expect(first.status).to.equal(200);
    const again = await request(baseUrl, 'POST', `/api/test/raw/${id}`, { body: { eventId, value: 2 } });
    expect(again.status).to.equal(409);
    expect(again.body.error).to.include({ code: 'duplicate_event_id' });
    expect(again.body.error.details).to.deep.equal({ retryable: false });
    expect(again.body.error.correlationId).to.be.a('string');
    expect((await store.readStream(`raw-${id}`)).map((e) => e.data)).to.deep.equal([{ n: 1 }]);
  });
});
