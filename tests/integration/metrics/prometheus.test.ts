import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { Router } from 'express';
import { createPrometheus, type Prometheus } from '#infrastructure/metrics/prometheus.js';
import { metricsRoutes, startMetricsServer } from '#interfaces/http/metrics/metricsRoutes.js';
import { createLiveFeed, type LiveFeedHandle } from '#projections/metrics/liveFeed.js';
import { createLogger } from '#infrastructure/logging/logger.js';
import { createHttpApp } from '#interfaces/http/app.js';
import { projectionStatus } from '#projections/runner.js';
import { newEvent, uniqueName, waitFor } from '../../support/events.js';
import { dropSchema, openTestSchema, sampleProjection, type TestSchema } from '../../support/projections.js';

const TOKEN = 'metrics-token-for-tests-0123456789';
const logger = createLogger({ level: 'error', service: 'test', stream: new PassThrough() });

type Served = { baseUrl: string; port: number; close: () => Promise<void> };
const serve = async (prometheus: Prometheus, token: string | null, host = '127.0.0.1'): Promise<Served> => {
  const ping = Router().get('/api/ping/:id', (_req, res) => void res.json({ ok: true }));
  const app = createHttpApp({
    logger,
    corsOrigins: [],
    bodyLimit: '100kb',
    routers: [metricsRoutes({ registry: prometheus.registry, token }), ping],
    onRequestFinished: prometheus.observeHttp,
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
};

/** `name{labels} value` lines of the exposition text, as a map */
const series = (text: string): Map<string, number> =>
  new Map(
    text
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => {
        const cut = line.lastIndexOf(' ');
        return [line.slice(0, cut), Number(line.slice(cut + 1))];
      }),
  );

describe('Prometheus /metrics', function () {
  this.timeout(30_000);
  let t: TestSchema;
  let feed: LiveFeedHandle;
  let prometheus: Prometheus;
  const closers: Array<() => Promise<void>> = [];

  beforeEach(async () => {
    t = await openTestSchema(uniqueName('metrics_prom'), { create: true });
    feed = createLiveFeed({
      store: t.store,
      clock: () => new Date(),
      projectionStatus: () => projectionStatus(t.db, t.store, [sampleProjection()]),
      projectionStatusIntervalMs: 100,
    });
    await feed.start();
    prometheus = createPrometheus({ feed });
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await feed.stop();
    await t.close();
    await dropSchema(t.schema);
  });

  const scrape = async (baseUrl: string, token: string | null = TOKEN, headers: Record<string, string> = {}) =>
    fetch(`${baseUrl}/metrics`, {
      headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...headers },
    });

  it('serves the live figures, HTTP durations by route and status, append latency by result and the process metrics', async () => {
    const served = await serve(prometheus, TOKEN);
    closers.push(served.close);
    const store = prometheus.instrumentStore(t.store);
    expect(store.kind).to.equal(t.store.kind);

    await store.append(
      'account-x',
      [newEvent('LoginFailed', { accountId: 'x' }), newEvent('LoginFailed', { accountId: 'x' })],
      { expectedRevision: 'no_stream' },
    );
    await store.append('ratelimit-10-0-0-1', [
      newEvent('RateLimited', { ip: '10.0.0.1', route: 'POST /api/auth/login', limit: 5, windowSeconds: 60 }),
    ]);
    await store.append('process-worker-web', [
      newEvent('ProcessStarted', { name: 'worker-web', instance: 'h:1', role: 'worker-web' }),
    ]);
    await store.append('process-scheduler', [
      newEvent('ProcessStarted', { name: 'scheduler', instance: 'h:2', role: 'scheduler' }),
      newEvent('ProcessStopped', { name: 'scheduler', instance: 'h:2', role: 'scheduler' }),
    ]);
    const lastMetricEvent = await store.append('account-a', [
      newEvent('LoginFailed', { accountId: 'a' }),
      newEvent('AccountLocked', { accountId: 'a', until: new Date(Date.now() + 60_000).toISOString() }),
    ]);
    await store.append('counted', [newEvent('Counted', { n: 1 }), newEvent('Counted', { n: 2 })]);
    const conflict = await store
      .append('account-x', [newEvent('LoginFailed', { accountId: 'x' })], { expectedRevision: 'no_stream' })
      .catch((error: unknown) => error);
    expect(conflict).to.have.property('code', 'wrong_expected_revision');
    const head = lastMetricEvent.position;
    await waitFor(
      () => feed.current().position === head && feed.current().projections[0]?.lagEvents === 2,
      5_000,
      'the feed to catch up',
    );

    for (const id of ['1', '2', '3']) expect((await fetch(`${served.baseUrl}/api/ping/${id}`)).status).to.equal(200);
    await fetch(`${served.baseUrl}/nowhere`);

    const response = await scrape(served.baseUrl);
    expect(response.status).to.equal(200);
    expect(response.headers.get('content-type')).to.equal(prometheus.registry.contentType);
    const s = series(await response.text());
    expect(
      Object.fromEntries(
        [...s].filter(
          ([key]) =>
            key.startsWith('chatbot_') &&
            !key.startsWith('chatbot_http') &&
            !key.includes('_bucket') &&
            !key.includes('append'),
        ),
      ),
    ).to.deep.equal({
      chatbot_messages_in_per_second: 0,
      chatbot_messages_out_per_second: 0,
      chatbot_outbound_queue_depth: 0,
      chatbot_outbound_queue_oldest_age_seconds: 0,
      chatbot_login_failures_last_minute: 3,
      chatbot_lockouts_last_minute: 1,
      chatbot_locked_accounts: 1,
      chatbot_rate_limited_last_minute: 1,
      'chatbot_projection_lag_events{projection="sample"}': 2,
      'chatbot_projection_lag_ms{projection="sample"}': s.get('chatbot_projection_lag_ms{projection="sample"}'),
      'chatbot_process_up{process="scheduler"}': 0,
      'chatbot_process_up{process="worker-web"}': 1,
      chatbot_whatsapp_connected_sessions: 0,
      chatbot_event_position: head,
    });
    expect(s.get('chatbot_projection_lag_ms{projection="sample"}')).to.be.greaterThan(0);

    expect(s.get('chatbot_event_store_append_seconds_count{result="ok"}')).to.equal(6);
    expect(s.get('chatbot_event_store_append_seconds_count{result="conflict"}')).to.equal(1);
    expect(s.get('chatbot_event_store_append_seconds_count{result="error"}')).to.equal(0);
    expect(
      s.get('chatbot_http_request_duration_seconds_count{method="GET",route="/api/ping/:id",status="200"}'),
    ).to.equal(3);
    expect(s.get('chatbot_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"}')).to.equal(
      1,
    );
    expect(
      s.get('chatbot_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/api/ping/:id",status="200"}'),
    ).to.equal(3);
    expect(s.has('process_cpu_user_seconds_total')).to.equal(true);
    expect(s.has('nodejs_eventloop_lag_seconds')).to.equal(true);

    const next = series(await (await scrape(served.baseUrl)).text());
    expect(
      next.get('chatbot_http_request_duration_seconds_count{method="GET",route="/metrics",status="200"}'),
      'the scrape itself is observed',
    ).to.equal(1);
  });

  it('with a token: 401 without it or with a wrong one (JSON error, nothing leaked), 200 with the right one', async () => {
    const served = await serve(prometheus, TOKEN);
    closers.push(served.close);

    const missing = await scrape(served.baseUrl, null);
    expect(missing.status).to.equal(401);
    expect(missing.headers.get('www-authenticate')).to.equal('Bearer realm="metrics"');
    expect(((await missing.json()) as any).error.code).to.equal('token_missing');

    for (const wrong of [`${TOKEN}x`, 'short', TOKEN.toUpperCase()]) {
      const refused = await scrape(served.baseUrl, wrong);
      expect(refused.status).to.equal(401);
      const body = await refused.text();
      expect(JSON.parse(body).error.code).to.equal('token_invalid');
      expect(body).not.to.include(TOKEN);
      expect(body).not.to.include('chatbot_');
    }
    const basic = await scrape(served.baseUrl, null, {
      authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`,
    });
    expect(basic.status).to.equal(401);

    const ok = await scrape(served.baseUrl, TOKEN);
    expect(ok.status).to.equal(200);
    expect(await ok.text()).to.include('chatbot_outbound_queue_depth 0');
  });

  it('without a token: answers loopback callers only; through a proxy or from another address it is the ordinary 404', async () => {
    const served = await serve(prometheus, null, '0.0.0.0');
    closers.push(served.close);

    const local = await scrape(served.baseUrl, null);
    expect(local.status).to.equal(200);
    expect(await local.text()).to.include('# TYPE chatbot_outbound_queue_depth gauge');

    const proxied = await scrape(served.baseUrl, null, { 'x-forwarded-for': '203.0.113.9' });
    expect(proxied.status).to.equal(404);
    expect(((await proxied.json()) as any).error.code).to.equal('not_found');

    const external = Object.values(networkInterfaces())
      .flat()
      .find((address) => address && !address.internal && address.family === 'IPv4');
    if (external === undefined) {
      process.stdout.write(
        'SKIPPED: /metrics from a non-loopback address (this machine has no external IPv4 interface)\n',
      );
      return;
    }
    const remote = await fetch(`http://${external.address}:${served.port}/metrics`);
    expect(remote.status).to.equal(404);
    expect(await remote.text()).not.to.include('chatbot_');
  });

  it('METRICS_BIND: a separate server serves /metrics without a token and nothing else', async () => {
    const server = await startMetricsServer({ host: '127.0.0.1', port: 0 }, prometheus.registry);
    closers.push(server.close);
    const base = `http://127.0.0.1:${server.port}`;

    const ok = await fetch(`${base}/metrics?x=1`);
    expect(ok.status).to.equal(200);
    expect(ok.headers.get('content-type')).to.equal(prometheus.registry.contentType);
    expect(await ok.text()).to.include('chatbot_event_store_append_seconds_count{result="ok"} 0');

    const other = await fetch(`${base}/api/users`);
    expect(other.status).to.equal(404);
    expect(((await other.json()) as any).error.code).to.equal('not_found');
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).to.equal(404);
  });
});
