import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { EventStore } from '#application/shared/eventStore.js';
import { type Database } from '#infrastructure/sql/database.js';
import { outboundQueueProjection } from '#projections/messaging/outboundQueue.js';
import { applyBatch, resetProjection, scanAfter } from '#projections/shared/checkpoints.js';
import { rebuildProjections } from '#projections/shared/rebuild.js';
import { newEvent } from '../../support/events.js';
import { openPgliteScenario, openSchemaScenario, type ScenarioStore } from '../../support/projections.js';

/** The live runner's way: every matching event applied to the live tables. */
const applyLive = async (db: Database, store: EventStore) => {
  await resetProjection(db.knex, outboundQueueProjection);
  let position = 0;
  for (;;) {
    const { events, scannedTo } = await scanAfter(store, position, outboundQueueProjection.handles, 500);
    if (events.length === 0 && scannedTo <= position) return;
    position = await applyBatch(db.knex, outboundQueueProjection, position, events, scannedTo);
  }
};

const scenarios = (label: string, open: () => Promise<ScenarioStore>) => {
  describe(`rebuilding the outbound queue leaves the worker's live claims alone (${label})`, function () {
    this.timeout(60_000);
    let env: ScenarioStore;
    before(async () => {
      env = await open();
    });
    after(async () => {
      await env.close();
    });

    it('a replayed send, requeue or forget does not release a claim a worker holds now; the live runner still does', async () => {
      const { db, store } = env;
      const numberId = 'claims-n';
      const chatId = `${numberId}:+34911`;
      const queued = (messageId: string) =>
        newEvent('MessageQueued', {
          messageId,
          numberId,
          chatId,
          to: '+34911',
          text: 'hi',
          template: null,
          source: 'bot',
          idempotencyKey: null,
          inReplyTo: null,
          by: 'system',
        });
      // a message sent long ago, one dead-lettered then requeued, one waiting: each with a claim row of
      // a live worker now (the rebuild replays the old send and requeue)
      const sent = randomUUID();
      const requeued = randomUUID();
      const waiting = randomUUID();
      await store.append(`message-${sent}`, [
        queued(sent),
        newEvent('MessageSent', { messageId: sent, numberId, chatId, providerMessageId: 'p1', attempt: 1 }),
      ]);
      await store.append(`message-${requeued}`, [
        queued(requeued),
        newEvent('MessageDeadLettered', { messageId: requeued, numberId, chatId, reason: 'max_attempts' }),
        newEvent('MessageRequeued', { messageId: requeued, numberId, chatId, by: 'admin' }),
      ]);
      await store.append(`message-${waiting}`, [queued(waiting)]);
      await applyLive(db, store);
      const claim = (messageId: string) => ({
        message_id: messageId,
        worker_id: 'worker-live',
        lease_until: new Date(Date.now() + 60_000).toISOString(),
      });
      await db.knex('outbound_claims').insert([claim(sent), claim(requeued), claim(waiting)]);

      await rebuildProjections({ db, store, projections: [outboundQueueProjection], batchSize: 2 });

      const claims = async () =>
        (await db.knex('outbound_claims').select('message_id').orderBy('message_id')).map(
          (row: { message_id: string }) => row.message_id,
        );
      expect(await claims()).to.deep.equal([sent, requeued, waiting].sort());
      expect(
        (await db.knex('outbound_queue').select('message_id').orderBy('message_id')).map(
          (row: { message_id: string }) => row.message_id,
        ),
      ).to.deep.equal([requeued, waiting].sort());

      // the live path (the runner, and the catch-up after the swap) still releases the claim of a
      // message that leaves the queue
      await store.append(`message-${waiting}`, [
        newEvent('MessageSent', { messageId: waiting, numberId, chatId, providerMessageId: 'p2', attempt: 1 }),
      ]);
      const checkpoint = (await db
        .knex('projection_checkpoints')
        .where({ name: outboundQueueProjection.name })
        .first()) as { position: string | number };
      const from = Number(checkpoint.position);
      const { events, scannedTo } = await scanAfter(store, from, outboundQueueProjection.handles, 500);
      await applyBatch(db.knex, outboundQueueProjection, from, events, scannedTo);
      expect(await claims()).to.deep.equal([sent, requeued].sort());
    });
  });
};

scenarios('PostgreSQL', () => openSchemaScenario('rebuild_claims'));
scenarios('embedded PGlite', openPgliteScenario);
