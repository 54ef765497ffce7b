import type { Knex } from 'knex';
import type { Projection } from '#projections/shared/projection.js';
import { OUTBOUND_EVENT_TYPES } from '#domain/messaging/events.js';
import { ERASED } from '#domain/privacy/events.js';
import { withPrivacy } from './privacyEvent.js';
import { asMessagingEvent, isoOrNull, messageKey } from './messagingEvent.js';
import { RowBatch } from '../shared/batchRows.js';

const TABLE = 'chat_messages';
const COLUMNS = [
  'message_id',
  'chat_id',
  'number_id',
  'direction',
  'kind',
  'text',
  'template_name',
  'source',
  'status',
  'provider_message_id',
  'error_code',
  'at',
  'sent_at',
  'delivered_at',
  'read_at',
  'position',
];

// A later status never moves a message back (a 'delivered' that arrives after 'read' changes nothing).
const RANK: Record<string, number> = {
  received: 0,
  queued: 1,
  sending: 2,
  retrying: 2,
  sent: 3,
  delivered: 4,
  read: 5,
};

/** One row per message of a chat, inbound and outbound, with its delivery status as it arrives. */
const chatMessagesFold: Projection = {
  name: 'messaging.chat-messages',
  version: 1,
  tables: [TABLE],
  handles: ['MessageReceived', ...OUTBOUND_EVENT_TYPES],
  async apply(trx, recorded) {
    const event = asMessagingEvent(recorded);
    if (event === null) return;
    const at = event.metadata.occurredAt;
    const byId = (messageId: string) => trx(TABLE).where({ message_id: messageId });
    const insertOnce = (row: Record<string, unknown>) =>
      trx(TABLE)
        .insert({ ...row, position: event.position })
        .onConflict('message_id')
        .ignore();
    switch (event.type) {
      case 'MessageReceived': {
        const d = event.data;
        await insertOnce({
          ...messageKey(d),
          direction: 'in',
          kind: d.kind,
          text: d.text,
          status: 'received',
          provider_message_id: d.providerMessageId,
          at: d.sentAt,
        });
        return;
      }
      case 'MessageQueued': {
        const d = event.data;
        await insertOnce({
          ...messageKey(d),
          direction: 'out',
          kind: d.template ? 'template' : 'text',
          text: d.text,
          template_name: d.template?.name ?? null,
          source: d.source,
          status: 'queued',
          at,
        });
        return;
      }
      case 'MessageSendAttempted':
        return void (await byId(event.data.messageId)
          .whereIn('status', ['queued', 'retrying'])
          .update({ status: 'sending' }));
      case 'MessageSent':
        return void (await byId(event.data.messageId).update({
          status: trx.raw(`case when status in ('delivered', 'read') then status else 'sent' end`),
          provider_message_id: event.data.providerMessageId,
          sent_at: at,
          error_code: null,
        }));
      case 'MessageSendFailed':
        return void (await byId(event.data.messageId).update({
          status: event.data.nextAttemptAt === null ? 'failed' : 'retrying',
          error_code: event.data.code,
        }));
      case 'MessageDeadLettered':
        return void (await byId(event.data.messageId).update({ status: 'dead' }));
      case 'MessageRequeued':
        return void (await byId(event.data.messageId).update({ status: 'queued' }));
      case 'MessageDropped':
        return void (await byId(event.data.messageId).update({ status: 'dropped' }));
      case 'MessageStatusUpdated': {
        const d = event.data;
        const changes: Record<string, unknown> = { provider_message_id: d.providerMessageId };
        if (d.status === 'delivered') changes.delivered_at = d.at;
        if (d.status === 'read') changes.read_at = d.at;
        if (d.status === 'failed') {
          changes.status = 'failed';
          changes.error_code = d.errorCode;
        } else {
          const rank = RANK[d.status] ?? 0;
          const lower = Object.keys(RANK).filter((s) => (RANK[s] ?? 0) < rank);
          await byId(d.messageId).whereIn('status', lower).update({ status: d.status });
        }
        return void (await byId(d.messageId).update(changes));
      }
      default:
        return;
    }
  },
  // The same rules as `apply`, folded in memory: one select of the touched messages, one upsert.
  async applyBatch(trx, recorded) {
    const events = recorded.flatMap((event) => asMessagingEvent(event) ?? []);
    const rows = new RowBatch(TABLE, 'message_id', COLUMNS);
    await rows.load(
      trx,
      events.flatMap((event) => ('messageId' in event.data ? [event.data.messageId] : [])),
    );
    const fresh = { template_name: null, source: null, provider_message_id: null, error_code: null };
    const none = { sent_at: null, delivered_at: null, read_at: null };
    for (const event of events) {
      const at = event.metadata.occurredAt;
      switch (event.type) {
        case 'MessageReceived': {
          const d = event.data;
          if (rows.get(d.messageId) === undefined)
            rows.set(d.messageId, {
              ...fresh,
              ...none,
              message_id: d.messageId,
              chat_id: d.chatId,
              number_id: d.numberId,
              direction: 'in',
              kind: d.kind,
              text: d.text,
              status: 'received',
              provider_message_id: d.providerMessageId,
              at: d.sentAt,
              position: event.position,
            });
          break;
        }
        case 'MessageQueued': {
          const d = event.data;
          if (rows.get(d.messageId) === undefined)
            rows.set(d.messageId, {
              ...fresh,
              ...none,
              message_id: d.messageId,
              chat_id: d.chatId,
              number_id: d.numberId,
              direction: 'out',
              kind: d.template ? 'template' : 'text',
              text: d.text,
              template_name: d.template?.name ?? null,
              source: d.source,
              status: 'queued',
              at,
              position: event.position,
            });
          break;
        }
        case 'MessageSendAttempted': {
          const status = rows.get(event.data.messageId)?.status;
          if (status === 'queued' || status === 'retrying') rows.update(event.data.messageId, { status: 'sending' });
          break;
        }
        case 'MessageSent': {
          const status = rows.get(event.data.messageId)?.status;
          rows.update(event.data.messageId, {
            status: status === 'delivered' || status === 'read' ? status : 'sent',
            provider_message_id: event.data.providerMessageId,
            sent_at: at,
            error_code: null,
          });
          break;
        }
        case 'MessageSendFailed':
          rows.update(event.data.messageId, {
            status: event.data.nextAttemptAt === null ? 'failed' : 'retrying',
            error_code: event.data.code,
          });
          break;
        case 'MessageDeadLettered':
          rows.update(event.data.messageId, { status: 'dead' });
          break;
        case 'MessageRequeued':
          rows.update(event.data.messageId, { status: 'queued' });
          break;
        case 'MessageDropped':
          rows.update(event.data.messageId, { status: 'dropped' });
          break;
        case 'MessageStatusUpdated': {
          const d = event.data;
          const changes: Record<string, unknown> = { provider_message_id: d.providerMessageId };
          if (d.status === 'delivered') changes.delivered_at = d.at;
          if (d.status === 'read') changes.read_at = d.at;
          if (d.status === 'failed') {
            changes.status = 'failed';
            changes.error_code = d.errorCode;
          } else {
            const current = rows.get(d.messageId)?.status;
            const rank = RANK[d.status] ?? 0;
            if (typeof current === 'string' && Object.hasOwn(RANK, current) && (RANK[current] ?? 0) < rank)
              changes.status = d.status;
          }
          rows.update(d.messageId, changes);
          break;
        }
        default:
          break;
      }
    }
    await rows.flush(trx);
  },
};

