import type { RecordedEvent } from '#application/shared/eventStore.js';
import { MESSAGING_EVENT_TYPES, type MessagingEvent } from '#domain/messaging/events.js';

const TYPES: ReadonlySet<string> = new Set(MESSAGING_EVENT_TYPES);

/** The runner hands projections untyped envelopes; the catalogue's type tags make them typed again. */
export const asMessagingEvent = (event: RecordedEvent): RecordedEvent<MessagingEvent> | null =>
  TYPES.has(event.type) ? (event as RecordedEvent<MessagingEvent>) : null;
