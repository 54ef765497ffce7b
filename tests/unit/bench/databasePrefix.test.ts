import { expect } from 'chai';
import { databasePrefix } from '../../../bench/bench-support.js';

/** Issue 7.12: two benchmark runs on one server must be able to use databases of their own. */
describe('benchmark database names', () => {
  it('come from --db-prefix, else BENCH_DB_PREFIX, else the benchmark default', () => {
    expect(databasePrefix('bench_run2', 'bench', { BENCH_DB_PREFIX: 'bench_env' })).to.equal('bench_run2');
    expect(databasePrefix(undefined, 'bench', { BENCH_DB_PREFIX: 'bench_env' })).to.equal('bench_env');
    expect(databasePrefix(undefined, 'bench', {})).to.equal('bench');
  });

  it('stay inside bench_*, the only names the benchmarks ever drop', () => {
    for (const bad of ['postgres', 'test', 'bench-run', 'bench_', 'bench_UPPER', 'benchx', `bench_${'a'.repeat(41)}`])
      expect(() => databasePrefix(bad, 'bench', {}), bad).to.throw(/database prefix must be bench/);
  });
});
