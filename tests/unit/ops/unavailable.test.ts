import { expect } from 'chai';
import { isDependencyUnavailable } from '#interfaces/http/shared/unavailable.js';

describe('which errors mean a dependency is down (503) rather than a bug (500)', () => {
  it('recognises refused or reset connections, PostgreSQL shutdown codes and pool timeouts, also when wrapped', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    expect(isDependencyUnavailable(refused)).to.equal(true);
    expect(isDependencyUnavailable(Object.assign(new Error('terminating connection'), { code: '57P01' }))).to.equal(
      true,
    );
    expect(isDependencyUnavailable(new Error('Connection terminated unexpectedly'))).to.equal(true);
    expect(
      isDependencyUnavailable(new Error('Knex: Timeout acquiring a connection. The pool is probably full.')),
    ).to.equal(true);
    expect(isDependencyUnavailable(new Error('append failed', { cause: refused }))).to.equal(true);
    expect(isDependencyUnavailable(new AggregateError([refused], ''))).to.equal(true);
  });

  it('leaves bugs and data errors alone', () => {
    expect(isDependencyUnavailable(new TypeError('x is undefined'))).to.equal(false);
    expect(isDependencyUnavailable(Object.assign(new Error('duplicate key'), { code: '23505' }))).to.equal(false);
    expect(isDependencyUnavailable('ECONNREFUSED')).to.equal(false);
    expect(isDependencyUnavailable(null)).to.equal(false);
  });
});
