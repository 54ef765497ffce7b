import { expect } from 'chai';
import { waitFor } from '../../support/events.js';
import { ADMIN_PASSWORD, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';
import { RedisServer } from '../../support/redis-server.js';

/** A redis-server of the test's own stops and comes back (empty) under a running app. */
describe('Redis stops and comes back', function () {
  this.timeout(120_000);
  let redis: RedisServer;
  let app: TestApp;

  before(async () => {
    redis = await RedisServer.start();
    app = await startTestApp({
      env: { REDIS_URL: redis.url, LOGIN_MAX_FAILURES: '3', LOCKOUT_BASE_SECONDS: '300' },
    });
  });
  after(async () => {
    await app?.close().catch(() => undefined);
    await redis?.stop();
  });

  const login = (username: string, password: string) =>
    request(app.baseUrl, 'POST', '/api/auth/login', { body: { username, password } });

  it('logins fail closed with 503, reads and the console go on, and logins and the lockout recover', async () => {
    const admin = await loginAs(app.baseUrl, 'admin', ADMIN_PASSWORD);
    const created = await request(app.baseUrl, 'POST', '/api/users', {
      token: admin.access,
      body: { username: 'locked-before', password: 'right-password-1', role: 'viewer' },
    });
    expect(created.status).to.equal(201);
    const wrong = [];
    for (let i = 0; i < 3; i++) wrong.push((await login('locked-before', 'wrong')).status);
    expect(wrong, 'the third failure locks the account').to.deep.equal([401, 401, 423]);
    expect((await login('locked-before', 'right-password-1')).status).to.equal(423);

    await redis.stop();
    let refused = await login('admin', ADMIN_PASSWORD);
    await waitFor(async () => (refused = await login('admin', ADMIN_PASSWORD)).status === 503, 15_000, 'login 503');
    expect(refused.body.error.code).to.equal('rate_limiter_unavailable');
    expect((await request(app.baseUrl, 'GET', '/api/auth/me', { token: admin.access })).status).to.equal(200);
    expect((await request(app.baseUrl, 'GET', '/api/users', { token: admin.access })).status).to.equal(200);
    const console = await fetch(`${app.baseUrl}/`);
    expect(console.status).to.equal(200);
    expect(await console.text()).to.include('<html');

    await redis.restart(); // empty: the rate-limit counters are gone
    await waitFor(async () => (await login('admin', ADMIN_PASSWORD)).status === 200, 30_000, 'login 200 again');
    // The lock was decided from the account's stream: it holds with an empty Redis.
    const still = await login('locked-before', 'right-password-1');
    expect(still.status).to.equal(423);
    expect(still.body.error.code).to.equal('account_locked');
  });
});
