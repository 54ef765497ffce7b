import type { Event } from '#domain/shared/event.js';
import type { MessageTemplate } from '#domain/messaging/events.js';

/**
 * The scheduling context's event catalogue: messages to be sent at a given time. Stream
 * `schedule-<scheduleId>` (the design card's name), one per scheduled message:
 * `MessageScheduled` -> `ScheduledMessageFired` (the scheduler queued it: MessageQueued on
 * `message-<messageId>`, message id derived from the schedule id) | `ScheduledMessageCancelled`;
 * `ScheduledMessageFailed` when a fired message could not be queued (its number was removed or disabled,
 * or the Cloud API's customer service window had closed). Personal data (`to`, `text`, `template`) lives
 * only in data fields, as in the messaging catalogue.
 */

export type MessageScheduled = Event<
  'MessageScheduled',
  {
    scheduleId: string;
    numberId: string;
    /** the chat the message will land in (name-based id of number and recipient) */
    chatId: string;
    /** recipient, normalised (E.164 digits or a JID) */
    to: string;
    text: string | null;
    template: MessageTemplate | null;
    /** when to send it (ISO-8601 UTC) */
    at: string;
    by: string;
  }
>;
export type ScheduledMessageCancelled = Event<
  'ScheduledMessageCancelled',
  { scheduleId: string; numberId: string; by: string }
>;
export type ScheduledMessageFired = Event<
  'ScheduledMessageFired',
  {
    scheduleId: string;
    numberId: string;
    /** the outbound message queued for it (derived from scheduleId: a retry queues the same message) */
    messageId: string;
    firedAt: string;
    /** firedAt - at, in milliseconds (how late the scheduler was) */
    lateMs: number;
  }
>;
export type ScheduledMessageFailed = Event<
  'ScheduledMessageFailed',
  { scheduleId: string; numberId: string; messageId: string; code: string; error: string }
>;

export type SchedulingEvent =
  MessageScheduled | ScheduledMessageCancelled | ScheduledMessageFired | ScheduledMessageFailed;

export const SCHEDULING_EVENT_TYPES: readonly SchedulingEvent['type'][] = [
  'MessageScheduled',
  'ScheduledMessageCancelled',
  'ScheduledMessageFired',
  'ScheduledMessageFailed',
];

export const SCHEDULE_STREAM_PREFIX = 'schedule-';
export const scheduleStreamId = (scheduleId: string): string => `${SCHEDULE_STREAM_PREFIX}${scheduleId}`;

/** How far ahead a message may be scheduled. */
export const MAX_SCHEDULE_HORIZON_DAYS = 366;
