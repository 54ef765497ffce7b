import { expect } from 'chai';
import { waitFor } from '../../support/events.js';
import { ADMIN_PASSWORD, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';

type Entry = {
  seq: number;
  actor: string;
  action: string;
  target: string | null;
  ip: string | null;
  correlation_id: string | null;
  details: Record<string, unknown>;
};

describe('audit trail in the running app', function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await t.close();
  });

  it("a wrong password and the admin's login show up in GET /api/audit, with the request's correlation id and no secrets", async () => {
    const failed = await request(t.baseUrl, 'POST', '/api/auth/login', {
      body: { username: 'admin', password: 'wrong-password' },
      headers: { 'x-correlation-id': 'audit-e2e-wrong-1' },
    });
    expect(failed.status).to.equal(401);
    const { access } = await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD);

    let entries: Entry[] = [];
    await waitFor(
      async () => {
        entries = (await request(t.baseUrl, 'GET', '/api/audit?action=login.*&order=asc', { token: access })).body
          .entries as Entry[];
        return entries.some((e) => e.action === 'login.succeeded');
      },
      20_000,
      'the login in the audit trail',
    );

    const wrong = entries.find((e) => e.action === 'login.failed')!;
    expect(wrong).to.deep.include({ correlation_id: 'audit-e2e-wrong-1' });
    expect(wrong.details).to.include({ username: 'admin', reason: 'wrong_password' });
    expect(wrong.ip).to.be.a('string');

    const created = (await request(t.baseUrl, 'GET', '/api/audit?action=user.created', { token: access })).body
      .entries as Entry[];
    expect(created).to.have.length(1);
    expect(created[0]).to.include({ actor: 'system' });
    expect(JSON.stringify(created)).to.not.include('argon2');
  });
});
