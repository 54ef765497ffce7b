import { expect } from 'chai';
import { ADMIN_PASSWORD, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';
import { waitFor } from '../../support/events.js';
import { startChannelServer } from '../../support/httpChannel.js';
import { killHard, spawnWorker } from '../../support/messaging.js';

describe('runtime control across two worker-web OS processes', function () {
  this.timeout(180_000);
  let t: TestApp;
  let channel: Awaited<ReturnType<typeof startChannelServer>>;
  const workers: Array<Awaited<ReturnType<typeof spawnWorker>>> = [];
  before(async () => {
    t = await startTestApp({ env: { LOG_LEVEL: 'warn' } });
    channel = await startChannelServer();
  });
  after(async () => {
    for (const w of workers) if (w.child.exitCode === null) await killHard(w.child);
    await channel.close();
    await t.close();
  });

  it('each number obeys through the worker holding it; stopped numbers keep their queue; start drains it', async () => {
    const { access } = await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD);
    for (const id of ['sales', 'support', 'billing'])
      expect(
        (await request(t.baseUrl, 'POST', '/api/numbers', { token: access, body: { id, name: id, kind: 'simulator' } }))
          .status,
      ).to.equal(201);
    const all = ['billing', 'sales', 'simulator', 'support'];
    await waitFor(
      async () => (await request(t.baseUrl, 'GET', '/api/numbers', { token: access })).body.numbers.length === 4,
      10_000,
      'four numbers',
    );
    workers.push(await spawnWorker(t.databaseUrl, channel.url), await spawnWorker(t.databaseUrl, channel.url));
    const [a, b] = workers as [(typeof workers)[0], (typeof workers)[0]];
    await waitFor(() => a.running().length === 2 && b.running().length === 2, 30_000, 'two running numbers each');

    const runtimeOf = async () => {
      const status = await request(t.baseUrl, 'GET', '/api/whatsapp/status', { token: access });
      return new Map((status.body.numbers as any[]).map((n) => [n.numberId, n]));
    };
    const obeyed = async (requestId: string) => {
      await waitFor(
        async () =>
          [...(await runtimeOf()).values()].every(
            (n) => n.runtime.lastRequest?.requestId === requestId && n.runtime.lastRequest.status === 'completed',
          ),
        20_000,
        `request ${requestId} completed on every number`,
      );
      return runtimeOf();
    };

    const asked = Date.now();
    const stop = await request(t.baseUrl, 'POST', '/api/admin/runtime/stop', { token: access });
    expect(stop.status).to.equal(202);
    expect(stop.body.numbers).to.have.members(all);
    const stopped = await obeyed(stop.body.requestId);
    console.log(`      4 numbers on 2 worker processes stopped ${Date.now() - asked} ms after the request`);
    for (const [id, n] of stopped) {
      expect(n.runtime.state, id).to.equal('stopped');
      // the outcome names the worker that holds the number's lease, and no other worker answered
      expect(n.runtime.lastRequest.workerId, id).to.equal(n.worker);
      const completions = (await t.app.infra.store.readStream(`runtime-${id}`)).filter(
        (e) => e.type === 'RuntimeRequestCompleted' && e.data.requestId === stop.body.requestId,
      );
      expect(completions, id).to.have.length(1);
    }
    await waitFor(() => a.running().length === 0 && b.running().length === 0, 10_000, 'no running numbers');
    expect(a.held().length + b.held().length).to.equal(4); // still held: nobody else drains them

    const before = channel.received.length;
    const queued: string[] = [];
    for (const [i, number] of all.entries()) {
      const sent = await request(t.baseUrl, 'POST', '/api/whatsapp/send', {
        token: access,
        body: { to: `3462000000${i}`, text: 'hola', number },
      });
      expect(sent.status).to.equal(202);
      queued.push(sent.body.messageId as string);
    }
    // both workers go through several lease rounds (and many queue polls) while their numbers are stopped
    const beats = async () =>
      (await t.app.infra.db.knex('worker_heartbeats').select('heartbeat_at')).map((r: any) =>
        new Date(r.heartbeat_at).getTime(),
      );
    const start = Math.max(...(await beats()));
    await waitFor(async () => Math.min(...(await beats())) > start + 1_000, 20_000, 'worker rounds');
    expect(channel.received.length).to.equal(before);
    const waiting = await runtimeOf();
    expect([...waiting.values()].reduce((sum, n) => sum + n.queueDepth, 0)).to.equal(4);

    const go = await request(t.baseUrl, 'POST', '/api/admin/runtime/start', { token: access });
    expect(go.status).to.equal(202);
    await waitFor(
      () => queued.every((id) => channel.received.some((r) => r.messageId === id)),
      20_000,
      'the queued messages to be sent after the start',
    );
    const started = await obeyed(go.body.requestId);
    for (const [id, n] of started) expect(n.runtime.state, id).to.equal('running');
  });
});
