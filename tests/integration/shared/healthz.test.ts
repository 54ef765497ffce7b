import { expect } from 'chai';
import { createTestSchema, request, startTestApp } from '../../support/app.js';
import { TcpProxy } from '../../support/tcp-proxy.js';
import { waitFor } from '../../support/events.js';

describe('GET /healthz', function () {
  this.timeout(60_000);

  it('names each dependency with its latency, turns 503 naming the database when it goes away, and recovers by itself', async () => {
    const proxy = new TcpProxy({ host: '127.0.0.1', port: 5432 });
    const port = await proxy.start();
    const schema = await createTestSchema(`postgres://postgres@127.0.0.1:${port}/test`);
    const t = await startTestApp({ databaseUrl: schema.url, redis: true });
    try {
      const ok = await request(t.baseUrl, 'GET', '/healthz');
      expect(ok.status).to.equal(200);
      expect(ok.body.status).to.equal('ok');
      expect(ok.body.checks).to.have.keys('eventStore', 'database', 'redis');
      for (const check of Object.values<{ status: string; latencyMs: number }>(ok.body.checks)) {
        expect(check.status).to.equal('ok');
        expect(check.latencyMs).to.be.a('number').at.least(0);
      }

      proxy.cut();
      const down = await request(t.baseUrl, 'GET', '/healthz');
      expect(down.status).to.equal(503);
      expect(down.body.status).to.equal('unavailable');
      expect(down.body.checks.database.status).to.equal('error');
      expect(down.body.checks.database.error).to.be.a('string');
      expect(down.body.checks.redis.status).to.equal('ok');
      expect(JSON.stringify(down.body)).not.to.include('postgres://');

      proxy.restore();
      await waitFor(
        async () => (await request(t.baseUrl, 'GET', '/healthz')).status === 200,
        20_000,
        'healthz back to 200',
      );
    } finally {
      await t.close();
      await schema.drop();
      await proxy.stop();
    }
  });
});
