import { expect } from 'chai';
import { accountIdFor } from '#application/identity/accountIds.js';
import { ADMIN_PASSWORD, createTestSchema, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';
import { uniqueName } from '../../support/events.js';
import { manualRuntime } from '../../support/runtime.js';

const ATTACKER = '203.0.113.7';
const HOME = '198.51.100.1';
const from = (ip: string) => ({ 'x-forwarded-for': ip });
const loginFrom = (t: TestApp, ip: string, username: string, password: string) =>
  request(t.baseUrl, 'POST', '/api/auth/login', { body: { username, password }, headers: from(ip) });
const typesOf = async (t: TestApp, stream: string) =>
  (await t.app.infra.store.readStream(stream)).map((e) =>
    e.type === 'LoginFailed' ? `LoginFailed:${String(e.data.reason)}` : e.type,
  );

describe('login lockout per source and per account, and account administration (real Postgres, Redis)', function () {
  this.timeout(120_000);
  const runtime = manualRuntime(new Date());
  const redisKeyPrefix = `${uniqueName('t')}:`;
  let t: TestApp;
  let admin: { access: string; refresh: string };
  before(async () => {
    t = await startTestApp({
      env: {
        LOGIN_MAX_FAILURES: '5',
        LOGIN_ACCOUNT_MAX_FAILURES: '12',
        LOCKOUT_BASE_SECONDS: '60',
        TRUST_PROXY: 'true',
      },
      runtime,
      redis: true,
      redisKeyPrefix,
    });
    admin = await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD);
    const created = await request(t.baseUrl, 'POST', '/api/users', {
      token: admin.access,
      body: { username: 'target', password: 'right-password-1', role: 'operator' },
    });
    expect(created.status).to.equal(201);
  });
  after(async () => {
    await t.close();
  });

  it('50 concurrent wrong passwords from one address record exactly 5 failures before SourceLocked; the owner at home still gets in', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 50 }, () => loginFrom(t, ATTACKER, 'target', 'wrong-password')),
    );
    const statuses = attempts.map((a) => a.status);
    expect(
      statuses.filter((s) => s === 401),
      statuses.join(','),
    ).to.have.length(4);
    expect(statuses.filter((s) => s === 423)).to.have.length(46);
    const locked = attempts.find((a) => a.status === 423)!;
    expect(locked.body.error.code).to.equal('account_locked');
    expect(Number(locked.headers.get('retry-after'))).to.be.within(1, 60);

    const types = await typesOf(t, `account-${accountIdFor('target')}`);
    const lockedAt = types.indexOf('SourceLocked');
    expect(types.slice(0, lockedAt).filter((x) => x === 'LoginFailed:wrong_password')).to.have.length(5);
    expect(types.slice(lockedAt + 1).every((x) => x === 'LoginFailed:account_locked')).to.equal(true);
    expect(types).not.to.include('AccountLocked');

    expect((await loginFrom(t, ATTACKER, 'target', 'right-password-1')).status).to.equal(423);
    expect((await loginFrom(t, HOME, 'target', 'right-password-1')).status).to.equal(200);
  });

  it('the console lists the locked pair, and an admin unlocks that pair only (audited)', async () => {
    const locks = await request(t.baseUrl, 'GET', '/api/users/locks', { token: admin.access });
    expect(locks.status).to.equal(200);
    expect(locks.body.locks).to.deep.include.members([]);
    const waitForLock = async () => {
      for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
        const list = await request(t.baseUrl, 'GET', '/api/users/locks', { token: admin.access });
        const found = (list.body.locks as Array<Record<string, unknown>>).find((l) => l.username === 'target');
        if (found) return found;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error('the lock never showed in GET /api/users/locks');
    };
    expect(await waitForLock()).to.include({ scope: 'source', source: ATTACKER, known: true });
    const id = accountIdFor('target');
    const unlocked = await request(t.baseUrl, 'POST', `/api/users/${id}/unlock`, {
      token: admin.access,
      body: { source: ATTACKER },
    });
    expect(unlocked.status).to.equal(200);
    expect(unlocked.body.changed).to.equal(true);
    const stream = await t.app.infra.store.readStream(`account-${id}`);
    const last = stream[stream.length - 1]!;
    expect(last.type).to.equal('SourceUnlocked');
    expect(last.data).to.include({ source: ATTACKER, by: accountIdFor('admin') });
    expect((await loginFrom(t, ATTACKER, 'target', 'right-password-1')).status).to.equal(200);
  });

  it('failures across many addresses lock the whole account at the higher threshold, from every address', async () => {
    // the earlier failures leave the 15-minute window (no sleep: the app's clock moves)
    runtime.advance(16 * 60_000);
    for (let i = 0; i < 12; i++) {
      const answer = await loginFrom(t, `192.0.2.${i + 1}`, 'target', 'wrong-password');
      expect(answer.status, `attempt ${i + 1}`).to.equal(i < 11 ? 401 : 423);
    }
    expect(await typesOf(t, `account-${accountIdFor('target')}`)).to.include('AccountLocked');
    expect((await loginFrom(t, HOME, 'target', 'right-password-1')).status).to.equal(423);
    // no sleep: the app's clock moves past the lock
    runtime.advance(61_000);
    expect((await loginFrom(t, HOME, 'target', 'right-password-1')).status).to.equal(200);
  });

  it('the stream alone decides: after an admin unlock and a shorter relock, the right password gets in once the relock ends', async () => {
    // Issue 7 item 3: a Redis lockout view, stale after an admin unlock and a shorter relock, made the
    // right password answer 401 and wrote LoginFailed:wrong_password. Nothing but the account stream
    // decides now (the view is gone); this replays that sequence against the stream.
    const id = accountIdFor('target');
    const lockAccount = async (batch: number) => {
      for (let i = 0; i < 12; i++) {
        const answer = await loginFrom(t, `192.0.${batch}.${i + 1}`, 'target', 'wrong-password');
        expect(answer.status, `batch ${batch} attempt ${i + 1}`).to.equal(i < 11 ? 401 : 423);
      }
    };
    const lastLock = async () => {
      const locks = (await t.app.infra.store.readStream(`account-${id}`)).filter((e) => e.type === 'AccountLocked');
      return locks[locks.length - 1]!.data as { lockoutCount: number; until: string };
    };
    runtime.advance(16 * 60_000);
    admin = await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD);
    await lockAccount(10); // first lock: 60 s
    runtime.advance(61_000);
    await lockAccount(11); // repeated lock: 120 s
    expect((await lastLock()).lockoutCount).to.equal(2);
    const unlocked = await request(t.baseUrl, 'POST', `/api/users/${id}/unlock`, { token: admin.access });
    expect(unlocked.status).to.equal(200);
    await lockAccount(12); // relock after the admin's unlock: back to 60 s, shorter than the one unlocked
    const relock = await lastLock();
    expect(relock.lockoutCount).to.equal(1);
    expect((await loginFrom(t, HOME, 'target', 'right-password-1')).status).to.equal(423);
    runtime.advance(61_000); // past the relock, well inside the 120 s lock the admin lifted
    const before = (await typesOf(t, `account-${id}`)).length;
    expect((await loginFrom(t, HOME, 'target', 'right-password-1')).status).to.equal(200);
    const added = (await typesOf(t, `account-${id}`)).slice(before);
    expect(added).not.to.include('LoginFailed:wrong_password');
    expect(added.at(-1)).to.equal('LoginSucceeded');
  });

  it('an unknown name answers exactly like a known one: 401 four times, then 423 with the same message', async () => {
    const answers = async (username: string) => {
      const out = [];
      for (let i = 0; i < 6; i++) out.push(await loginFrom(t, '192.0.2.200', username, 'wrong-password'));
      return out;
    };
    runtime.advance(16 * 60_000);
    admin = await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD);
    const created = await request(t.baseUrl, 'POST', '/api/users', {
      token: admin.access,
      body: { username: 'someone', password: 'right-password-2', role: 'viewer' },
    });
    expect(created.status).to.equal(201);
    const known = await answers('someone');
    const unknown = await answers('no-such-user');
    const shape = (r: { status: number; body: any; headers: Headers }) => ({
      status: r.status,
      code: r.body.error.code,
      message: String(r.body.error.message).replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/, '<time>'),
      retryAfter: r.headers.get('retry-after'),
      keys: Object.keys(r.body.error).sort().join(','),
    });
    expect(unknown.map(shape)).to.deep.equal(known.map(shape));
    expect(unknown.map((r) => r.status)).to.deep.equal([401, 401, 401, 401, 423, 423]);
    const types = await typesOf(t, `login-unknown-${accountIdFor('no-such-user')}`);
    expect(types).to.include('SourceLocked');
  });

  it('only admins manage users; disabling a user ends its sessions and blocks its logins', async () => {
    runtime.advance(3_600_000);
    admin = await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD);
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
    expect((await loginFrom(t, HOME, 'target', 'right-password-1')).status).to.equal(401);
    const list = await request(t.baseUrl, 'GET', '/api/users', { token: admin.access });
    expect(list.status).to.equal(200);
    expect(JSON.stringify(list.body)).not.to.include('argon2');
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
