import type { Knex } from 'knex';
import type { RecordedEvent } from '#application/shared/eventStore.js';
import type { MessageQueued } from '#domain/messaging/events.js';
import { SCHEDULING_EVENT_TYPES, type SchedulingEvent } from '#domain/scheduling/events.js';
import type { Projection } from '#projections/shared/projection.js';
import { ERASED } from '#domain/privacy/events.js';
import { asPrivacyEvent } from '#projections/messaging/privacyEvent.js';

const TABLE = 'scheduled_messages';
const TYPES: ReadonlySet<string> = new Set(SCHEDULING_EVENT_TYPES);

export type ScheduleState = 'pending' | 'fired' | 'cancelled' | 'failed';
export const SCHEDULE_STATES: readonly ScheduleState[] = ['pending', 'fired', 'cancelled', 'failed'];

/**
 * Scheduled messages as a read model: one row per `schedule-<id>` stream with its state, and when its
 * MessageQueued (source `scheduled`, the derived message id) arrived. The scheduler reads what is due from
 * here; whether a message fires is still decided on its own stream.
 */
export const scheduledMessagesProjection: Projection = {
  name: 'scheduling.scheduled-messages',
  version: 2,
  tables: [TABLE],
  handles: [...SCHEDULING_EVENT_TYPES, 'MessageQueued', 'ContactForgotten', 'MessageContentExpired'],
  async apply(trx, recorded) {
    // privacy: a forgotten contact's schedules leave (pending ones never fire); expired content is erased
    const privacy = asPrivacyEvent(recorded);
    if (privacy?.type === 'ContactForgotten')
      return void (await trx(TABLE).where({ chat_id: privacy.data.chatId }).delete());
    if (privacy?.type === 'MessageContentExpired')
      return void (await trx(TABLE)
        .where('at', '<', privacy.data.before)
        .andWhere((w) => w.whereNotNull('text').orWhereNotNull('template'))
        .update({
          text: trx.raw('case when text is null then null else ? end', [ERASED]),
          template: trx.raw('case when template is null then null else ?::jsonb end', [
            JSON.stringify({ name: ERASED, language: ERASED }),
          ]),
        }));
    const at = recorded.metadata.occurredAt;
    if (recorded.type === 'MessageQueued') {
      const queued = recorded as RecordedEvent<MessageQueued>;
      if (queued.data.source !== 'scheduled') return;
      await trx(TABLE).where({ message_id: queued.data.messageId }).whereNull('queued_at').update({ queued_at: at });
      return;
    }
    if (!TYPES.has(recorded.type)) return;
    const event = recorded as RecordedEvent<SchedulingEvent>;
    const byId = (scheduleId: string) => trx(TABLE).where({ schedule_id: scheduleId });
    switch (event.type) {
      case 'MessageScheduled': {
        const d = event.data;
        await trx(TABLE)
          .insert({
            schedule_id: d.scheduleId,
            number_id: d.numberId,
            chat_id: d.chatId,
            recipient: d.to,
            text: d.text,
            template: d.template === null ? null : JSON.stringify(d.template),
            at: d.at,
            state: 'pending',
            created_by: d.by,
            created_at: at,
            correlation_id: event.metadata.correlationId,
            scheduled_event_id: event.id,
            position: event.position,
          })
          .onConflict('schedule_id')
          .ignore();
        return;
      }
      case 'ScheduledMessageCancelled':
        return void (await byId(event.data.scheduleId).update({
          state: 'cancelled',
          cancelled_by: event.data.by,
          cancelled_at: at,
        }));
      case 'ScheduledMessageFired':
        return void (await byId(event.data.scheduleId).update({
          state: 'fired',
          message_id: event.data.messageId,
          fired_at: event.data.firedAt,
          late_ms: event.data.lateMs,
        }));
      case 'ScheduledMessageFailed':
        return void (await byId(event.data.scheduleId).update({
          state: 'failed',
          error_code: event.data.code,
          error: event.data.error,
        }));
      default: {
        const _exhaustive: never = event;
        return _exhaustive;
      }
    }
  },
};

