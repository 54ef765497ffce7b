import { expect } from 'chai';
import { ADMIN_PASSWORD, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';

type View = { id: string; type: string; data: Record<string, unknown>; metadata: { correlationId: string } };

describe('time travel: GET /api/streams/{streamId}/state?at= (real Postgres)', function () {
  this.timeout(120_000);
  let t: TestApp;
  let admin: string;
  before(async () => {
    t = await startTestApp({ env: { LOGIN_MAX_FAILURES: '3', LOCKOUT_BASE_SECONDS: '600' } });
    admin = (await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD)).access;
  });
  after(async () => {
    await t.close();
  });

  const stateAt = (streamId: string, at: string, token = admin) =>
    request(t.baseUrl, 'GET', `/api/streams/${streamId}/state?at=${encodeURIComponent(at)}`, { token });

  it('answers "was this account locked at T, and why?" before and after the lockout', async () => {
    const created = await request(t.baseUrl, 'POST', '/api/users', {
      token: admin,
      body: { username: 'victim', password: 'victim-password-1', role: 'operator' },
    });
    expect(created.status).to.equal(201);
    const stream = `account-${String(created.body.id)}`;
    const beforeLock = new Date().toISOString();
    for (let i = 0; i < 3; i++)
      await request(t.baseUrl, 'POST', '/api/auth/login', { body: { username: 'victim', password: 'wrong-password' } });
    const refused = await request(t.baseUrl, 'POST', '/api/auth/login', {
      body: { username: 'victim', password: 'victim-password-1' },
    });
    expect(refused.status).to.equal(423);
    const afterLock = new Date().toISOString();

    const then = await stateAt(stream, beforeLock);
    expect(then.status, JSON.stringify(then.body)).to.equal(200);
    expect(then.body.kind).to.equal('account');
    expect(then.body.summary).to.include({ exists: true, status: 'active', lockedInForce: false, lockedBy: null });
    expect(then.body.events.map((e: View) => e.type)).to.deep.equal(['AccountCreated']);
    expect(then.body.laterEvents).to.be.at.least(4);

    const now = await stateAt(stream, afterLock);
    expect(now.status).to.equal(200);
    // the failures came from one address: that address is locked out, the account stays open to others
    expect(now.body.summary).to.include({ status: 'active', lockedInForce: true, lockedUntil: null });
    expect(now.body.summary.sourceLocks).to.have.length(1);
    const types = now.body.events.map((e: View) => e.type);
    expect(types.slice(0, 4)).to.deep.equal(['AccountCreated', 'LoginFailed', 'LoginFailed', 'LoginFailed']);
    expect(types).to.include('SourceLocked');
    // why: the SourceLocked event, and through its correlation id the attempt that caused it
    const lockEvent = now.body.events.find((e: View) => e.type === 'SourceLocked') as View;
    expect(now.body.summary.lockedBy).to.equal(lockEvent.id);
    const chain = await request(t.baseUrl, 'GET', `/api/events/chain/${lockEvent.metadata.correlationId}`, {
      token: admin,
    });
    expect(JSON.stringify(chain.body)).to.include('"LoginFailed"');

    // much later, the lock has run out even though no event says so yet
    const later = await stateAt(stream, new Date(Date.now() + 3_600_000).toISOString());
    expect(later.body.summary).to.include({ status: 'active', lockedInForce: false });
    expect(later.body.summary.sourceLocks).to.have.length(0);

    for (const response of [then, now, later]) {
      expect(JSON.stringify(response.body)).not.to.include('$argon2');
      expect(response.body.state.passwordHash).to.equal('[redacted]');
    }
  });

  it('refuses bad input, unsupported streams, unknown accounts and non-admins', async () => {
    const cases: Array<[string, number, string]> = [
      ['/api/streams/account-x/state', 400, 'validation_failed'],
      ['/api/streams/account-x/state?at=yesterday', 400, 'validation_failed'],
      ['/api/streams/account-x/state?at=2026-01-01T00:00:00Z&extra=1', 400, 'validation_failed'],
      ['/api/streams/account-x/state?at=2026-01-01T00:00:00Z%00', 400, 'invalid_text'],
      ['/api/streams/session-x/state?at=2026-01-01T00:00:00Z', 400, 'unsupported_stream'],
      ['/api/streams/chat-nobody/state?at=2026-01-01T00:00:00Z', 404, 'stream_not_found'],
      ['/api/streams/account-nobody/state?at=2026-01-01T00:00:00Z', 404, 'stream_not_found'],
    ];
    for (const [path, status, code] of cases) {
      const response = await request(t.baseUrl, 'GET', path, { token: admin });
      expect(response.status, path).to.equal(status);
      expect(response.body.error.code, path).to.equal(code);
    }
    await request(t.baseUrl, 'POST', '/api/users', {
      token: admin,
      body: { username: 'viewer-tt', password: 'viewer-password-1', role: 'viewer' },
    });
    const viewer = await loginAs(t.baseUrl, 'viewer-tt', 'viewer-password-1');
    const refused = await stateAt('account-x', '2026-01-01T00:00:00Z', viewer.access);
    expect(refused.status).to.equal(403);
  });
});
