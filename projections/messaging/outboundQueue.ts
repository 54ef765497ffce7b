import type { Knex } from 'knex';
import type { Projection } from '#projections/shared/projection.js';
import { OUTBOUND_EVENT_TYPES } from '#domain/messaging/events.js';
import { ERASED } from '#domain/privacy/events.js';
import { withPrivacy } from './privacyEvent.js';
import { asMessagingEvent, isoOrNull, messageKey } from './messagingEvent.js';
import { RowBatch } from '../shared/batchRows.js';

const TABLE = 'outbound_queue';
const COLUMNS = [
  'message_id',
  'number_id',
  'chat_id',
  'recipient',
  'text',
  'template',
  'status',
  'attempts',
  'next_attempt_at',
  'queued_at',
  'last_error_code',
  'last_error',
  'dead_reason',
  'correlation_id',
  'queued_event_id',
  'dead_at',
  'position',
];

/**
 * Deletes the claims of messages that left the queue, locking them in key order first. The worker's
 * claim (one insert of many rows, `order by id`) and its holds lock claims in that order too; a delete
 * that locked them in the order it found them (a sequential scan follows the heap) could hold one claim
 * the worker's claim statement wants while waiting for another that statement already holds, which
 * PostgreSQL breaks as a deadlock (40P01), rolling the projection's batch back.
 */
export const deleteClaims = async (trx: Knex.Transaction | Knex, messageIds: readonly string[]): Promise<void> => {
  if (messageIds.length === 0) return;
  await trx.raw(
    `delete from outbound_claims c
     using (select message_id from outbound_claims where message_id = any(?::text[])
            order by message_id for update) l
     where c.message_id = l.message_id`,
    [[...messageIds]],
  );
};

/**
 * The outbound queue as a read model: queued and retrying messages with their next attempt time, and
 * dead letters until an admin requeues or drops them. Sent and dropped messages leave it (and so do
 * their claims). The worker claims rows of this table; the message's own stream stays the authority.
 */
const outboundQueueFold: Projection = {
  name: 'messaging.outbound-queue',
  version: 1,
  tables: [TABLE],
  // every outbound event but the provider's delivery statuses (a message leaves the queue once sent)
  handles: OUTBOUND_EVENT_TYPES.filter((type) => type !== 'MessageStatusUpdated'),
  async apply(trx, recorded) {
    const event = asMessagingEvent(recorded);
    if (event === null) return;
    const at = event.metadata.occurredAt;
    const byId = (messageId: string) => trx(TABLE).where({ message_id: messageId });
    const leave = async (messageId: string) => {
      await byId(messageId).delete();
      await deleteClaims(trx, [messageId]);
    };
    switch (event.type) {
      case 'MessageQueued': {
        const d = event.data;
        await trx(TABLE)
          .insert({
            ...messageKey(d),
            recipient: d.to,
            text: d.text,
            template: d.template === null ? null : JSON.stringify(d.template),
            status: 'queued',
            attempts: 0,
            next_attempt_at: at,
            queued_at: at,
            correlation_id: event.metadata.correlationId,
            queued_event_id: event.id,
            position: event.position,
          })
          .onConflict('message_id')
          .ignore();
        return;
      }
      case 'MessageSendAttempted':
        return void (await byId(event.data.messageId).update({ attempts: trx.raw('attempts + 1') }));
      case 'MessageSent':
      case 'MessageDropped':
        return leave(event.data.messageId);
      case 'MessageSendFailed':
        return void (await byId(event.data.messageId).update({
          last_error_code: event.data.code,
          last_error: event.data.error,
          ...(event.data.nextAttemptAt === null ? {} : { next_attempt_at: event.data.nextAttemptAt }),
        }));
      case 'MessageDeadLettered':
        return void (await byId(event.data.messageId).update({
          status: 'dead',
          dead_reason: event.data.reason,
          dead_at: at,
        }));
      case 'MessageRequeued':
        await deleteClaims(trx, [event.data.messageId]);
        return void (await byId(event.data.messageId).update({
          status: 'queued',
          attempts: 0,
          next_attempt_at: at,
          dead_reason: null,
          dead_at: null,
        }));
      default:
        return;
    }
  },
  // The same rules as `apply`, folded in memory: one select of the touched messages, one upsert, one
  // delete, and one delete of the claims of the messages that left the queue.
  async applyBatch(trx, recorded) {
    const events = recorded.flatMap((event) => asMessagingEvent(event) ?? []);
    const rows = new RowBatch(TABLE, 'message_id', COLUMNS, ['template']);
    await rows.load(
      trx,
      events.flatMap((event) => ('messageId' in event.data ? [event.data.messageId] : [])),
    );
    const unclaimed = new Set<string>();
    for (const event of events) {
      const at = event.metadata.occurredAt;
      switch (event.type) {
        case 'MessageQueued': {
          const d = event.data;
          if (rows.get(d.messageId) === undefined)
            rows.set(d.messageId, {
              message_id: d.messageId,
              number_id: d.numberId,
              chat_id: d.chatId,
              recipient: d.to,
              text: d.text,
              template: d.template ?? null,
              status: 'queued',
              attempts: 0,
              next_attempt_at: at,
              queued_at: at,
              last_error_code: null,
              last_error: null,
              dead_reason: null,
              correlation_id: event.metadata.correlationId,
              queued_event_id: event.id,
              dead_at: null,
              position: event.position,
            });
          break;
        }
        case 'MessageSendAttempted': {
          const row = rows.get(event.data.messageId);
          if (row !== undefined) rows.update(event.data.messageId, { attempts: Number(row.attempts) + 1 });
          break;
        }
        case 'MessageSent':
        case 'MessageDropped':
          rows.delete(event.data.messageId);
          unclaimed.add(event.data.messageId);
          break;
        case 'MessageSendFailed':
          rows.update(event.data.messageId, {
            last_error_code: event.data.code,
            last_error: event.data.error,
            ...(event.data.nextAttemptAt === null ? {} : { next_attempt_at: event.data.nextAttemptAt }),
          });
          break;
        case 'MessageDeadLettered':
          rows.update(event.data.messageId, { status: 'dead', dead_reason: event.data.reason, dead_at: at });
          break;
        case 'MessageRequeued':
          unclaimed.add(event.data.messageId);
          rows.update(event.data.messageId, {
            status: 'queued',
            attempts: 0,
            next_attempt_at: at,
            dead_reason: null,
            dead_at: null,
          });
          break;
        default:
          break;
      }
    }
    await rows.flush(trx);
    await deleteClaims(trx, [...unclaimed]);
  },
};

