import { expect } from 'chai';
import pg from 'pg';
import { waitFor } from '../../support/events.js';
import { ADMIN_PASSWORD, loginAs, request, startTestApp, type TestApp } from '../../support/app.js';
import { PgCluster } from '../../support/pg-cluster.js';

/** A cluster of the test's own (pg_ctl) stops and comes back under a running app. */
describe('PostgreSQL stops and comes back', function () {
  this.timeout(180_000);
  let cluster: PgCluster;
  let app: TestApp;

  before(async () => {
    cluster = await PgCluster.create();
    app = await startTestApp({ databaseUrl: cluster.url });
  });
  after(async () => {
    await app?.close().catch(() => undefined);
    cluster?.destroy();
  });

  const accountCreatedFor = async (username: string): Promise<number> => {
    const client = new pg.Client({ connectionString: cluster.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string }>(
        "select count(*) as n from es_events where type = 'AccountCreated' and data->>'username' = $1",
        [username],
      );
      return Number(rows[0]!.n);
    } finally {
      await client.end();
    }
  };

  it('/healthz goes 503 then 200 by itself; a write during the outage gets a clear 503 and leaves nothing behind', async () => {
    const { access } = await loginAs(app.baseUrl, 'admin', ADMIN_PASSWORD);
    expect((await request(app.baseUrl, 'GET', '/healthz')).status).to.equal(200);

    cluster.stop();
    let health = await request(app.baseUrl, 'GET', '/healthz');
    await waitFor(
      async () => (health = await request(app.baseUrl, 'GET', '/healthz')).status === 503,
      15_000,
      '/healthz 503',
    );
    expect(health.body.status).to.equal('unavailable');
    expect(health.body.checks.database.status).to.equal('error');

    const during = await request(app.baseUrl, 'POST', '/api/users', {
      token: access,
      body: { username: 'during-outage', password: 'a-long-enough-password', role: 'viewer' },
    });
    expect(during.status, JSON.stringify(during.body)).to.equal(503);
    expect(during.body.error.code).to.equal('service_unavailable');
    expect(during.headers.get('retry-after')).to.equal('5');
    // A token is valid only while its session is active in the session read model, which lives in
    // PostgreSQL: without it authentication fails closed, with the same clear 503, never a 500.
    const me = await request(app.baseUrl, 'GET', '/api/auth/me', { token: access });
    expect(me.status, JSON.stringify(me.body)).to.equal(503);
    expect(me.body.error.code).to.equal('service_unavailable');

    const stoppedAt = Date.now();
    cluster.start();
    await waitFor(
      async () => (await request(app.baseUrl, 'GET', '/healthz')).status === 200,
      60_000,
      '/healthz 200 after the restart',
    );
    const recoveryMs = Date.now() - stoppedAt;
    expect(recoveryMs).to.be.below(60_000);

    expect(await accountCreatedFor('during-outage'), 'nothing of the refused write was stored').to.equal(0);
    const after = await request(app.baseUrl, 'POST', '/api/users', {
      token: access,
      body: { username: 'during-outage', password: 'a-long-enough-password', role: 'viewer' },
    });
    expect(after.status, JSON.stringify(after.body)).to.equal(201);
    expect(await accountCreatedFor('during-outage')).to.equal(1);
  });
});
