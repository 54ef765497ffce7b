import type { Knex } from 'knex';
import type { Projection } from '#projections/shared/projection.js';
import { CHAT_EVENT_TYPES } from '#domain/messaging/events.js';
import { ERASED } from '#domain/privacy/events.js';
import { withPrivacy } from './privacyEvent.js';
import { asMessagingEvent, isoOrNull } from './messagingEvent.js';
import { epochMs, RowBatch } from '../shared/batchRows.js';

const TABLE = 'chats';
const COLUMNS = [
  'chat_id',
  'number_id',
  'contact',
  'contact_name',
  'last_text',
  'last_direction',
  'last_at',
  'last_inbound_at',
  'unread_count',
  'message_count',
  'paused',
  'position',
];

/** SQL greatest(): the later of two timestamps, ignoring nulls. */
const later = (a: unknown, b: unknown): unknown => {
  const ta = epochMs(a);
  const tb = epochMs(b);
  if (ta === null) return b ?? null;
  if (tb === null) return a;
  return tb > ta ? b : a;
};

/**
 * One row per chat (number + contact): last message, unread count (inbound messages since the last
 * outbound one), the time of the last inbound message (the 24-hour window) and the paused flag.
 */
const chatsFold: Projection = {
  name: 'messaging.chats',
  version: 1,
  tables: [TABLE],
  handles: [...CHAT_EVENT_TYPES, 'MessageQueued'],
  async apply(trx, recorded) {
    const event = asMessagingEvent(recorded);
    if (event === null) return;
    const at = event.metadata.occurredAt;
    switch (event.type) {
      case 'MessageReceived': {
        const d = event.data;
        await trx.raw(
          `insert into ${TABLE} (chat_id, number_id, contact, contact_name, last_text, last_direction, last_at, last_inbound_at, unread_count, message_count, paused, position)
           values (?, ?, ?, ?, ?, 'in', ?, ?, 1, 1, false, ?)
           on conflict (chat_id) do update set contact_name = coalesce(excluded.contact_name, ${TABLE}.contact_name),
             last_text = excluded.last_text, last_direction = 'in', last_at = excluded.last_at,
             last_inbound_at = greatest(${TABLE}.last_inbound_at, excluded.last_inbound_at),
             unread_count = ${TABLE}.unread_count + 1, message_count = ${TABLE}.message_count + 1, position = excluded.position`,
          [d.chatId, d.numberId, d.contact, d.contactName, d.text, at, d.sentAt, event.position],
        );
        return;
      }
      case 'MessageQueued': {
        const d = event.data;
        const text = d.text ?? `[template: ${d.template?.name ?? '?'}]`;
        await trx.raw(
          `insert into ${TABLE} (chat_id, number_id, contact, last_text, last_direction, last_at, unread_count, message_count, paused, position)
           values (?, ?, ?, ?, 'out', ?, 0, 1, false, ?)
           on conflict (chat_id) do update set last_text = excluded.last_text, last_direction = 'out', last_at = excluded.last_at,
             unread_count = 0, message_count = ${TABLE}.message_count + 1, position = excluded.position`,
          [d.chatId, d.numberId, d.to, text, at, event.position],
        );
        return;
      }
      case 'ConversationPaused':
      case 'ConversationResumed': {
        const d = event.data;
        const paused = event.type === 'ConversationPaused';
        await trx.raw(
          `insert into ${TABLE} (chat_id, number_id, contact, unread_count, message_count, paused, position)
           values (?, ?, ?, 0, 0, ?, ?)
           on conflict (chat_id) do update set paused = excluded.paused`,
          [d.chatId, d.numberId, d.contact, paused, event.position],
        );
        return;
      }
      default:
        return;
    }
  },
  // The same rules as `apply`, folded in memory: one select of the touched chats, one upsert.
  async applyBatch(trx, recorded) {
    const events = recorded.flatMap((event) => asMessagingEvent(event) ?? []);
    const rows = new RowBatch(TABLE, 'chat_id', COLUMNS);
    await rows.load(
      trx,
      events.flatMap((event) => ('chatId' in event.data ? [event.data.chatId] : [])),
    );
    for (const event of events) {
      const at = event.metadata.occurredAt;
      switch (event.type) {
        case 'MessageReceived': {
          const d = event.data;
          const row = rows.get(d.chatId);
          if (row === undefined)
            rows.set(d.chatId, {
              chat_id: d.chatId,
              number_id: d.numberId,
              contact: d.contact,
              contact_name: d.contactName,
              last_text: d.text,
              last_direction: 'in',
              last_at: at,
              last_inbound_at: d.sentAt,
              unread_count: 1,
              message_count: 1,
              paused: false,
              position: event.position,
            });
          else
            rows.update(d.chatId, {
              contact_name: d.contactName ?? row.contact_name,
              last_text: d.text ?? null,
              last_direction: 'in',
              last_at: at,
              last_inbound_at: later(row.last_inbound_at, d.sentAt),
              unread_count: Number(row.unread_count) + 1,
              message_count: Number(row.message_count) + 1,
              position: event.position,
            });
          break;
        }
        case 'MessageQueued': {
          const d = event.data;
          const text = d.text ?? `[template: ${d.template?.name ?? '?'}]`;
          const row = rows.get(d.chatId);
          if (row === undefined)
            rows.set(d.chatId, {
              chat_id: d.chatId,
              number_id: d.numberId,
              contact: d.to,
              contact_name: null,
              last_text: text,
              last_direction: 'out',
              last_at: at,
              last_inbound_at: null,
              unread_count: 0,
              message_count: 1,
              paused: false,
              position: event.position,
            });
          else
            rows.update(d.chatId, {
              last_text: text,
              last_direction: 'out',
              last_at: at,
              unread_count: 0,
              message_count: Number(row.message_count) + 1,
              position: event.position,
            });
          break;
        }
        case 'ConversationPaused':
        case 'ConversationResumed': {
          const d = event.data;
          const paused = event.type === 'ConversationPaused';
          if (rows.get(d.chatId) === undefined)
            rows.set(d.chatId, {
              chat_id: d.chatId,
              number_id: d.numberId,
              contact: d.contact,
              contact_name: null,
              last_text: null,
              last_direction: null,
              last_at: null,
              last_inbound_at: null,
              unread_count: 0,
              message_count: 0,
              paused,
              position: event.position,
            });
          else rows.update(d.chatId, { paused });
          break;
        }
        default:
          break;
      }
    }
    await rows.flush(trx);
  },
};

