// Two app instances on the same Postgres schema and the same Redis: an event appended through one reaches a
// WebSocket client of the other, by way of the elected publisher and Redis pub/sub.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { Observable, interval, map, share } from 'rxjs';
import type { EventStore } from '#application/shared/eventStore.js';
import type { LiveEvent, LiveFeed } from '#application/metrics/live.js';
import { accountIdFor } from '#application/identity/accountIds.js';
import { systemRuntime } from '#infrastructure/shared/runtime.js';
import { createFanout, type Fanout } from '#infrastructure/metrics/fanout.js';
import {
  ADMIN_PASSWORD,
  TEST_JWT_SECRET,
  TEST_REDIS_URL,
  loginAs,
  request,
  startTestApp,
  type TestApp,
} from '../../support/app.js';
import { uniqueName } from '../../support/events.js';
import {
  authenticated,
  sampleSnapshot,
  startWsServer,
  waitFor,
  wsToken,
  type TestClient,
  type WsServer,
} from './harness.js';

/**
 * Stand-in for the metrics producer (projections/metrics/liveFeed.ts): lazy, like the real one must be,
 * so a follower that never subscribes never reads the event store for it.
 */
const storeFeed = (store: EventStore): LiveFeed => ({
  events$: new Observable<LiveEvent>((subscriber) => {
    let stop: (() => Promise<void>) | null = null;
    let ended = false;
    void store.headPosition().then((head) => {
      if (ended) return;
      const subscription = store.subscribeToAll({
        after: head,
        onEvent: (e) =>
          subscriber.next({
            position: e.position,
            type: e.type,
            streamId: e.streamId,
            occurredAt: e.metadata.occurredAt,
            correlationId: e.metadata.correlationId,
            actor: e.metadata.actor,
          }),
      });
      stop = () => subscription.stop();
    });
    return () => {
      ended = true;
      void stop?.();
    };
  }).pipe(share()),
  snapshots$: interval(200).pipe(
    map((i) => sampleSnapshot(i)),
    share(),
  ),
});

/** Logs in through `app` with a correlation id of its own, so the events it appends can be told apart. */
const loginThrough = async (app: TestApp): Promise<string> => {
  const correlationId = uniqueName('fanout');
  const response = await request(app.baseUrl, 'POST', '/api/auth/login', {
    body: { username: 'admin', password: ADMIN_PASSWORD },
    headers: { 'x-correlation-id': correlationId },
  });
  expect(response.status).to.equal(200);
  return correlationId;
};

const loginSeenBy = async (client: TestClient, correlationId: string) => {
  const stream = `account-${accountIdFor('admin')}`;
  await waitFor(
    () =>
      client.messages.some(
        (m) =>
          m.type === 'event' &&
          m.data.type === 'LoginSucceeded' &&
          m.data.streamId === stream &&
          m.data.correlationId === correlationId,
      ),
    10_000,
    'the login appended through the other process',
  );
};

