import { expect } from 'chai';
import type { SessionReadModel, SessionRow } from '#application/identity/allowlist.js';
import { coalescedSessionReads } from '#application/identity/coalescedSessions.js';

/** A read model whose queries the test settles by hand, recording when each one started. */
const controlledReadModel = () => {
  const queries: Array<{ sessionId: string; resolve: (row: SessionRow | null) => void; reject: (e: Error) => void }> =
    [];
  const row = (sessionId: string, n: number): SessionRow => ({
    sessionId,
    accountId: `account-${n}`,
    status: 'active',
    expiresAt: new Date('2030-01-01T00:00:00Z'),
    account: { username: 'u', role: 'viewer', disabled: false },
  });
  const readModel: SessionReadModel = {
    find: (sessionId) =>
      new Promise((resolve, reject) => {
        queries.push({ sessionId, resolve, reject });
      }),
    endedAmong: () => Promise.resolve(new Set<string>()),
    activeOf: () => Promise.resolve([]),
  };
  return { readModel, queries, row };
};

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('coalesced session reads', () => {
  it('a lookup with no query running starts one of its own', async () => {
    const { readModel, queries, row } = controlledReadModel();
    const reads = coalescedSessionReads(readModel);
    const first = reads.find('s1');
    expect(queries).to.have.length(1);
    queries[0]!.resolve(row('s1', 0));
    expect((await first)?.accountId).to.equal('account-0');
    const second = reads.find('s1');
    expect(queries).to.have.length(2);
    queries[1]!.resolve(row('s1', 1));
    expect((await second)?.accountId).to.equal('account-1');
  });

  it('lookups arriving while a query runs share the next query, started only after the running one settles', async () => {
    const { readModel, queries, row } = controlledReadModel();
    const reads = coalescedSessionReads(readModel);
    const first = reads.find('s1');
    const waiting = [reads.find('s1'), reads.find('s1'), reads.find('s1')];
    await tick();
    // never answered by the read that started before they asked
    expect(queries).to.have.length(1);
    queries[0]!.resolve(row('s1', 0));
    expect((await first)?.accountId).to.equal('account-0');
    await tick();
    expect(queries).to.have.length(2);
    queries[1]!.resolve(row('s1', 1));
    for (const answer of await Promise.all(waiting)) expect(answer?.accountId).to.equal('account-1');
    expect(queries).to.have.length(2);
  });

  it('other sessions are not held back, and a failed query fails only its own callers', async () => {
    const { readModel, queries, row } = controlledReadModel();
    const reads = coalescedSessionReads(readModel);
    const a = reads.find('a');
    const b = reads.find('b');
    expect(queries.map((q) => q.sessionId)).to.deep.equal(['a', 'b']);
    const aAgain = reads.find('a');
    queries[0]!.reject(new Error('database down'));
    let failure: unknown;
    await a.catch((error: unknown) => (failure = error));
    expect((failure as Error).message).to.equal('database down');
    await tick();
    // the waiting lookup gets a fresh query, not the failure of the one before it
    expect(queries.map((q) => q.sessionId)).to.deep.equal(['a', 'b', 'a']);
    queries[2]!.resolve(row('a', 2));
    queries[1]!.resolve(null);
    expect((await aAgain)?.accountId).to.equal('account-2');
    expect(await b).to.equal(null);
  });
});