/**
 * The outbound queue, with the privacy events: a forgotten contact's pending messages leave (they are never
 * sent: their recipient is gone); expired content is erased.
 */
export const outboundQueueProjection: Projection = withPrivacy(outboundQueueFold, 2, {
  forget: async (trx, chatId) => {
    const pending = await trx(TABLE).where({ chat_id: chatId }).pluck<string[]>('message_id');
    await deleteClaims(trx, pending);
    await trx(TABLE).where({ chat_id: chatId }).delete();
  },
  expire: async (trx, before) =>
    void (await trx(TABLE)
      .where('queued_at', '<', before)
      .andWhere((w) => w.whereNotNull('text').orWhereNotNull('template'))
      .update({
        text: trx.raw('case when text is null then null else ? end', [ERASED]),
        template: trx.raw('case when template is null then null else ?::jsonb end', [
          JSON.stringify({ name: ERASED, language: ERASED }),
        ]),
      })),
});

export type DeadLetterRow = {
  messageId: string;
  numberId: string;
  chatId: string;
  to: string;
  attempts: number;
  reason: string | null;
  lastErrorCode: string | null;
  lastError: string | null;
  queuedAt: string;
  deadAt: string | null;
};

export const listDeadLetters = async (knex: Knex, limit = 100): Promise<DeadLetterRow[]> => {
  const rows = await knex(TABLE)
    .where({ status: 'dead' })
    .orderBy('dead_at', 'desc')
    .limit(limit)
    .select<Record<string, unknown>[]>('*');
  return rows.map((row) => ({
    messageId: row.message_id as string,
    numberId: row.number_id as string,
    chatId: row.chat_id as string,
    to: row.recipient as string,
    attempts: Number(row.attempts),
    reason: (row.dead_reason as string | null) ?? null,
    lastErrorCode: (row.last_error_code as string | null) ?? null,
    lastError: (row.last_error as string | null) ?? null,
    queuedAt: isoOrNull(row.queued_at)!,
    deadAt: isoOrNull(row.dead_at),
  }));
};

export type QueueFigures = {
  numberId: string;
  queued: number;
  oldestQueuedAt: string | null;
  deadLetters: number;
};

export const queueFigures = async (knex: Knex): Promise<Map<string, QueueFigures>> => {
  const rows = await knex(TABLE)
    .groupBy('number_id')
    .select<Record<string, unknown>[]>(
      'number_id',
      knex.raw(`count(*) filter (where status = 'queued') as queued`),
      knex.raw(`min(queued_at) filter (where status = 'queued') as oldest`),
      knex.raw(`count(*) filter (where status = 'dead') as dead`),
    );
  return new Map(
    rows.map((row) => [
      row.number_id as string,
      {
        numberId: row.number_id as string,
        queued: Number(row.queued),
        oldestQueuedAt: isoOrNull(row.oldest),
        deadLetters: Number(row.dead),
      },
    ]),
  );
};
