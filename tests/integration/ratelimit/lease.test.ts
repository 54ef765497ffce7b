import { expect } from 'chai';
import { Redis } from 'ioredis';
import { FAIL_FAST_REDIS_OPTIONS, createLimiter, type LimitDecision } from '#infrastructure/ratelimit/limiter.js';
import { uniqueName } from '../../support/events.js';

const connect = async (): Promise<Redis> => {
  const redis = new Redis({ host: '127.0.0.1', port: 6379, ...FAIL_FAST_REDIS_OPTIONS });
  redis.on('error', () => undefined);
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  return redis;
};

describe('API rate limiter with leases on Redis', function () {
  this.timeout(20_000);
  let redis: Redis;
  let other: Redis;
  let prefix: string;

  beforeEach(async () => {
    redis = await connect();
    other = await connect();
    prefix = uniqueName('lease');
  });
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    other.disconnect();
  });

  const limiter = (client: Redis, points: number, maxLease = 32) =>
    createLimiter({ redis: client, keyPrefix: prefix, name: 'api', points, windowSeconds: 60, maxLease });
  const stored = async () => Number(await redis.get(`${prefix}:k`));

  it('far from the limit, one Redis increment serves a lease of requests', async () => {
    const api = limiter(redis, 10_000);
    expect((await api.consume('k')).kind).to.equal('allowed');
    expect(await stored()).to.equal(1);
    expect((await api.consume('k')).kind).to.equal('allowed');
    expect(await stored(), 'a lease of 32 points taken in one increment').to.equal(33);
    for (let i = 0; i < 31; i++) expect((await api.consume('k')).kind).to.equal('allowed');
    expect(await stored(), 'the 31 leased requests cost no round trip').to.equal(33);
    await api.consume('k');
    expect(await stored()).to.equal(65);
  });

  it('two processes with leases never allow more than the limit, and the first refusal is seen once', async () => {
    const points = 50;
    const a = limiter(redis, points);
    const b = limiter(other, points);
    // Warm both so they lease, then a burst of concurrent requests from both.
    const decisions: LimitDecision[] = [];
    for (let i = 0; i < 4; i++) decisions.push(await (i % 2 ? a : b).consume('k'));
    decisions.push(...(await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).consume('k')))));
    const allowed = decisions.filter((d) => d.kind === 'allowed').length;
    const firsts = decisions.filter((d) => d.kind === 'rejected' && d.rejectedInWindow === 1).length;
    expect(allowed)
      .to.be.at.most(points)
      .and.at.least(points - 2 * 31);
    expect(firsts, 'exactly one refusal numbered 1').to.equal(1);
  });

  it('near the limit it counts one request per round trip: exactly the limit is allowed', async () => {
    const api = limiter(redis, 40);
    const decisions: LimitDecision[] = [];
    for (let i = 0; i < 45; i++) decisions.push(await api.consume('k'));
    expect(decisions.filter((d) => d.kind === 'allowed').length).to.equal(40);
    expect(decisions.slice(40).map((d) => (d.kind === 'rejected' ? d.rejectedInWindow : 0))).to.deep.equal([
      1, 2, 3, 4, 5,
    ]);
  });

  it('without leases (login) every request is one increment', async () => {
    const login = limiter(redis, 10_000, 1);
    for (let i = 0; i < 5; i++) await login.consume('k');
    expect(await stored()).to.equal(5);
    expect(login.consumeLeased('k'), 'nothing is ever counted locally').to.equal(undefined);
  });

  it('consumeLeased counts synchronously within a lease only, and the lease is shared with consume', async () => {
    const api = limiter(redis, 10_000);
    expect(api.consumeLeased('k'), 'no lease yet: the store must be asked').to.equal(undefined);
    await api.consume('k');
    await api.consume('k');
    expect(await stored(), 'a lease of 32 taken').to.equal(33);
    let local = 0;
    while (api.consumeLeased('k') !== undefined) local += 1;
    expect(local, 'the lease left after its own request').to.equal(31);
    expect(api.consumeLeased('other'), 'leases are per key').to.equal(undefined);
    await api.consume('k');
    expect(await stored(), 'the used-up lease sends the next request to Redis').to.equal(65);
  });
});
