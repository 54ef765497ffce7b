import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import type { EventStore } from '#application/shared/eventStore.js';
import { createPostgresEventStore } from '#infrastructure/eventstore/postgres.js';
import { FAIL_FAST_REDIS_OPTIONS } from '#infrastructure/ratelimit/limiter.js';
import { openPgliteDatabase, type Database } from '#infrastructure/sql/database.js';
import {
  createLockoutProjection,
  LOCKOUT_EVENT_TYPES,
  type LockoutProjection,
} from '#projections/identity/lockoutView.js';
import { newEvent, uniqueName, waitFor } from '../../support/events.js';
import { TcpProxy } from '../../support/tcp-proxy.js';

const REDIS = { host: '127.0.0.1', port: 6379 };

const connect = async (port = REDIS.port): Promise<Redis> => {
  const redis = new Redis({ host: REDIS.host, port, ...FAIL_FAST_REDIS_OPTIONS, retryStrategy: () => 50 });
  redis.on('error', () => undefined);
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  return redis;
};

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('lockout view projected into Redis', function () {
  this.timeout(30_000);
  let database: Database;
  let store: EventStore;
  let redis: Redis;
  let prefix: string;
  const running: LockoutProjection[] = [];

  const project = async (options: { redis?: Redis | null } = {}): Promise<LockoutProjection> => {
    const projection = createLockoutProjection({
      store,
      redis: options.redis === undefined ? redis : options.redis,
      keyPrefix: prefix,
      log: silent,
      retryDelayMs: 50,
    });
    running.push(projection);
    await projection.start();
    return projection;
  };

  const lock = (accountId: string, until: Date) =>
    store.append(`account-${accountId}`, [
      newEvent('AccountLocked', { accountId, until: until.toISOString(), lockoutCount: 1, failures: 5 }),
    ]);
  const unlock = (accountId: string) =>
    store.append(`account-${accountId}`, [newEvent('AccountUnlocked', { accountId, by: 'system' })]);
  const succeed = (accountId: string) =>
    store.append(`account-${accountId}`, [
      newEvent('LoginSucceeded', {
        accountId,
        username: 'ana',
        ip: '127.0.0.1',
        userAgent: null,
        sessionId: randomUUID(),
        at: new Date().toISOString(),
      }),
    ]);
  const caughtUpTo = (projection: LockoutProjection, position: number) =>
    waitFor(() => projection.stats().position >= position, 5_000, `projection at ${position}`);

  before(async () => {
    database = openPgliteDatabase(null);
    store = await createPostgresEventStore({ executor: database.executor });
    redis = await connect();
  });

  beforeEach(() => {
    prefix = `${uniqueName('test_lock')}:`;
  });

  afterEach(async () => {
    for (const projection of running.splice(0)) await projection.stop();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  });

  after(async () => {
    redis.disconnect();
    await store.close();
    await database.close();
  });

  it('serves a lock until its end from a Redis key that expires with it, and forgets it on unlock', async () => {
    const projection = await project();
    const accountId = randomUUID();
    const until = new Date(Date.now() + 60_000);
    await lock(accountId, until);
    await waitFor(async () => (await projection.lockedUntil(accountId)) !== null, 5_000, 'the lock to be projected');
    expect(await projection.lockedUntil(accountId)).to.equal(until.getTime());
    const ttl = await redis.pttl(`${prefix}lock:${accountId}`);
    expect(ttl).to.be.within(50_000, 60_000);

    const { position } = await unlock(accountId);
    await caughtUpTo(projection, position);
    expect(await projection.lockedUntil(accountId)).to.equal(null);
    expect(await redis.exists(`${prefix}lock:${accountId}`)).to.equal(0);
    expect(await redis.get(`${prefix}projection:lockouts:checkpoint`)).to.equal(String(position));
  });

  it('clears a lock on a successful login, and never writes a lock that has already ended', async () => {
    const projection = await project();
    const [a, b] = [randomUUID(), randomUUID()];
    await lock(a, new Date(Date.now() + 60_000));
    await lock(b, new Date(Date.now() - 1_000));
    const { position } = await succeed(a);
    await caughtUpTo(projection, position);
    expect(await projection.lockedUntil(a)).to.equal(null);
    expect(await projection.lockedUntil(b)).to.equal(null);
    expect(await redis.exists(`${prefix}lock:${a}`, `${prefix}lock:${b}`)).to.equal(0);
  });

  it('restarts from its Redis checkpoint: old events are not applied again, new ones are', async () => {
    const first = await project();
    const accountId = randomUUID();
    await lock(accountId, new Date(Date.now() + 60_000));
    const { position } = await unlock(accountId);
    await caughtUpTo(first, position);
    expect(first.stats().applied).to.be.at.least(2);
    await first.stop();
    // A marker only a replay of the unlock would delete: the restarted projection must leave it.
    await redis.set(`${prefix}lock:${accountId}`, 'marker');

    const second = await project();
    expect(second.stats()).to.include({ applied: 0, caughtUp: true, position });
    expect(await redis.get(`${prefix}lock:${accountId}`)).to.equal('marker');

    const other = randomUUID();
    const until = new Date(Date.now() + 30_000);
    await lock(other, until);
    await waitFor(
      async () => (await second.lockedUntil(other)) === until.getTime(),
      5_000,
      'a new lock after the restart',
    );
    expect(second.stats().applied).to.equal(1);
  });

  it('applies each event once when two runners share the same Redis (compare-and-set checkpoint)', async () => {
    const [one, two] = [await project(), await project()];
    const accounts = Array.from({ length: 10 }, () => randomUUID());
    let last = 0;
    for (const [i, accountId] of accounts.entries()) {
      ({ position: last } = await lock(accountId, new Date(Date.now() + 60_000)));
      if (i % 2 === 0) ({ position: last } = await unlock(accountId));
    }
    await caughtUpTo(one, last);
    await caughtUpTo(two, last);
    // A fresh prefix replays the whole store: every handled event so far, each applied by exactly one runner.
    const handled = await store.readAll({ filter: { eventTypes: LOCKOUT_EVENT_TYPES } });
    expect(one.stats().applied + two.stats().applied).to.equal(handled.length);
    expect(handled.length).to.be.at.least(15);
    const locked = await Promise.all(accounts.map((id) => one.lockedUntil(id)));
    expect(locked.map((until) => until !== null)).to.deep.equal(accounts.map((_id, i) => i % 2 === 1));
  });

  it('in embedded mode (no Redis) folds the same events into memory from position 0', async () => {
    const accountId = randomUUID();
    const until = new Date(Date.now() + 60_000);
    await lock(accountId, until);
    const other = randomUUID();
    await lock(other, new Date(Date.now() + 60_000));
    const { position } = await unlock(other);
    const projection = await project({ redis: null });
    await caughtUpTo(projection, position);
    expect(await projection.lockedUntil(accountId)).to.equal(until.getTime());
    expect(await projection.lockedUntil(other)).to.equal(null);
  });

  it('answers null at once while Redis is down (the account stream stays the authority), then catches up', async () => {
    const proxy = new TcpProxy(REDIS);
    await proxy.start();
    const proxied = await connect(proxy.port);
    try {
      const projection = await project({ redis: proxied });
      const accountId = randomUUID();
      const until = new Date(Date.now() + 60_000);
      await lock(accountId, until);
      await waitFor(async () => (await projection.lockedUntil(accountId)) !== null, 5_000, 'the lock to be projected');

      proxy.cut();
      const startedAt = Date.now();
      expect(await projection.lockedUntil(accountId)).to.equal(null);
      expect(Date.now() - startedAt).to.be.below(1_000);
      const { position } = await unlock(accountId);

      proxy.restore();
      await caughtUpTo(projection, position);
      await waitFor(
        async () => (await redis.exists(`${prefix}lock:${accountId}`)) === 0,
        5_000,
        'the unlock applied after Redis came back',
      );
    } finally {
      proxied.disconnect();
      await proxy.stop();
    }
  });
});