describe('live metrics across two app processes (same Postgres and Redis)', function () {
  this.timeout(60_000);

  describe('with the fan-out attached to each app', () => {
    let a: TestApp;
    let b: TestApp;
    const closers: Array<() => Promise<void>> = [];
    before(async () => {
      const redisKeyPrefix = `${uniqueName('t')}:`;
      a = await startTestApp({ redis: true, redisKeyPrefix });
      b = await startTestApp({ redis: true, redisKeyPrefix, databaseUrl: a.databaseUrl });
      closers.push(
        () => a.close(),
        () => b.close(),
      );
    });
    after(async () => {
      for (const close of closers.reverse()) await close();
    });

    it('an event appended through process A reaches a WebSocket client of process B, which computes nothing itself', async () => {
      const channel = `${uniqueName('t')}:metrics:live`;
      const fanA: Fanout = createFanout({
        redis: a.app.redis,
        local: storeFeed(a.app.infra.store),
        channel,
        publish: true,
        leaseMs: 1_000,
        runtime: systemRuntime,
      });
      closers.push(() => fanA.close());
      await waitFor(() => fanA.isLeader() && fanA.mode() === 'redis', 5_000, 'A leads');
      const fanB = createFanout({
        redis: b.app.redis,
        local: storeFeed(b.app.infra.store),
        channel,
        publish: true,
        leaseMs: 1_000,
        runtime: systemRuntime,
      });
      closers.push(() => fanB.close());
      await waitFor(() => fanB.mode() === 'redis', 5_000, 'B subscribed');
      expect(fanB.isLeader()).to.equal(false);

      const wsB: WsServer = await startWsServer(b.app.identity, fanB);
      closers.push(() => wsB.close());
      const { access } = await loginAs(b.baseUrl, 'admin', ADMIN_PASSWORD);
      const client = await authenticated(wsB.url, await wsToken(b.baseUrl, access));
      await client.next('snapshot', 3_000);

      await loginSeenBy(client, await loginThrough(a)); // appended through A only
      expect(fanB.isLeader()).to.equal(false);
      expect(client.invalid).to.deep.equal([]);
      client.ws.close();
    });
  });

  describe('through startApp (the wiring of interfaces/process/app.ts)', () => {
    let a: TestApp;
    let b: TestApp;
    before(async () => {
      const redisKeyPrefix = `${uniqueName('t')}:`;
      a = await startTestApp({ redis: true, redisKeyPrefix });
      b = await startTestApp({ redis: true, redisKeyPrefix, databaseUrl: a.databaseUrl });
    });
    after(async () => {
      await b?.close();
      await a?.close();
    });

    it('one of the two publishes, and a client of B receives snapshots and the events appended through A', async () => {
      // A wiring regression fails here, never skips: startApp attaches the metrics WebSocket and its fan-out.
      for (const t of [a, b])
        expect(t.app.server.listenerCount('upgrade'), 'startApp attaches the metrics WebSocket').to.be.greaterThan(0);
      const leaders = () => [a, b].map((t) => t.app.liveFeed.isLeader());
      await waitFor(() => leaders().filter(Boolean).length === 1, 10_000, 'one publisher');
      const { access } = await loginAs(b.baseUrl, 'admin', ADMIN_PASSWORD);
      const client = await authenticated(`ws://127.0.0.1:${b.app.port}/ws/metrics`, await wsToken(b.baseUrl, access));
      await client.next('snapshot', 5_000);
      await loginSeenBy(client, await loginThrough(a));
      expect(client.invalid).to.deep.equal([]);
      client.ws.close();
    });
  });

  describe('across two operating-system processes', () => {
    let a: TestApp;
    let child: ChildProcess;
    let childPort = 0;
    before(async () => {
      const redisKeyPrefix = `${uniqueName('t')}:`;
      a = await startTestApp({ redis: true, redisKeyPrefix });
      child = spawn(process.execPath, ['--import', 'tsx', 'tests/support/app-process.ts'], {
        cwd: process.cwd(),
        env: {
          ...process.env,
          NODE_ENV: 'test',
          JWT_SECRET: TEST_JWT_SECRET,
          ADMIN_PASSWORD,
          DATABASE_URL: a.databaseUrl,
          REDIS_URL: TEST_REDIS_URL,
          TEST_REDIS_PREFIX: redisKeyPrefix,
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      await waitFor(() => /"port":\d+/.test(output), 60_000, 'the second app process to listen');
      childPort = (JSON.parse(output.split('\n')[0]!) as { port: number }).port;
    });
    after(async () => {
      if (child && child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await a?.close();
    });

    it('an event appended through this process reaches a WebSocket client of the other process', async () => {
      const childUrl = `http://127.0.0.1:${childPort}`;
      const { access } = await loginAs(childUrl, 'admin', ADMIN_PASSWORD);
      const client = await authenticated(`ws://127.0.0.1:${childPort}/ws/metrics`, await wsToken(childUrl, access));
      await client.next('snapshot', 5_000);
      await loginSeenBy(client, await loginThrough(a));
      expect(client.invalid).to.deep.equal([]);
      client.ws.close();
    });
  });
});
