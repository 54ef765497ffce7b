import { expect } from 'chai';
import { projectionStreamId } from '#domain/operations/events.js';
import { ADMIN_PASSWORD, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';
import { waitFor } from '../../support/events.js';
import { appendWorkload } from '../../support/replayWorkload.js';

type View = {
  name: string;
  state: string;
  lagEvents: number;
  lagMs: number;
  position: number;
  headPosition: number;
  rebuild: { active: boolean; done: number; total: number; percent: number } | null;
};

describe('projections API: status with uncapped lag, and a blue/green rebuild while the API serves (real app, PostgreSQL)', function () {
  this.timeout(180_000);
  let t: TestApp;
  let admin: string;
  let operator: string;

  before(async () => {
    t = await startTestApp({ projectionRebuildBatchSize: 10 });
    admin = (await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD)).access;
    const created = await request(t.baseUrl, 'POST', '/api/users', {
      token: admin,
      body: { username: 'oncall', password: 'operator-password-1', role: 'operator' },
    });
    expect(created.status).to.equal(201);
    operator = (await loginAs(t.baseUrl, 'oncall', 'operator-password-1')).access;
    await appendWorkload(t.app.infra.store, { events: 3_000, accounts: 150, chats: 30 });
    await waitFor(
      async () => ((await projections()).body.projections as View[]).every((p) => p.lagEvents === 0),
      90_000,
      'every projection caught up',
    );
  });
  after(async () => {
    await t?.close();
  });

  const projections = (token = admin) => request(t.baseUrl, 'GET', '/api/projections', { token });
  const view = async (name: string): Promise<View> =>
    ((await projections()).body.projections as View[]).find((p) => p.name === name)!;

  it('lists every projection, live and caught up, for admins only', async () => {
    const { status, body } = await projections();
    expect(status).to.equal(200);
    const names = (body.projections as View[]).map((p) => p.name);
    expect(names).to.include.members(['accounts', 'audit_log', 'messaging.chat-messages', 'llm_providers']);
    const accounts = (body.projections as View[]).find((p) => p.name === 'accounts')!;
    expect(accounts).to.include({ state: 'live', lagEvents: 0, lagMs: 0, rebuild: null });
    expect(accounts.position).to.be.at.most(accounts.headPosition);
    expect((await projections(operator)).status).to.equal(403);
    expect((await request(t.baseUrl, 'GET', '/api/projections')).status).to.equal(401);
  });

  it('rebuilds accounts blue/green: the API keeps answering with the old rows throughout, the result equals the build from scratch, the request is audited', async () => {
    const users = async () => request(t.baseUrl, 'GET', '/api/users', { token: admin });
    const before = (await users()).body.users as unknown[];
    expect(before.length).to.be.greaterThan(150);

    // Read continuously through the rebuild: every answer must be complete.
    let reading = true;
    const answers: Array<{ status: number; count: number; rebuilding: boolean }> = [];
    const reader = (async () => {
      while (reading) {
        const state = await view('accounts');
        const response = await users();
        answers.push({
          status: response.status,
          count: (response.body.users as unknown[] | undefined)?.length ?? -1,
          rebuilding: state.state === 'rebuilding',
        });
      }
    })();

    const started = await request(t.baseUrl, 'POST', '/api/projections/accounts/rebuild', { token: admin, body: {} });
    expect(started.status).to.equal(202);
    expect(started.body).to.include({ projection: 'accounts', state: 'rebuilding' });
    const again = await request(t.baseUrl, 'POST', '/api/projections/accounts/rebuild', { token: admin });
    expect(again.status).to.equal(409);
    expect(again.body.error.code).to.equal('rebuild_in_progress');

    const finished = () =>
      t.logs().find((line) => /^projection rebuild (swapped in|failed)/.test(String(line.message)));
    await waitFor(() => finished() !== undefined, 90_000, 'the rebuild to finish');
    expect(finished()!.message).to.equal('projection rebuild swapped in');
    reading = false;
    await reader;

    expect(answers.length).to.be.greaterThan(0);
    expect(answers.filter((a) => a.status !== 200 || a.count !== before.length)).to.deep.equal([]);
    expect(answers.some((a) => a.rebuilding)).to.equal(true, 'some reads happened while it was rebuilding');
    // the live read model was built from scratch by the runner at start: the rebuild gives the same rows
    expect((await users()).body.users).to.deep.equal(before);
    expect(await view('accounts')).to.include({ state: 'live', lagEvents: 0 });

    const requested = await t.app.infra.store.readStream(projectionStreamId('accounts'));
    expect(requested.map((e) => e.type)).to.deep.equal(['ProjectionRebuildRequested']);
    await waitFor(
      async () =>
        (await request(t.baseUrl, 'GET', '/api/audit?action=projection.rebuild_requested', { token: admin })).body
          .entries?.length === 1,
      30_000,
      'the audit entry',
    );
  });

  it('refuses bad requests with a clear 4xx and appends nothing', async () => {
    const head = await t.app.infra.store.headPosition();
    const unknown = await request(t.baseUrl, 'POST', '/api/projections/nope/rebuild', { token: admin });
    expect(unknown.status).to.equal(404);
    expect(unknown.body.error).to.include({ code: 'unknown_projection' });
    expect(unknown.body.error.correlationId).to.be.a('string');
    const badName = await request(t.baseUrl, 'POST', `/api/projections/${encodeURIComponent('bad name!')}/rebuild`, {
      token: admin,
    });
    expect(badName.status).to.equal(400);
    const badBody = await request(t.baseUrl, 'POST', '/api/projections/accounts/rebuild', {
      token: admin,
      body: { force: true },
    });
    expect(badBody.status).to.equal(400);
    const malformed = await request(t.baseUrl, 'POST', '/api/projections/accounts/rebuild', {
      token: admin,
      rawBody: '{"oops"',
    });
    expect(malformed.status).to.equal(400);
    const notAdmin = await request(t.baseUrl, 'POST', '/api/projections/accounts/rebuild', { token: operator });
    expect(notAdmin.status).to.equal(403);
    expect(await t.app.infra.store.headPosition()).to.equal(head);
  });
});
