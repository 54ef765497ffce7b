import { expect } from 'chai';
import { accountIdFor } from '#application/identity/accountIds.js';
import { ADMIN_PASSWORD, createTestSchema, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';

describe('login lockout and account administration (real Postgres)', function () {
  this.timeout(120_000);
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ env: { LOGIN_MAX_FAILURES: '5', LOCKOUT_BASE_SECONDS: '60' } });
  });
  after(async () => {
    await t.close();
  });

  it('50 concurrent wrong passwords record exactly 5 failures before AccountLocked, and none slips past the lock', async () => {
    const admin = await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD);
    const created = await request(t.baseUrl, 'POST', '/api/users', {
      token: admin.access,
      body: { username: 'target', password: 'right-password-1', role: 'operator' },
    });
    expect(created.status).to.equal(201);

    const attempts = await Promise.all(
      Array.from({ length: 50 }, () =>
        request(t.baseUrl, 'POST', '/api/auth/login', { body: { username: 'target', password: 'wrong-password' } }),
      ),
    );
    const statuses = attempts.map((a) => a.status);
    expect(
      statuses.every((s) => s === 401 || s === 423),
      statuses.join(','),
    ).to.equal(true);
    expect(statuses.filter((s) => s === 401)).to.have.length(4);
    expect(statuses.filter((s) => s === 423)).to.have.length(46);
    const locked = attempts.find((a) => a.status === 423)!;
    expect(locked.body.error.code).to.equal('account_locked');
    expect(Number(locked.headers.get('retry-after'))).to.be.within(1, 60);

    const stream = await t.app.infra.store.readStream(`account-${accountIdFor('target')}`);
    const types = stream.map((e) => (e.type === 'LoginFailed' ? `LoginFailed:${String(e.data.reason)}` : e.type));
    const lockedAt = types.indexOf('AccountLocked');
    expect(lockedAt).to.be.greaterThan(0);
    expect(types.slice(0, lockedAt).filter((x) => x === 'LoginFailed:wrong_password')).to.have.length(5);
    expect(types.slice(lockedAt + 1).every((x) => x === 'LoginFailed:account_locked')).to.equal(true);
    expect(types.filter((x) => x === 'LoginFailed:account_locked')).to.have.length(45);
    expect(types).not.to.include('LoginSucceeded');

    const right = await request(t.baseUrl, 'POST', '/api/auth/login', {
      body: { username: 'target', password: 'right-password-1' },
    });
    expect(right.status).to.equal(423);
    expect(
      t
        .logs()
        .some(
          (l) =>
            String(l.message).includes('lockout') && l.username === 'target' && typeof l.correlationId === 'string',
        ),
    ).to.equal(true);
  });

  it('an admin unlocks the account (an audited event) and the right password works again', async () => {
    const admin = await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD);
    const id = accountIdFor('target');
    const unlocked = await request(t.baseUrl, 'POST', `/api/users/${id}/unlock`, { token: admin.access });
    expect(unlocked.status).to.equal(200);
    expect(unlocked.body.changed).to.equal(true);
    const stream = await t.app.infra.store.readStream(`account-${id}`);
    const last = stream[stream.length - 1]!;
    expect(last.type).to.equal('AccountUnlocked');
    expect(last.data.by).to.equal(accountIdFor('admin'));
    expect(last.metadata.actor).to.equal(accountIdFor('admin'));
    await loginAs(t.baseUrl, 'target', 'right-password-1');
  });

  it('only admins manage users; disabling a user revokes its tokens and blocks its logins', async () => {
    const admin = await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD);
    const operator = await loginAs(t.baseUrl, 'target', 'right-password-1');
    const forbidden = await request(t.baseUrl, 'POST', '/api/users', {
      token: operator.access,
      body: { username: 'x2', password: 'password-123', role: 'viewer' },
    });
    expect(forbidden.status).to.equal(403);
    const taken = await request(t.baseUrl, 'POST', '/api/users', {
      token: admin.access,
      body: { username: 'TARGET', password: 'password-123', role: 'viewer' },
    });
    expect(taken.status).to.equal(409);
    expect(taken.body.error.code).to.equal('username_taken');
    const disabled = await request(t.baseUrl, 'POST', `/api/users/${accountIdFor('target')}/disable`, {
      token: admin.access,
    });
    expect(disabled.status).to.equal(200);
    expect((await request(t.baseUrl, 'GET', '/api/auth/me', { token: operator.access })).body.error.code).to.equal(
      'token_revoked',
    );
    const login = await request(t.baseUrl, 'POST', '/api/auth/login', {
      body: { username: 'target', password: 'right-password-1' },
    });
    expect(login.status).to.equal(401);
    const list = await request(t.baseUrl, 'GET', '/api/users', { token: admin.access });
    expect(list.status).to.equal(200);
    expect(JSON.stringify(list.body)).not.to.include('argon2');
  });

  it('a password reset or a role change voids the tokens issued before it; a new login works', async () => {
    const admin = await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD);
    expect(
      (
        await request(t.baseUrl, 'POST', '/api/users', {
          token: admin.access,
          body: { username: 'changes', password: 'first-password-1', role: 'admin' },
        })
      ).status,
    ).to.equal(201);
    const before = await loginAs(t.baseUrl, 'changes', 'first-password-1');
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // JWT iat has whole seconds
    const id = accountIdFor('changes');
    expect(
      (await request(t.baseUrl, 'PATCH', `/api/users/${id}`, { token: admin.access, body: { role: 'viewer' } })).body
        .changed,
    ).to.equal(true);
    const stale = await request(t.baseUrl, 'GET', '/api/users', { token: before.access });
    expect(stale.status).to.equal(401);
    expect(stale.body.error.code).to.equal('token_revoked');
    expect(
      (await request(t.baseUrl, 'POST', '/api/auth/refresh', { body: { refresh_token: before.refresh } })).status,
    ).to.equal(401);
    const after = await loginAs(t.baseUrl, 'changes', 'first-password-1');
    expect((await request(t.baseUrl, 'GET', '/api/auth/me', { token: after.access })).body.role).to.equal('viewer');

    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(
      (
        await request(t.baseUrl, 'POST', `/api/users/${id}/reset-password`, {
          token: admin.access,
          body: { password: 'second-password-2' },
        })
      ).status,
    ).to.equal(200);
    expect((await request(t.baseUrl, 'GET', '/api/auth/me', { token: after.access })).body.error.code).to.equal(
      'token_revoked',
    );
    expect(
      (
        await request(t.baseUrl, 'POST', '/api/auth/login', {
          body: { username: 'changes', password: 'first-password-1' },
        })
      ).status,
    ).to.equal(401);
    await loginAs(t.baseUrl, 'changes', 'second-password-2');
  });

  it('the admin account is created once even when several app processes start at the same time', async () => {
    const schema = await createTestSchema();
    const apps = await Promise.all([0, 1, 2].map(() => startTestApp({ databaseUrl: schema.url })));
    try {
      const stream = await apps[0]!.app.infra.store.readStream(`account-${accountIdFor('admin')}`);
      expect(stream.filter((e) => e.type === 'AccountCreated')).to.have.length(1);
      await loginAs(apps[2]!.baseUrl, 'admin', ADMIN_PASSWORD);
    } finally {
      for (const app of apps) await app.close();
      await schema.drop();
    }
  });
});