export type ScheduledMessageRow = {
  scheduleId: string;
  numberId: string;
  chatId: string;
  to: string;
  text: string | null;
  template: Record<string, unknown> | null;
  at: string;
  state: ScheduleState;
  createdBy: string;
  createdAt: string;
  cancelledBy: string | null;
  cancelledAt: string | null;
  messageId: string | null;
  firedAt: string | null;
  lateMs: number | null;
  queuedAt: string | null;
  errorCode: string | null;
  error: string | null;
};

const iso = (value: unknown): string | null =>
  value === null || value === undefined ? null : new Date(value as string).toISOString();

const rowOf = (row: Record<string, unknown>): ScheduledMessageRow => ({
  scheduleId: row.schedule_id as string,
  numberId: row.number_id as string,
  chatId: row.chat_id as string,
  to: row.recipient as string,
  text: (row.text as string | null) ?? null,
  template: (row.template as Record<string, unknown> | null) ?? null,
  at: iso(row.at)!,
  state: row.state as ScheduleState,
  createdBy: row.created_by as string,
  createdAt: iso(row.created_at)!,
  cancelledBy: (row.cancelled_by as string | null) ?? null,
  cancelledAt: iso(row.cancelled_at),
  messageId: (row.message_id as string | null) ?? null,
  firedAt: iso(row.fired_at),
  lateMs: row.late_ms === null || row.late_ms === undefined ? null : Number(row.late_ms),
  queuedAt: iso(row.queued_at),
  errorCode: (row.error_code as string | null) ?? null,
  error: (row.error as string | null) ?? null,
});

export type ScheduleFilter = { state?: ScheduleState; before?: number; limit: number };

/** Newest first (keyset pagination on the position of MessageScheduled: `nextCursor`). */
export const listScheduledMessages = async (
  knex: Knex,
  filter: ScheduleFilter,
): Promise<{ scheduledMessages: ScheduledMessageRow[]; nextCursor: string | null }> => {
  const query = knex(TABLE);
  if (filter.state !== undefined) query.where('state', filter.state);
  if (filter.before !== undefined) query.where('position', '<', filter.before);
  const rows = await query
    .orderBy('position', 'desc')
    .limit(filter.limit + 1)
    .select<Record<string, unknown>[]>('*');
  const page = rows.slice(0, filter.limit);
  const last = page[page.length - 1];
  return {
    scheduledMessages: page.map(rowOf),
    nextCursor: rows.length > filter.limit && last ? String(last.position) : null,
  };
};

export const findScheduledMessage = async (knex: Knex, scheduleId: string): Promise<ScheduledMessageRow | null> => {
  const row = await knex(TABLE).where({ schedule_id: scheduleId }).first<Record<string, unknown> | undefined>();
  return row ? rowOf(row) : null;
};

/** The scheduler's queries (application/scheduling/firing.ts ScheduleQueries). */
export const scheduleQueries = (knex: Knex) => ({
  async due(until: Date, firedBefore: Date, limit: number): Promise<DueSchedule[]> {
    const rows = await knex(TABLE)
      .where((w) =>
        w
          .where((p) => p.where('state', 'pending').andWhere('at', '<=', until))
          .orWhere((f) => f.where('state', 'fired').whereNull('queued_at').andWhere('fired_at', '<', firedBefore)),
      )
      .orderBy('at')
      .limit(limit)
      .select<Array<Record<string, unknown>>>('schedule_id', 'at', 'correlation_id', 'scheduled_event_id');
    return rows.map((row) => ({
      scheduleId: row.schedule_id as string,
      at: new Date(row.at as string),
      correlationId: (row.correlation_id as string | null) ?? null,
      scheduledEventId: (row.scheduled_event_id as string | null) ?? null,
    }));
  },
});

/** A schedule to fire (or to finish firing), with the envelope of its MessageScheduled for the causal chain. */
export type DueSchedule = {
  scheduleId: string;
  at: Date;
  correlationId: string | null;
  scheduledEventId: string | null;
};