/** The chats read model, with the privacy events: a forgotten chat's row leaves; expired content is erased. */
export const chatsProjection: Projection = withPrivacy(chatsFold, 2, {
  forget: async (trx, chatId) => void (await trx(TABLE).where({ chat_id: chatId }).delete()),
  expire: async (trx, before) =>
    void (await trx(TABLE).whereNotNull('last_text').andWhere('last_at', '<', before).update({ last_text: ERASED })),
});

export type ChatRow = {
  chatId: string;
  numberId: string;
  contact: string;
  contactName: string | null;
  lastText: string | null;
  lastDirection: 'in' | 'out' | null;
  lastAt: string | null;
  lastInboundAt: string | null;
  windowOpen: boolean;
  unreadCount: number;
  messageCount: number;
  paused: boolean;
};

const rowOf = (row: Record<string, unknown>, now: Date): ChatRow => {
  const lastInboundAt = isoOrNull(row.last_inbound_at);
  return {
    chatId: row.chat_id as string,
    numberId: row.number_id as string,
    contact: row.contact as string,
    contactName: (row.contact_name as string | null) ?? null,
    lastText: (row.last_text as string | null) ?? null,
    lastDirection: (row.last_direction as 'in' | 'out' | null) ?? null,
    lastAt: isoOrNull(row.last_at),
    lastInboundAt,
    windowOpen: lastInboundAt !== null && now.getTime() - new Date(lastInboundAt).getTime() < 24 * 3600 * 1000,
    unreadCount: Number(row.unread_count),
    messageCount: Number(row.message_count),
    paused: row.paused === true,
  };
};

export type ChatFilter = { numberId?: string; q?: string; before?: number; limit: number };

/**
 * Most recently active first; `q` matches the contact, its name or any message text of the chat.
 * Keyset pagination on the position of the chat's last change (`nextCursor`).
 */
export const listChats = async (
  knex: Knex,
  filter: ChatFilter,
  now: Date,
): Promise<{ chats: ChatRow[]; nextCursor: string | null }> => {
  const query = knex(TABLE)
    .orderBy('position', 'desc')
    .limit(filter.limit + 1);
  if (filter.numberId) query.where('number_id', filter.numberId);
  if (filter.before !== undefined) query.where('position', '<', filter.before);
  if (filter.q) {
    const like = `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query.where((w) =>
      w
        .where('contact', 'ilike', like)
        .orWhere('contact_name', 'ilike', like)
        .orWhereExists(
          knex('chat_messages as m').whereRaw('m.chat_id = chats.chat_id').andWhere('m.text', 'ilike', like),
        ),
    );
  }
  const rows = await query.select<Record<string, unknown>[]>('*');
  const page = rows.slice(0, filter.limit);
  const last = page[page.length - 1];
  return {
    chats: page.map((row) => rowOf(row, now)),
    nextCursor: rows.length > filter.limit && last ? String(last.position) : null,
  };
};

export const findChat = async (knex: Knex, chatId: string, now: Date): Promise<ChatRow | null> => {
  const row = await knex(TABLE).where({ chat_id: chatId }).first<Record<string, unknown> | undefined>();
  return row ? rowOf(row, now) : null;
};
