import { expect } from 'chai';
import { sqlOutboundQueue } from '#infrastructure/messaging/sqlQueue.js';
import { deleteClaims } from '#projections/messaging/outboundQueue.js';
import { openSchemaScenario, type ScenarioStore } from '../../support/projections.js';

/**
 * Regression: the worker's claim statement and the outbound-queue projection's delete of claims
 * deadlocked under load (40P01, logged and retried). The claim takes its rows in key order within one
 * statement; the projection's delete took them in the order it found them on disk. Reproduced here
 * step by step: the worker's claim has locked the lower key and goes on to the higher one, while the
 * projection's delete of both runs; the delete must wait for the lower key before taking the higher one.
 */
describe('outbound claims: the worker and the queue projection never deadlock', function () {
  this.timeout(60_000);
  let s: ScenarioStore;
  before(async () => {
    s = await openSchemaScenario('pipe_claims');
  });
  after(async () => {
    await s.close();
  });

  it('a claim statement half-way through its rows and the projection deleting the same claims both finish', async () => {
    const knex = s.db.knex;
    const now = new Date();
    const until = new Date(now.getTime() + 30_000);
    // On disk the higher key first: a delete that follows the heap meets it first.
    await knex('outbound_claims').insert({ message_id: 'msg-b', worker_id: 'w1', lease_until: now });
    await knex('outbound_claims').insert({ message_id: 'msg-a', worker_id: 'w1', lease_until: now });

    const worker = await knex.transaction();
    try {
      // The claim statement's first row (key order): msg-a is now locked by the worker.
      expect(await sqlOutboundQueue(worker).claim(['msg-a'], 'w1', now, until)).to.deep.equal(['msg-a']);
      // The projection's batch deletes both claims (the messages were sent) in its own transaction.
      let projectionError: unknown = null;
      const projection = knex
        .transaction((trx) => deleteClaims(trx, ['msg-b', 'msg-a']))
        .catch((error: unknown) => {
          projectionError = error;
        });
      // Until it waits on a lock held by the worker's transaction.
      const workerPid = (await worker.raw<{ rows: Array<{ pid: number }> }>('select pg_backend_pid() as pid')).rows[0]!
        .pid;
      for (let i = 0; ; i++) {
        const { rows } = await knex.raw<{ rows: unknown[] }>(
          `select 1 from pg_stat_activity where ? = any(pg_blocking_pids(pid))`,
          [workerPid],
        );
        if (rows.length > 0) break;
        if (i > 200) throw new Error('the projection never waited for the worker');
        await new Promise((r) => setTimeout(r, 25));
      }
      // The claim statement's next row: msg-b. Before the fix the delete already held it: deadlock.
      expect(await sqlOutboundQueue(worker).claim(['msg-b'], 'w1', now, until)).to.deep.equal(['msg-b']);
      await worker.commit();
      await projection;
      expect(projectionError).to.equal(null);
    } finally {
      if (!worker.isCompleted()) await worker.rollback();
    }
    expect(await knex('outbound_claims').pluck('message_id')).to.deep.equal([]);
  });
});
