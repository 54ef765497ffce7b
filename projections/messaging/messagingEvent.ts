import type { RecordedEvent } from '#application/shared/eventStore.js';
import { MESSAGING_EVENT_TYPES, type MessageQueued, type MessagingEvent } from '#domain/messaging/events.js';

const TYPES: ReadonlySet<string> = new Set(MESSAGING_EVENT_TYPES);

/** The runner hands projections untyped envelopes; the catalogue's type tags make them typed again. */
export const asMessagingEvent = (event: RecordedEvent): RecordedEvent<MessagingEvent> | null =>
  TYPES.has(event.type) ? (event as RecordedEvent<MessagingEvent>) : null;

/** The columns every message row starts with (chat_messages, outbound_queue). */
export const messageKey = (d: Pick<MessageQueued['data'], 'messageId' | 'numberId' | 'chatId'>) => ({
  message_id: d.messageId,
  number_id: d.numberId,
  chat_id: d.chatId,
});

/** A timestamp column as ISO-8601 text (null stays null). */
export const isoOrNull = (value: unknown): string | null =>
  value === null || value === undefined ? null : new Date(value as string).toISOString();