/** The messages read model, with the privacy events: a forgotten chat's rows leave; expired content is erased. */
export const chatMessagesProjection: Projection = withPrivacy(chatMessagesFold, 2, {
  forget: async (trx, chatId) => void (await trx(TABLE).where({ chat_id: chatId }).delete()),
  expire: async (trx, before) =>
    void (await trx(TABLE)
      .where('at', '<', before)
      .andWhere((w) => w.whereNotNull('text').orWhereNotNull('template_name'))
      .update({
        text: trx.raw('case when text is null then null else ? end', [ERASED]),
        template_name: trx.raw('case when template_name is null then null else ? end', [ERASED]),
      })),
});

export type ChatMessageRow = {
  messageId: string;
  chatId: string;
  numberId: string;
  direction: 'in' | 'out';
  kind: string;
  text: string | null;
  templateName: string | null;
  source: string | null;
  status: string;
  errorCode: string | null;
  at: string;
  sentAt: string | null;
  deliveredAt: string | null;
  readAt: string | null;
};

export const rowOfMessage = (row: Record<string, unknown>): ChatMessageRow => ({
  messageId: row.message_id as string,
  chatId: row.chat_id as string,
  numberId: row.number_id as string,
  direction: row.direction as 'in' | 'out',
  kind: row.kind as string,
  text: (row.text as string | null) ?? null,
  templateName: (row.template_name as string | null) ?? null,
  source: (row.source as string | null) ?? null,
  status: row.status as string,
  errorCode: (row.error_code as string | null) ?? null,
  at: isoOrNull(row.at)!,
  sentAt: isoOrNull(row.sent_at),
  deliveredAt: isoOrNull(row.delivered_at),
  readAt: isoOrNull(row.read_at),
});

/** Newest first, `before` a cursor from the previous page; `q` searches the text. */
export const listChatMessages = async (
  knex: Knex,
  chatId: string,
  filter: { before?: number; q?: string; limit: number },
): Promise<{ messages: ChatMessageRow[]; nextCursor: string | null }> => {
  const query = knex(TABLE)
    .where({ chat_id: chatId })
    .orderBy('position', 'desc')
    .limit(filter.limit + 1);
  if (filter.before !== undefined) query.where('position', '<', filter.before);
  if (filter.q) query.where('text', 'ilike', `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  const rows = await query.select<Record<string, unknown>[]>('*');
  const page = rows.slice(0, filter.limit);
  const last = page[page.length - 1];
  return {
    messages: page.map(rowOfMessage),
    nextCursor: rows.length > filter.limit && last ? String(last.position) : null,
  };
};
