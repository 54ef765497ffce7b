import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { Router } from 'express';
import { Redis } from 'ioredis';
import type { EventStore } from '#application/shared/eventStore.js';
import { createPostgresEventStore } from '#infrastructure/eventstore/postgres.js';
import { createLogger, type Logger } from '#infrastructure/logging/logger.js';
import { FAIL_FAST_REDIS_OPTIONS } from '#infrastructure/ratelimit/limiter.js';
import { systemRuntime } from '#infrastructure/shared/runtime.js';
import { openPgliteDatabase, type Database } from '#infrastructure/sql/database.js';
import { createHttpApp } from '#interfaces/http/app.js';
import { createRateLimiting, type RateLimiting } from '#interfaces/http/shared/rateLimit.js';
import { uniqueName, waitFor } from '../../support/events.js';
import { TcpProxy } from '../../support/tcp-proxy.js';

const REDIS = { host: '127.0.0.1', port: 6379 };

const connect = async (port = REDIS.port): Promise<Redis> => {
  const redis = new Redis({ host: REDIS.host, port, ...FAIL_FAST_REDIS_OPTIONS, retryStrategy: () => 50 });
  redis.on('error', () => undefined);
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  return redis;
};

const deleteKeys = async (redis: Redis, prefix: string) => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
};

type Server = { url: string; server: http.Server };

/** A winston JSON logger whose lines land, parsed, in `lines` (what `docker compose logs | grep` would see). */
const captureLogger = (lines: Array<Record<string, unknown>>): Logger => {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return createLogger({ level: 'debug', service: 'test', stream });
};

/** A small app: the real createHttpApp with a stand-in login handler and two read endpoints. */
const startServer = async (rateLimiting: RateLimiting, logger: Logger): Promise<Server> => {
  const router = Router();
  router.post('/api/auth/login', rateLimiting.loginLimiter, (_req, res) => void res.status(200).json({ ok: true }));
  router.get('/api/things/:id', (_req, res) => void res.status(200).json({ ok: true }));
  router.get('/api/other', (_req, res) => void res.status(200).json({ ok: true }));
  const app = createHttpApp({
    logger,
    corsOrigins: [],
    bodyLimit: '10kb',
    routers: [router],
    apiLimiter: rateLimiting.apiLimiter,
    trustProxy: true,
  });
  const server = await new Promise<http.Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
};

const loginFrom = (url: string, ip: string, username = 'ana') =>
  fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
    body: JSON.stringify({ username, password: 'x' }),
  });

const getFrom = (url: string, path: string, ip: string) =>
  fetch(`${url}${path}`, { headers: { 'x-forwarded-for': ip } });

type ErrorBody = { error: { code: string; message: string; correlationId: string } };

