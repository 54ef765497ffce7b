import { expect } from 'chai';
import { createLimiter } from '#infrastructure/ratelimit/limiter.js';
import { rateLimitStreamId } from '#domain/identity/events.js';
import { endpointOf, shouldLogRejection } from '#interfaces/http/shared/rateLimit.js';

describe('rate limiting (embedded, in-memory)', () => {
  it('allows the limit, refuses the next one with a Retry-After within the window, and counts refusals', async () => {
    const limiter = createLimiter({ redis: null, keyPrefix: 'unit', name: 'login', points: 3, windowSeconds: 60 });
    for (let i = 0; i < 3; i++) expect((await limiter.consume('10.0.0.1')).kind).to.equal('allowed');
    const first = await limiter.consume('10.0.0.1');
    const second = await limiter.consume('10.0.0.1');
    expect(first).to.include({ kind: 'rejected', rejectedInWindow: 1 });
    expect(second).to.include({ kind: 'rejected', rejectedInWindow: 2 });
    if (first.kind !== 'rejected') throw new Error('unreachable');
    expect(first.retryAfterSeconds).to.be.within(1, 60);
  });

  it('counts each key on its own: another IP is not refused', async () => {
    const limiter = createLimiter({ redis: null, keyPrefix: 'unit', name: 'login', points: 1, windowSeconds: 60 });
    await limiter.consume('10.0.0.1');
    expect((await limiter.consume('10.0.0.1')).kind).to.equal('rejected');
    expect((await limiter.consume('10.0.0.2')).kind).to.equal('allowed');
  });
});

describe('rate limit endpoints and sampling', () => {
  it('folds id-like path segments so one endpoint shares one budget', () => {
    expect(endpointOf('get', '/api/users/42')).to.equal('GET /api/users/:id');
    expect(endpointOf('GET', '/api/users/3f2b8c1e-9a4d-4c7e-8f00-123456789abc/sessions/')).to.equal(
      'GET /api/users/:id/sessions',
    );
    expect(endpointOf('GET', '/api/Conversations')).to.equal('GET /api/conversations');
    expect(endpointOf('POST', '/api/chats/anything', '/api/chats/:jid')).to.equal('POST /api/chats/:jid');
  });

  it('keeps the endpoint key bounded whatever the path length', () => {
    expect(endpointOf('GET', `/api/${'a/'.repeat(500)}`).length).to.be.at.most(204);
  });

  it('logs refusals 1, 2, 4, 8... of a window, not every one', () => {
    const logged = Array.from({ length: 20 }, (_v, i) => i + 1).filter(shouldLogRejection);
    expect(logged).to.deep.equal([1, 2, 4, 8, 16]);
  });

  it('names RateLimited streams after the IP with : and . replaced', () => {
    expect(rateLimitStreamId('203.0.113.7')).to.equal('ratelimit-203-0-113-7');
    expect(rateLimitStreamId('::ffff:127.0.0.1')).to.equal('ratelimit---ffff-127-0-0-1');
  });
});
