import type { AppEventType, EventOfType } from '#domain/events.js';
import type { RecordedEvent } from './eventStore.js';

/**
 * A guard from the untyped envelope a subscription delivers to the catalogue's type: an event whose
 * type is in `types` has that type's data (the catalogue is the contract; the store does not check it).
 *   const isMine = hasTypeIn(METRICS_EVENT_TYPES); if (isMine(event)) event.data.until // typed
 */
export const hasTypeIn =
  <T extends AppEventType>(types: readonly T[]) =>
  (event: RecordedEvent): event is RecordedEvent<EventOfType<T>> =>
    (types as readonly string[]).includes(event.type);