describe('rate limits on Redis (HTTP)', function () {
  this.timeout(30_000);
  let database: Database;
  let store: EventStore;
  let redis: Redis;
  let prefix: string;
  let captured: Array<Record<string, unknown>>;
  const running: Array<() => Promise<void>> = [];

  before(async () => {
    database = openPgliteDatabase(null);
    store = await createPostgresEventStore({ executor: database.executor });
    redis = await connect();
  });

  beforeEach(() => {
    prefix = `${uniqueName('test_rl')}:`;
    captured = [];
  });

  afterEach(async () => {
    for (const stop of running.splice(0).reverse()) await stop();
    await deleteKeys(redis, prefix);
  });

  after(async () => {
    redis.disconnect();
    await store.close();
    await database.close();
  });

  /** rate limiting and the app log through one real JSON logger into `captured` */
  const setUp = async (limits: { login: number; api: number }, client: Redis = redis) => {
    const logger = captureLogger(captured);
    const rateLimiting = createRateLimiting({
      redis: client,
      keyPrefix: prefix,
      loginPerMinute: limits.login,
      apiPerMinute: limits.api,
      store,
      log: logger,
      runtime: systemRuntime,
    });
    const server = await startServer(rateLimiting, logger);
    running.push(() => new Promise<void>((resolve) => server.server.close(() => resolve())));
    return server;
  };

  it('refuses the (N+1)th login from one IP within a minute with 429, Retry-After and the error shape; another IP still logs in', async () => {
    const { url } = await setUp({ login: 3, api: 100 });
    for (let i = 0; i < 3; i++) expect((await loginFrom(url, '198.51.100.1')).status).to.equal(200);
    const refused = await loginFrom(url, '198.51.100.1');
    expect(refused.status).to.equal(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).to.be.within(1, 60);
    const body = (await refused.json()) as ErrorBody;
    expect(body.error.code).to.equal('rate_limited');
    expect(body.error.message).to.match(/too many requests/i);
    expect(body.error.correlationId).to.equal(refused.headers.get('x-correlation-id'));
    expect((await loginFrom(url, '198.51.100.2')).status).to.equal(200);
  });

  it("appends exactly one RateLimited event for a burst of refusals from one IP, with the first refusal's correlation id", async () => {
    const { url } = await setUp({ login: 2, api: 100 });
    const ip = `198.51.100.${10 + Math.floor(Math.random() * 200)}`;
    const streamId = `ratelimit-${ip.replace(/\./g, '-')}`;
    const before = (await store.readStream(streamId)).length;
    for (let i = 0; i < 2; i++) await loginFrom(url, ip, 'Bob');
    const firstRefusal = await loginFrom(url, ip, 'Bob');
    expect(firstRefusal.status).to.equal(429);
    const rest = await Promise.all(Array.from({ length: 8 }, () => loginFrom(url, ip, 'Bob')));
    expect(rest.map((r) => r.status)).to.deep.equal(Array.from({ length: 8 }, () => 429));
    const events = (await store.readStream(streamId)).slice(before);
    expect(events).to.have.length(1);
    expect(events[0]!.type).to.equal('RateLimited');
    expect(events[0]!.data).to.deep.equal({
      ip,
      route: 'POST /api/auth/login',
      limit: 2,
      windowSeconds: 60,
      username: 'bob',
    });
    expect(events[0]!.metadata.correlationId).to.equal(firstRefusal.headers.get('x-correlation-id'));
    expect(events[0]!.metadata.ip).to.equal(ip);
  });

  it('writes a `rate limit exceeded` log line with ip, username, route and correlation id', async () => {
    const server = await setUp({ login: 1, api: 100 });
    const ip = '198.51.100.250';
    await loginFrom(server.url, ip, 'carol');
    const refused = await loginFrom(server.url, ip, 'carol');
    expect(refused.status).to.equal(429);
    const line = captured.find((l) => l.message === 'rate limit exceeded');
    expect(line).to.include({
      level: 'warn',
      ip,
      username: 'carol',
      route: 'POST /api/auth/login',
      correlationId: refused.headers.get('x-correlation-id'),
    });
  });

  it('limits other /api requests per IP and endpoint, folding ids into one endpoint', async () => {
    const { url } = await setUp({ login: 100, api: 2 });
    const ip = '203.0.113.5';
    expect((await getFrom(url, '/api/things/1', ip)).status).to.equal(200);
    expect((await getFrom(url, '/api/things/2', ip)).status).to.equal(200);
    const refused = await getFrom(url, '/api/things/3', ip);
    expect(refused.status).to.equal(429);
    expect(((await refused.json()) as ErrorBody).error.code).to.equal('rate_limited');
    expect(refused.headers.get('retry-after')).to.match(/^\d+$/);
    expect((await getFrom(url, '/api/other', ip)).status).to.equal(200);
    expect((await getFrom(url, '/api/things/4', '203.0.113.6')).status).to.equal(200);
    // The login endpoint is not charged to the api budget.
    for (let i = 0; i < 3; i++) expect((await loginFrom(url, ip)).status).to.equal(200);
  });

  describe('when Redis goes away', () => {
    let proxy: TcpProxy;
    let proxied: Redis;

    beforeEach(async () => {
      proxy = new TcpProxy(REDIS);
      await proxy.start();
      proxied = await connect(proxy.port);
    });

    afterEach(async () => {
      proxied.disconnect();
      await proxy.stop();
    });

    it('fails login closed with a quick 503 rate_limiter_unavailable, lets reads through, and recovers when Redis is back', async () => {
      const server = await setUp({ login: 5, api: 5 }, proxied);
      const ip = '192.0.2.44';
      expect((await loginFrom(server.url, ip)).status).to.equal(200);

      proxy.cut();
      const startedAt = Date.now();
      const refused = await loginFrom(server.url, ip);
      expect(Date.now() - startedAt).to.be.below(2_000);
      expect(refused.status).to.equal(503);
      const body = (await refused.json()) as ErrorBody;
      expect(body.error.code).to.equal('rate_limiter_unavailable');
      expect(body.error.message).to.match(/rate limiter/);
      expect(body.error.correlationId).to.equal(refused.headers.get('x-correlation-id'));
      // Far more reads than the api budget: with the limiter down they all go through.
      for (let i = 0; i < 8; i++) expect((await getFrom(server.url, '/api/things/1', ip)).status).to.equal(200);
      expect(
        captured.some((l) => l.level === 'warn' && String(l.message).includes('login refused (fail closed)')),
      ).to.equal(true);
      expect(captured.filter((l) => String(l.message).includes('let through')).length).to.equal(1);

      proxy.restore();
      await waitFor(
        async () => (await loginFrom(server.url, ip)).status === 200,
        10_000,
        'login to work again after Redis is back',
      );
    });
  });
});
