import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { EventMetadata, NewEvent } from '#application/shared/eventStore.js';
import { rebuildProjection, startProjections } from '#projections/runner.js';
import {
  listScheduledMessages,
  scheduleQueries,
  scheduledMessagesProjection,
} from '#projections/scheduling/scheduledMessages.js';
import { uniqueName, waitFor } from '../../support/events.js';
import { dropSchema, openTestSchema, type TestSchema } from '../../support/projections.js';

const meta = (occurredAt: string): EventMetadata => ({
  correlationId: 'corr-1',
  causationId: null,
  actor: 'admin-1',
  ip: null,
  userAgent: null,
  occurredAt,
  schemaVersion: 1,
});
const event = (type: string, data: Record<string, unknown>, at = '2026-06-01T10:00:00.000Z'): NewEvent => ({
  id: randomUUID(),
  type,
  data,
  metadata: meta(at),
});
const scheduled = (id: string, at: string) =>
  event('MessageScheduled', {
    scheduleId: id,
    numberId: 'simulator',
    chatId: `chat-${id}`,
    to: '34600000001',
    text: `texto ${id}`,
    template: null,
    at,
    by: 'admin-1',
  });
const queued = (messageId: string, source: string) =>
  event(
    'MessageQueued',
    {
      messageId,
      numberId: 'simulator',
      chatId: 'c',
      to: '34600000001',
      text: 'x',
      template: null,
      source,
      idempotencyKey: null,
      inReplyTo: null,
      by: 'scheduler',
    },
    '2026-06-01T12:00:00.400Z',
  );

describe('scheduled-messages read model (PostgreSQL): states, what is due, rebuilt identically', function () {
  this.timeout(60_000);
  let schema: TestSchema;
  before(async () => {
    schema = await openTestSchema(uniqueName('sched_proj'), { create: true });
  });
  after(async () => {
    await schema.close();
    await dropSchema(schema.schema);
  });

  it('folds each schedule into one row, says what is due (and what a dead scheduler left half-fired), and rebuilds the same', async () => {
    const { store, db } = schema;
    const fired = (id: string, messageId: string, firedAt: string) =>
      event('ScheduledMessageFired', { scheduleId: id, numberId: 'simulator', messageId, firedAt, lateMs: 150 });
    // a: fired and queued; b: cancelled; c: fired, then failed; d: fired, never queued; e and f: pending
    await store.append('schedule-a', [
      scheduled('a', '2026-06-01T12:00:00.000Z'),
      fired('a', 'msg-a', '2026-06-01T12:00:00.150Z'),
    ]);
    await store.append('message-msg-a', [queued('msg-a', 'scheduled')]);
    await store.append('message-other', [queued('msg-other', 'manual')]);
    await store.append('schedule-b', [
      scheduled('b', '2026-06-01T12:00:00.000Z'),
      event('ScheduledMessageCancelled', { scheduleId: 'b', numberId: 'simulator', by: 'op-1' }),
    ]);
    await store.append('schedule-c', [
      scheduled('c', '2026-06-01T12:00:00.000Z'),
      fired('c', 'msg-c', '2026-06-01T12:00:00.150Z'),
      event('ScheduledMessageFailed', {
        scheduleId: 'c',
        numberId: 'simulator',
        messageId: 'msg-c',
        code: 'number_disabled',
        error: 'The number simulator is disabled.',
      }),
    ]);
    await store.append('schedule-d', [
      scheduled('d', '2026-06-01T11:00:00.000Z'),
      fired('d', 'msg-d', '2026-06-01T11:00:00.150Z'),
    ]);
    await store.append('schedule-e', [scheduled('e', '2026-06-01T13:00:00.000Z')]);
    await store.append('schedule-f', [scheduled('f', '2026-06-02T09:00:00.000Z')]);

    const runner = startProjections({
      db,
      store,
      projections: [scheduledMessagesProjection],
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    try {
      await waitFor(
        async () => (await listScheduledMessages(db.knex, { limit: 10 })).scheduledMessages.length === 6,
        10_000,
        'six rows',
      );
    } finally {
      await runner.stop();
    }
    const answers = async () => {
      const { scheduledMessages } = await listScheduledMessages(db.knex, { limit: 10 });
      const queries = scheduleQueries(db.knex);
      return {
        rows: scheduledMessages.map((r) => [r.scheduleId, r.state, r.messageId, r.queuedAt, r.errorCode, r.lateMs]),
        pending: (await listScheduledMessages(db.knex, { state: 'pending', limit: 10 })).scheduledMessages.map(
          (r) => r.scheduleId,
        ),
        // at 13:00:00: e is due; d was fired an hour ago and never queued; a (queued), b, c and f are not
        due: await queries.due(new Date('2026-06-01T13:00:00.000Z'), new Date('2026-06-01T12:59:55.000Z'), 10),
        dueBefore: await queries.due(new Date('2026-06-01T12:59:59.999Z'), new Date('2026-06-01T11:00:00.000Z'), 10),
        page: (await listScheduledMessages(db.knex, { limit: 2 })).nextCursor !== null,
      };
    };
    const idOf = {
      d: (await store.readStream('schedule-d'))[0]!.id,
      e: (await store.readStream('schedule-e'))[0]!.id,
    };
    const first = await answers();
    expect(first).to.deep.equal({
      rows: [
        ['f', 'pending', null, null, null, null],
        ['e', 'pending', null, null, null, null],
        ['d', 'fired', 'msg-d', null, null, 150],
        ['c', 'failed', 'msg-c', null, 'number_disabled', 150],
        ['b', 'cancelled', null, null, null, null],
        ['a', 'fired', 'msg-a', '2026-06-01T12:00:00.400Z', null, 150],
      ],
      pending: ['f', 'e'],
      due: [
        {
          scheduleId: 'd',
          at: new Date('2026-06-01T11:00:00.000Z'),
          correlationId: 'corr-1',
          scheduledEventId: idOf.d,
        },
        {
          scheduleId: 'e',
          at: new Date('2026-06-01T13:00:00.000Z'),
          correlationId: 'corr-1',
          scheduledEventId: idOf.e,
        },
      ],
      dueBefore: [],
      page: true,
    });
    await rebuildProjection({ db, store, projection: scheduledMessagesProjection });
    expect(await answers()).to.deep.equal(first);
  });

  it('applying an event twice changes nothing', async () => {
    const { db } = schema;
    const recorded = (await schema.store.readStream('schedule-b'))[1]!;
    const before = await listScheduledMessages(db.knex, { limit: 10 });
    await db.knex.transaction(async (trx) => {
      await scheduledMessagesProjection.apply(trx, recorded);
      await scheduledMessagesProjection.apply(trx, recorded);
    });
    const first = (await schema.store.readStream('schedule-a'))[0]!;
    await db.knex.transaction((trx) => scheduledMessagesProjection.apply(trx, first));
    expect(await listScheduledMessages(db.knex, { limit: 10 })).to.deep.equal(before);
  });
});
