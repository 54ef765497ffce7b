import { performance } from 'node:perf_hooks';
import { expect } from 'chai';
import {
  createPasswordHasher,
  hashPassword,
  needsRehash,
  PASSWORD_HASH_PARAMS,
  verifyAgainstDummy,
  verifyPassword,
} from '#infrastructure/identity/passwords.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** the PHC parameter segment as an object (the order of m, t, p varies between argon2 versions) */
const costOf = (phc: string) =>
  Object.fromEntries((phc.split('$')[3] ?? '').split(',').map((kv) => kv.split('=') as [string, string]));
const timed = async (fn: () => Promise<unknown>) => {
  const start = performance.now();
  await fn();
  return performance.now() - start;
};

describe('password hashing (argon2id)', () => {
  let stored: string;
  before(async () => {
    stored = await hashPassword('correct horse battery staple');
  });

  it('hashes with argon2id at the OWASP minimum cost by default', () => {
    expect(PASSWORD_HASH_PARAMS).to.deep.equal({ memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    expect(stored).to.match(/^\$argon2id\$v=19\$[^$]+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(costOf(stored)).to.deep.equal({ m: '19456', t: '2', p: '1' });
  });

  it('the same password hashes differently each time (random salt)', async () => {
    expect(await hashPassword('correct horse battery staple')).not.to.equal(stored);
  });

  it('the right password verifies, a wrong one does not', async () => {
    expect(await verifyPassword(stored, 'correct horse battery staple')).to.equal(true);
    expect(await verifyPassword(stored, 'correct horse battery stapl')).to.equal(false);
    expect(await verifyPassword(stored, '')).to.equal(false);
  });

  it('a malformed stored hash is a failed verify, not an exception', async () => {
    for (const bad of [
      '',
      'not-a-hash',
      '$argon2id$garbage',
      '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW',
      stored.slice(0, -5),
    ]) {
      expect(await verifyPassword(bad, 'correct horse battery staple'), bad).to.equal(false);
    }
    expect(await verifyPassword(undefined as unknown as string, 'x')).to.equal(false);
  });

  it('verifying against the dummy is always false', async () => {
    expect(await verifyAgainstDummy('correct horse battery staple')).to.equal(false);
    expect(await verifyAgainstDummy('')).to.equal(false);
  });

  it('an unknown username costs about as much time as a known one', async () => {
    await verifyAgainstDummy('warm-up'); // the dummy hash is made on first use only
    const real: number[] = [];
    const dummy: number[] = [];
    for (let i = 0; i < 5; i++) {
      real.push(await timed(() => verifyPassword(stored, `guess-${i}`)));
      dummy.push(await timed(() => verifyAgainstDummy(`guess-${i}`)));
    }
    // Generous bounds: other test suites share the machine; a skipped verify would be ~100x faster.
    const ratio = median(dummy) / median(real);
    expect(ratio, `dummy ${median(dummy).toFixed(1)} ms vs real ${median(real).toFixed(1)} ms`).to.be.within(0.33, 3);
  });

  it('the cost is configurable, and hashes made with another cost are flagged for rehash', async () => {
    const cheap = createPasswordHasher({ memoryCost: 8_192, timeCost: 1, parallelism: 1 });
    const hash = await cheap.hashPassword('pw');
    expect(hash).to.match(/^\$argon2id\$/);
    expect(costOf(hash)).to.deep.equal({ m: '8192', t: '1', p: '1' });
    expect(await cheap.verifyPassword(hash, 'pw')).to.equal(true);
    expect(await verifyPassword(hash, 'pw'), 'verify reads the cost from the hash').to.equal(true);
    expect(needsRehash(hash)).to.equal(true);
    expect(needsRehash(stored)).to.equal(false);
    expect(needsRehash('not-a-hash')).to.equal(true);
  });
});
