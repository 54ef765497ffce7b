import { expect } from 'chai';
import { request, type TestApp } from '../../support/app.js';
import { waitFor } from '../../support/events.js';
import type { GraphServer } from '../../support/graphServer.js';
import { startCloudTestApp } from '../../support/messaging.js';

describe('runtime control of a Cloud API number (real adapter, local Graph server)', function () {
  this.timeout(120_000);
  let t: TestApp;
  let graph: GraphServer;
  let worker: Awaited<ReturnType<typeof startCloudTestApp>>['worker'];
  let token: string;
  let stack: Awaited<ReturnType<typeof startCloudTestApp>>;
  before(async () => {
    stack = await startCloudTestApp();
    ({ t, graph, worker, token } = stack);
    await waitFor(() => worker.dispatcher.runningNumbers().includes('cloud'), 30_000, 'the worker to run cloud');
  });
  after(async () => {
    await stack?.close();
  });

  const runtimeOf = async () =>
    ((await request(t.baseUrl, 'GET', '/api/whatsapp/status', { token })).body.numbers as any[]).find(
      (n) => n.numberId === 'cloud',
    ).runtime;
  const obeyed = async (action: string) => {
    const asked = await request(t.baseUrl, 'POST', `/api/numbers/cloud/runtime/${action}`, { token });
    expect(asked.status).to.equal(202);
    await waitFor(
      async () => {
        const runtime = await runtimeOf();
        return runtime.lastRequest?.requestId === asked.body.requestId && runtime.lastRequest.status === 'completed';
      },
      20_000,
      `${action} completed`,
    );
    return runtimeOf();
  };

  it('a stopped Cloud API number makes no Graph call and keeps its queue; started, it sends what waited', async () => {
    const stopped = await obeyed('stop');
    expect(stopped).to.include({ state: 'stopped', desired: 'stopped' });
    expect(stopped.lastRequest.outcome).to.equal('stopped');
    const before = graph.requests.length;
    const sent = await request(t.baseUrl, 'POST', '/api/whatsapp/send', {
      token,
      body: { to: '34600000077', template: { name: 'hello_world', language: 'en_US' }, number: 'cloud' },
    });
    expect(sent.status).to.equal(202);
    // several lease rounds (and many queue polls) go by with the number stopped
    const beat = async () =>
      new Date(
        ((await t.app.infra.db.knex('worker_heartbeats').max('heartbeat_at as at').first()) as { at: Date }).at,
      ).getTime();
    const from = await beat();
    await waitFor(async () => (await beat()) > from + 1_000, 15_000, 'worker rounds');
    expect(graph.requests.length).to.equal(before);

    const started = await obeyed('start');
    expect(started).to.include({ state: 'running', desired: 'running' });
    await graph.waitForRequests(before + 1);
    expect(graph.messageIds()).to.include(sent.body.messageId);
    // logout on a channel without a session stops it (nothing to end); outcome says so
    const loggedOut = await obeyed('logout');
    expect(loggedOut).to.include({ state: 'stopped', desired: 'stopped' });
    expect(loggedOut.lastRequest.outcome).to.equal('stopped');
    await obeyed('start');
  });
});
