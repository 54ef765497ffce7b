import { expect } from 'chai';
import { accountIdFor } from '#application/identity/accountIds.js';
import { uniqueName, waitFor } from '../../support/events.js';
import { ADMIN_PASSWORD, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';
import { RedisServer } from '../../support/redis-server.js';
import { authenticated, wsToken } from '../ws/harness.js';

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

  it('the WebSocket fan-out recovers: an open client gets live events and snapshots again once Redis is back', async () => {
    const { access } = await loginAs(app.baseUrl, 'admin', ADMIN_PASSWORD);
    await waitFor(() => app.app.liveFeed.mode() === 'redis', 30_000, 'the fan-out on Redis');
    const client = await authenticated(`ws://127.0.0.1:${app.app.port}/ws/metrics`, await wsToken(app.baseUrl, access));
    await client.next('snapshot', 10_000);
    const stream = `account-${accountIdFor('admin')}`;
    /** a login with its own correlation id, and the client seeing its LoginSucceeded event live */
    const loginSeen = async (what: string) => {
      const correlationId = uniqueName('fanout');
      const response = await request(app.baseUrl, 'POST', '/api/auth/login', {
        body: { username: 'admin', password: ADMIN_PASSWORD },
        headers: { 'x-correlation-id': correlationId },
      });
      expect(response.status).to.equal(200);
      await waitFor(
        () =>
          client.messages.some(
            (m) =>
              m.type === 'event' &&
              m.data.type === 'LoginSucceeded' &&
              m.data.streamId === stream &&
              m.data.correlationId === correlationId,
          ),
        20_000,
        what,
      );
    };
    await loginSeen('a live event before the outage');

    await redis.stop();
    await waitFor(() => app.app.liveFeed.mode() !== 'redis', 15_000, 'the fan-out to notice Redis is gone');
    await redis.restart();
    await waitFor(() => app.app.liveFeed.mode() === 'redis', 30_000, 'the fan-out back on Redis');
    const snapshotsBefore = client.messages.filter((m) => m.type === 'snapshot').length;
    // the very connection opened before the outage: live events and snapshots flow again
    await waitFor(async () => (await login('admin', ADMIN_PASSWORD)).status === 200, 30_000, 'login 200 again');
    await loginSeen('a live event after Redis came back');
    await waitFor(
      () => client.messages.filter((m) => m.type === 'snapshot').length > snapshotsBefore,
      20_000,
      'a snapshot after Redis came back',
    );
    expect(client.invalid).to.deep.equal([]);
    client.ws.close();
  });
});
