import { expect } from 'chai';
import { startProcessMonitor } from '#application/runtime/processMonitor.js';
import { sqlProcessHeartbeats } from '#infrastructure/runtime/sqlHeartbeats.js';
import { pendingRuntimeRequests } from '#projections/runtime/numberRuntime.js';
import { systemRuntime } from '#infrastructure/shared/runtime.js';
import { ADMIN_PASSWORD, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';
import { waitFor } from '../../support/events.js';
import { startTestWorker } from '../../support/messaging.js';
import { recordingChannels } from '../../support/recordingChannel.js';

const silentLog = { info: () => undefined, warn: () => undefined };

describe('runtime control: requests are events, the worker holding the number obeys', function () {
  this.timeout(180_000);
  let t: TestApp;
  let admin: string;
  let channels: ReturnType<typeof recordingChannels>;
  let worker: ReturnType<typeof startTestWorker> | null = null;

  const number = async (id: string) => {
    const status = await request(t.baseUrl, 'GET', '/api/whatsapp/status', { token: admin });
    return (status.body.numbers as any[]).find((n) => n.numberId === id);
  };
  const untilRequest = async (id: string, requestId: string, status: string, timeoutMs = 20_000) => {
    let seen: any = null;
    await waitFor(
      async () => {
        seen = (await number(id))?.runtime;
        return seen?.lastRequest?.requestId === requestId && seen.lastRequest.status === status;
      },
      timeoutMs,
      `request ${requestId} on ${id} to be ${status}`,
    );
    return seen;
  };
  const ask = async (id: string, action: string) => {
    const response = await request(t.baseUrl, 'POST', `/api/numbers/${id}/runtime/${action}`, { token: admin });
    expect(response.status, JSON.stringify(response.body)).to.equal(202);
    expect(response.body.requestId).to.match(/^[0-9a-f-]{36}$/);
    return response.body.requestId as string;
  };
  /** two lease rounds of the worker: long enough for many queue polls (every 100 ms) */
  const twoLeaseRounds = async () => {
    const knex = t.app.infra.db.knex;
    const beat = async () =>
      new Date(((await knex('worker_heartbeats').max('heartbeat_at as at').first()) as { at: Date }).at).getTime();
    const first = await beat();
    await waitFor(async () => (await beat()) > first, 10_000, 'a lease round');
    const second = await beat();
    await waitFor(async () => (await beat()) > second, 10_000, 'another lease round');
  };

  before(async () => {
    t = await startTestApp({ env: { LOG_LEVEL: 'warn' } });
    admin = (await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD)).access;
    channels = recordingChannels();
    worker = startTestWorker(t, { channels: channels.factory });
    await waitFor(() => channels.of('simulator').includes('open'), 30_000, 'the worker to open the simulator number');
  });
  after(async () => {
    await worker?.stop();
    await t.close();
  });

  it('stop closes the channel and records it; queued messages wait; start opens it again and they are sent', async () => {
    const asked = Date.now();
    const stop = await ask('simulator', 'stop');
    await waitFor(() => channels.of('simulator').at(-1) === 'close', 10_000, 'close');
    const obeyedMs = Date.now() - asked;
    const runtime = await untilRequest('simulator', stop, 'completed');
    expect(runtime).to.deep.include({ state: 'stopped', desired: 'stopped' });
    expect(runtime.lastRequest).to.include({ action: 'stop', outcome: 'stopped' });
    expect(runtime.lastRequest.workerId).to.be.a('string');
    console.log(`      stop obeyed (channel closed) ${obeyedMs} ms after the request`);
    // the outcome is caused by the request: same correlation id, causation = the request event
    const events = await t.app.infra.store.readStream('runtime-simulator');
    const requested = events.find((e) => e.type === 'RuntimeStopRequested' && e.data.requestId === stop)!;
    const completed = events.find((e) => e.type === 'RuntimeRequestCompleted' && e.data.requestId === stop)!;
    expect(completed.metadata.correlationId).to.equal(requested.metadata.correlationId);
    expect(completed.metadata.causationId).to.equal(requested.id);
    expect(completed.metadata.actor).to.equal('system');
    expect(requested.metadata.actor).to.not.equal('system');

    const queued = await request(t.baseUrl, 'POST', '/api/whatsapp/send', {
      token: admin,
      body: { to: '34600000001', text: 'waits', number: 'simulator' },
    });
    expect(queued.status).to.equal(202);
    await twoLeaseRounds();
    expect(channels.sent.map((s) => s.messageId)).to.not.include(queued.body.messageId);
    expect((await number('simulator')).queueDepth).to.equal(1);
    expect(worker!.dispatcher.runningNumbers()).to.not.include('simulator');

    const start = await ask('simulator', 'start');
    await waitFor(() => channels.sent.some((s) => s.messageId === queued.body.messageId), 10_000, 'the send');
    expect(channels.of('simulator').slice(-2)).to.deep.equal(['close', 'open']);
    const started = await untilRequest('simulator', start, 'completed');
    expect(started).to.deep.include({ state: 'running', desired: 'running' });
    expect(started.lastRequest.outcome).to.equal('running');
  });

  it('restart closes then opens; logout ends the session and leaves the number stopped until a start', async () => {
    const before = channels.of('simulator').length;
    const restart = await ask('simulator', 'restart');
    await untilRequest('simulator', restart, 'completed');
    expect(channels.of('simulator').slice(before)).to.deep.equal(['close', 'open']);

    const logout = await ask('simulator', 'logout');
    const loggedOut = await untilRequest('simulator', logout, 'completed');
    expect(channels.of('simulator').at(-1)).to.equal('logout');
    expect(loggedOut).to.deep.include({ state: 'stopped', desired: 'stopped' });
    expect(loggedOut.lastRequest.outcome).to.equal('logged_out');

    const start = await ask('simulator', 'start');
    await untilRequest('simulator', start, 'completed');
    expect(channels.of('simulator').at(-1)).to.equal('open');
  });

  it('a channel that refuses is recorded as failed with its error; the next start works', async () => {
    await untilRequest('simulator', await ask('simulator', 'stop'), 'completed');
    channels.failNext('simulator', 'open', 'pairing server unreachable');
    const failed = await untilRequest('simulator', await ask('simulator', 'start'), 'failed');
    expect(failed.lastRequest).to.include({ outcome: 'failed', error: 'pairing server unreachable' });
    expect(failed.state).to.equal('stopped');
    const ok = await untilRequest('simulator', await ask('simulator', 'start'), 'completed');
    expect(ok.state).to.equal('running');
  });

  it('the admin endpoint stops and starts every active number with one request id, each obeyed once', async () => {
    const added = await request(t.baseUrl, 'POST', '/api/numbers', {
      token: admin,
      body: { id: 'sales', name: 'Sales', kind: 'simulator' },
    });
    expect(added.status).to.equal(201);
    await waitFor(() => channels.of('sales').includes('open'), 20_000, 'the worker to open sales');
    for (const action of ['stop', 'start'] as const) {
      const response = await request(t.baseUrl, 'POST', `/api/admin/runtime/${action}`, { token: admin });
      expect(response.status).to.equal(202);
      expect(response.body.numbers).to.have.members(['sales', 'simulator']);
      const { requestId } = response.body as { requestId: string };
      for (const id of ['sales', 'simulator']) await untilRequest(id, requestId, 'completed');
      const detail = await request(t.baseUrl, 'GET', `/api/admin/runtime/requests/${requestId}`, { token: admin });
      expect(detail.status).to.equal(200);
      expect(detail.body.requests.map((r: any) => [r.numberId, r.status, r.scope])).to.deep.equal([
        ['sales', 'completed', 'all'],
        ['simulator', 'completed', 'all'],
      ]);
      const events = await t.app.infra.store.readStream('runtime-sales');
      expect(
        events.filter((e) => e.type === 'RuntimeRequestCompleted' && e.data.requestId === requestId),
      ).to.have.length(1);
    }
    expect(channels.of('sales').slice(-2)).to.deep.equal(['close', 'open']);
  });

  it('a channel that fails to open when the worker takes the number is opened again on a later lease round', async () => {
    channels.failNext('retry-me', 'open', 'socket refused');
    const added = await request(t.baseUrl, 'POST', '/api/numbers', {
      token: admin,
      body: { id: 'retry-me', name: 'Retry me', kind: 'simulator' },
    });
    expect(added.status).to.equal(201);
    await waitFor(() => worker!.dispatcher.runningNumbers().includes('retry-me'), 20_000, 'retry-me running');
    expect(channels.of('retry-me')).to.deep.equal(['open', 'open']);
    expect(worker!.logs()).to.include('number runtime open failed, will retry');
    await request(t.baseUrl, 'DELETE', '/api/numbers/retry-me', { token: admin });
    await waitFor(() => channels.of('retry-me').at(-1) === 'close', 20_000, 'a removed number is closed');
  });

  it('is admin only; bad input is a clear 4xx and appends nothing', async () => {
    const created = await request(t.baseUrl, 'POST', '/api/users', {
      token: admin,
      body: { username: 'operator1', password: 'operator-password-1', role: 'operator' },
    });
    expect(created.status).to.equal(201);
    const operator = (await loginAs(t.baseUrl, 'operator1', 'operator-password-1')).access;
    const cases: Array<[string, string, string | undefined, number, string | null]> = [
      ['POST', '/api/numbers/simulator/runtime/stop', operator, 403, null],
      ['POST', '/api/numbers/simulator/runtime/stop', undefined, 401, null],
      ['POST', '/api/admin/runtime/stop', operator, 403, null],
      ['GET', '/api/admin/processes', operator, 403, null],
      ['POST', '/api/numbers/nope/runtime/stop', admin, 404, 'number_not_found'],
      ['POST', '/api/numbers/Bad_Id!/runtime/stop', admin, 400, 'validation_failed'],
      ['POST', '/api/numbers/simulator/runtime/explode', admin, 404, null],
      ['POST', '/api/admin/runtime/logout', admin, 404, null],
      ['GET', '/api/admin/runtime/requests/not-a-uuid', admin, 400, 'validation_failed'],
      [
        'GET',
        '/api/admin/runtime/requests/6f1c1f8e-1111-4111-8111-111111111111',
        admin,
        404,
        'runtime_request_not_found',
      ],
    ];
    const head = await t.app.infra.store.headPosition();
    for (const [method, path, token, status, code] of cases) {
      const response = await request(t.baseUrl, method, path, { token });
      expect(response.status, `${method} ${path}`).to.equal(status);
      expect(response.body.error.correlationId, path).to.be.a('string');
      if (code) expect(response.body.error.code, path).to.equal(code);
    }
    const malformed = await request(t.baseUrl, 'POST', '/api/numbers/simulator/runtime/stop', {
      token: admin,
      rawBody: '{"broken',
    });
    expect(malformed.status).to.equal(400);
    const after = await t.app.infra.store.readAll({ after: head, filter: { streamPrefixes: ['runtime-'] } });
    expect(after).to.have.length(0);

    await request(t.baseUrl, 'POST', '/api/numbers/sales/disable', { token: admin });
    const disabled = await request(t.baseUrl, 'POST', '/api/numbers/sales/runtime/start', { token: admin });
    expect(disabled.status).to.equal(409);
    expect(disabled.body.error.code).to.equal('number_disabled');
    await request(t.baseUrl, 'POST', '/api/numbers/sales/enable', { token: admin });
  });

  it('every request and outcome is in the audit trail as runtime.*, with the admin as actor', async () => {
    let entries: any[] = [];
    await waitFor(
      async () => {
        const audit = await request(t.baseUrl, 'GET', '/api/audit?action=runtime.*&limit=200', { token: admin });
        entries = audit.body.entries ?? [];
        return entries.some((e) => e.action === 'runtime.failed');
      },
      20_000,
      'runtime entries in the audit trail',
    );
    const actions = new Set(entries.map((e) => e.action));
    for (const action of [
      'runtime.stop_requested',
      'runtime.start_requested',
      'runtime.restart_requested',
      'runtime.logout_requested',
      'runtime.completed',
      'runtime.failed',
    ])
      expect(actions, action).to.include(action);
    const stop = entries.find((e) => e.action === 'runtime.stop_requested');
    expect(stop.target).to.be.oneOf(['simulator', 'sales']);
    expect(stop.actor).to.not.equal('system');
    expect(entries.find((e) => e.action === 'runtime.failed').outcome).to.equal('failure');
  });

  it('a request nobody obeys is marked timed out once (two monitors); the next worker to take the number obeys it late', async () => {
    await worker!.stop();
    worker = null;
    expect(channels.of('simulator').at(-1)).to.equal('close'); // shutdown closes the channel, no logout
    const stop = await ask('simulator', 'stop');
    const monitors = [1, 2].map((i) =>
      startProcessMonitor({
        store: t.app.infra.store,
        runtime: systemRuntime,
        heartbeats: sqlProcessHeartbeats(t.app.infra.db.knex),
        log: silentLog,
        self: [{ name: 'scheduler', instance: `monitor-${i}`, role: 'scheduler', host: 'test', pid: i }],
        heartbeatMs: 100,
        crashAfterMs: 30_000,
        requests: { requestedBefore: (before) => pendingRuntimeRequests(t.app.infra.db.knex, before) },
        requestTimeoutMs: 500,
        newCorrelationId: () => crypto.randomUUID(),
      }),
    );
    try {
      const timedOut = await untilRequest('simulator', stop, 'timed_out');
      expect(timedOut.desired).to.equal('stopped');
    } finally {
      for (const monitor of monitors) await monitor.stop();
    }
    const events = await t.app.infra.store.readStream('runtime-simulator');
    expect(events.filter((e) => e.type === 'RuntimeRequestTimedOut' && e.data.requestId === stop)).to.have.length(1);

    const closes = channels.of('simulator').filter((c) => c === 'close').length;
    worker = startTestWorker(t, { channels: channels.factory });
    const late = await untilRequest('simulator', stop, 'completed');
    expect(late.lastRequest.outcome).to.equal('stopped');
    // it took the number, found the stop unanswered and obeyed it: closed, never opened
    expect(channels.of('simulator').filter((c) => c === 'close').length).to.equal(closes + 1);
    expect(channels.of('simulator').at(-1)).to.equal('close');
  });
});
