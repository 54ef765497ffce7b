import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { wsTokenStreamId } from '#domain/identity/events.js';
import { DEFAULT_METRICS_SOCKET_LIMITS } from '#interfaces/ws/metricsSocket.js';
import { ADMIN_PASSWORD, TEST_JWT_SECRET, loginAs, startTestApp, type TestApp } from '../../support/app.js';
import {
  authenticated,
  connect,
  rejection,
  sampleEvent,
  sampleSnapshot,
  startWsServer,
  subjectFeed,
  waitFor,
  wsToken,
  type WsServer,
} from './harness.js';

const resign = (token: string, patch: Record<string, unknown>) => {
  const claims = jwt.decode(token) as Record<string, unknown>;
  return jwt.sign({ ...claims, jti: randomUUID(), ...patch }, TEST_JWT_SECRET, {
    algorithm: 'HS256',
    header: { alg: 'HS256', typ: 'ws+jwt' },
  });
};

describe('GET /ws/metrics: authentication, rejections and streaming (real Postgres ws tokens)', function () {
  this.timeout(30_000);
  let t: TestApp;
  let access: string;
  const servers: WsServer[] = [];
  const serve = async (options: Parameters<typeof startWsServer>[2] = {}) => {
    const feed = subjectFeed();
    const server = await startWsServer(t.app.identity, feed, {
      allowedOrigins: ['https://console.example.com'],
      ...options,
    });
    servers.push(server);
    return { feed, server };
  };
  const token = () => wsToken(t.baseUrl, access);

  before(async () => {
    t = await startTestApp();
    ({ access } = await loginAs(t.baseUrl, 'admin', ADMIN_PASSWORD));
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  after(async () => {
    await t.close();
  });

  /** Sends `first` as the first message and returns how the server closed, and its error notice. */
  const closeAfter = async (server: WsServer, first: unknown) => {
    const client = connect(server.url);
    await client.opened;
    client.send(first);
    const closed = await client.closed;
    return { ...closed, messages: client.messages, invalid: client.invalid };
  };

  it('answers auth_ok to a fresh ws token, then streams snapshots and live events in the documented shapes', async () => {
    const { feed, server } = await serve();
    feed.snapshots.next(sampleSnapshot(7));
    const client = await authenticated(server.url, await token());
    // The newest snapshot comes right away, without waiting for the next tick.
    expect((await client.next('snapshot')).data.position).to.equal(7);
    feed.events.next(sampleEvent(8));
    feed.snapshots.next(sampleSnapshot(8));
    expect((await client.next('event')).data).to.include({ position: 8, type: 'MessageReceived' });
    expect((await client.next('snapshot')).data.position).to.equal(8);
    expect(client.messages.map((m) => m.type)).to.deep.equal(['auth_ok', 'snapshot', 'event', 'snapshot']);
    expect(client.invalid).to.deep.equal([]);
    expect(client.binaryFrames, 'every frame is JSON text').to.equal(0);
    expect(server.socket.clients()).to.equal(1);
    client.ws.close();
    await client.closed;
  });

  it('refuses a token in the query string with 4400 token_in_query even when valid, never logs it, and burns it', async () => {
    const { server } = await serve();
    const valid = await token();
    const client = connect(`${server.url}?token=${valid}`);
    const closed = await client.closed;
    expect(closed).to.deep.equal({ code: 4400, reason: 'token_in_query' });
    expect(client.messages).to.deep.include({
      type: 'error',
      code: 'token_in_query',
      message: client.messages.find((m) => m.type === 'error')!.message,
    });
    expect(client.binaryFrames).to.equal(0);
    expect(rejection(server.logs(), 'token_in_query')).to.include({ level: 'warn', closeCode: 4400 });
    expect(server.rawLogs()).not.to.include(valid.split('.')[2]!);
    expect(t.rawLogs()).not.to.include(valid.split('.')[2]!);
    // A token that travelled in a URL may be in some proxy's log: it must not work afterwards. The server
    // burns it in the background: wait for that event, not for a fixed time.
    const { jti } = jwt.decode(valid) as { jti: string };
    await waitFor(
      async () => (await t.app.infra.store.readStream(wsTokenStreamId(jti))).some((e) => e.type === 'WsTokenConsumed'),
      10_000,
      'the query token burnt',
    );
    const reuse = await closeAfter(server, { type: 'auth', token: valid });
    expect(reuse).to.include({ code: 4401, reason: 'token_already_used' });
  });

  it('closes with 4408 auth_timeout when no auth message arrives within 5 s (the default)', async function () {
    this.timeout(15_000);
    expect(DEFAULT_METRICS_SOCKET_LIMITS.authTimeoutMs).to.equal(5_000);
    const { server } = await serve();
    const started = Date.now();
    const client = connect(server.url);
    await client.opened;
    expect(await client.closed).to.deep.equal({ code: 4408, reason: 'auth_timeout' });
    expect(Date.now() - started).to.be.within(4_900, 7_000);
    expect(rejection(server.logs(), 'auth_timeout')).to.exist;
  });

  it('closes with 4400 malformed_message on a first message that is not a JSON auth message', async () => {
    const { server } = await serve();
    const cases: unknown[] = [
      'not json at all',
      '{"type":"auth"}',
      { type: 'hello', token: 'x' },
      { type: 'auth', token: 42 },
      { type: 'auth', token: 'abc', extra: true },
      Buffer.from([1, 2, 3]),
    ];
    for (const first of cases) {
      const result = await closeAfter(server, first);
      expect(result, JSON.stringify(first)).to.include({ code: 4400, reason: 'malformed_message' });
      expect(result.messages[0]).to.include({ type: 'error', code: 'malformed_message' });
    }
    expect(server.logs().filter((l) => l.reason === 'malformed_message')).to.have.length(cases.length);
  });

  it('closes with 4401 token_wrong_type when the client sends its access token instead of a ws token', async () => {
    const { server } = await serve();
    expect(await closeAfter(server, { type: 'auth', token: access })).to.include({
      code: 4401,
      reason: 'token_wrong_type',
    });
    expect(rejection(server.logs(), 'token_wrong_type')).to.include({ closeCode: 4401 });
    expect(server.rawLogs()).not.to.include(access.split('.')[2]!);
  });

  it('closes with 4403 token_wrong_scope for a ws token of another scope', async () => {
    const { server } = await serve();
    const forged = resign(await token(), { scope: 'admin:write' });
    expect(await closeAfter(server, { type: 'auth', token: forged })).to.include({
      code: 4403,
      reason: 'token_wrong_scope',
    });
    expect(rejection(server.logs(), 'token_wrong_scope')).to.include({ closeCode: 4403 });
  });

  it('closes with 4401 token_expired for an expired ws token', async () => {
    const { server } = await serve();
    const now = Math.floor(Date.now() / 1000);
    const expired = resign(await token(), { iat: now - 120, exp: now - 60 });
    expect(await closeAfter(server, { type: 'auth', token: expired })).to.include({
      code: 4401,
      reason: 'token_expired',
    });
    expect(rejection(server.logs(), 'token_expired')).to.exist;
  });

  it('accepts a ws token once: the second use closes with 4401 token_already_used', async () => {
    const { server } = await serve();
    const once = await token();
    const first = await authenticated(server.url, once);
    expect(await closeAfter(server, { type: 'auth', token: once })).to.include({
      code: 4401,
      reason: 'token_already_used',
    });
    expect(rejection(server.logs(), 'token_already_used')).to.exist;
    first.ws.close();
  });

  it('closes with 4401 token_invalid_signature for a token signed with another key', async () => {
    const { server } = await serve();
    const claims = jwt.decode(await token()) as Record<string, unknown>;
    const forged = jwt.sign(claims, 'some-other-secret-that-is-long-enough-000000000', {
      algorithm: 'HS256',
      header: { alg: 'HS256', typ: 'ws+jwt' },
    });
    expect(await closeAfter(server, { type: 'auth', token: forged })).to.include({
      code: 4401,
      reason: 'token_invalid_signature',
    });
  });

  it('refuses the upgrade with HTTP 403 for an origin that is neither in CORS_ORIGINS nor the server itself', async () => {
    const { server } = await serve();
    const foreign = connect(server.url, { origin: 'https://evil.example.net' });
    expect(await foreign.refused).to.equal(403);
    expect(rejection(server.logs(), 'origin_refused')).to.include({ origin: 'https://evil.example.net', status: 403 });
    for (const origin of ['https://console.example.com', `http://127.0.0.1:${server.port}`, undefined]) {
      const client = await authenticated(server.url, await token(), origin ? { origin } : {});
      client.ws.close();
    }
  });

  it('limits connections per user and per address with 4429, naming which limit', async () => {
    const { server } = await serve({ limits: { maxConnectionsPerUser: 2, maxConnectionsPerIp: 3 } });
    const a = await authenticated(server.url, await token());
    const b = await authenticated(server.url, await token());
    expect(await closeAfter(server, { type: 'auth', token: await token() })).to.include({
      code: 4429,
      reason: 'too_many_connections_user',
    });
    await waitFor(() => server.socket.stats().pending === 0);
    const pending = connect(server.url);
    await pending.opened;
    const fourth = connect(server.url);
    expect(await fourth.closed).to.deep.equal({ code: 4429, reason: 'too_many_connections_ip' });
    expect(rejection(server.logs(), 'too_many_connections_ip')).to.include({ ip: '127.0.0.1' });
    // Leaving frees the slot.
    a.ws.close();
    await a.closed;
    pending.ws.close();
    await pending.closed;
    await waitFor(() => server.socket.stats().pending === 0 && server.socket.clients() === 1);
    const again = await authenticated(server.url, await token());
    expect(server.socket.clients()).to.equal(2);
    for (const c of [b, again]) c.ws.close();
  });

  it("closes with 1009 when a client sends a frame over maxPayload (4 KiB by default, not ws's 100 MiB)", async () => {
    expect(DEFAULT_METRICS_SOCKET_LIMITS.maxPayloadBytes).to.equal(4096);
    const { server } = await serve();
    const result = await closeAfter(server, { type: 'auth', token: 'x'.repeat(5_000) });
    expect(result.code).to.equal(1009);
  });

  it('closes with 4400 unexpected_message when an authenticated client sends anything', async () => {
    const { server } = await serve();
    const client = await authenticated(server.url, await token());
    client.send({ type: 'auth', token: 'again' });
    expect(await client.closed).to.deep.equal({ code: 4400, reason: 'unexpected_message' });
  });

  it('cuts a client that stops answering pings, and keeps one that answers', async () => {
    const { server } = await serve({ limits: { heartbeatIntervalMs: 150 } });
    const silent = await authenticated(server.url, await token(), { autoPong: false });
    const healthy = await authenticated(server.url, await token());
    let pings = 0;
    healthy.ws.on('ping', () => (pings += 1));
    const closed = await silent.closed;
    expect(closed.code).to.equal(1006); // terminated: a dead peer gets no close handshake
    await waitFor(() => pings > 2, 10_000, 'the healthy client pinged again after the silent one was cut');
    expect(healthy.ws.readyState).to.equal(healthy.ws.OPEN);
    expect(server.logs().some((l) => l.message === 'ws client missed a heartbeat, disconnected')).to.equal(true);
    healthy.ws.close();
  });

  it('on shutdown tells every client (closing notice, then 1001 server_shutdown), refuses upgrades meanwhile, and waits at most the grace period', async () => {
    const { server } = await serve({ limits: { closeGraceMs: 1_000 } });
    const clients = [await authenticated(server.url, await token()), await authenticated(server.url, await token())];
    const stuck = await authenticated(server.url, await token());
    (stuck.ws as unknown as { _socket: Socket })._socket.pause(); // never completes the close handshake
    const unauthenticated = connect(server.url);
    await unauthenticated.opened;
    const started = Date.now();
    const closing = server.socket.close();
    expect(await connect(server.url).refused).to.equal(503);
    for (const client of clients) {
      expect(await client.closed).to.deep.equal({ code: 1001, reason: 'server_shutdown' });
      expect(client.messages.at(-1)).to.include({ type: 'closing', reason: 'server_shutdown', closeCode: 1001 });
      expect(client.binaryFrames).to.equal(0);
    }
    expect((await unauthenticated.closed).code).to.equal(1001);
    await closing;
    expect(Date.now() - started).to.be.within(900, 3_000);
    expect(server.socket.clients()).to.equal(0);
    (stuck.ws as unknown as { _socket: Socket })._socket.resume();
    await stuck.closed;
    expect(stuck.messages.at(-1)).to.include({ type: 'closing', reason: 'server_shutdown' });
  });
});
