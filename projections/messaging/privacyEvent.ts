import type { RecordedEvent } from '#application/shared/eventStore.js';
import { PRIVACY_EVENT_TYPES, type PrivacyEvent } from '#domain/privacy/events.js';

const TYPES: ReadonlySet<string> = new Set(PRIVACY_EVENT_TYPES);

/**
 * ContactForgotten and MessageContentExpired, for the read models that copy personal data: they erase
 * what they hold when they apply them, so the live rows match what a rebuild (which reads the destroyed
 * keys' fields as "[erased]") writes.
 */
export const asPrivacyEvent = (event: RecordedEvent): RecordedEvent<PrivacyEvent> | null =>
  TYPES.has(event.type) ? (event as RecordedEvent<PrivacyEvent>) : null;
